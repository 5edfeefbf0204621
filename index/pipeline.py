"""Index documents: load and check every file, chunk them all, then embed and upsert each."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from index.chunking import Chunk, TokenChunker
from index.errors import DocumentError, EmptyDocumentError
from index.loader import SourceDocument, load_document
from index.store import ChunkStore, UpsertReport


def load_documents(paths: Iterable[str | Path], strict: bool = False) -> tuple[list[SourceDocument], list[str]]:
    """Load every file to index, before anything is written.

    Args:
        paths: Files to index (UTF-8 text).
        strict: When True, a file without visible text fails the batch instead of being skipped.

    Returns:
        The documents, and one message per skipped file (empty, or only white space and invisible
        characters), naming it.

    Raises:
        EmptyDocumentError: ``strict`` and a file has no visible text, or no file has any.
        DocumentError: a file is missing, binary or not UTF-8, or two files share a name.
        ValueError: no paths given.
    """
    docs: list[SourceDocument] = []
    skipped: list[str] = []
    for p in paths:
        try:
            docs.append(load_document(p))
        except EmptyDocumentError as exc:
            if strict:
                raise EmptyDocumentError(f"{exc} (--strict: nothing was indexed)") from None
            skipped.append(f"skipped {exc}")
    if not docs and skipped:
        raise EmptyDocumentError("no file has text to index: " + "; ".join(skipped))
    if not docs:
        raise ValueError("no files to index")
    by_name: dict[str, SourceDocument] = {}
    for d in docs:
        other = by_name.setdefault(d.source, d)
        if other.path != d.path:
            raise DocumentError(
                f"{other.path} and {d.path} have the same name {d.source!r}; the index keys documents by file "
                "name, so one would replace the other. Rename one of them and index again."
            )
    return list(by_name.values()), skipped


def chunk_documents(docs: list[SourceDocument], chunker: TokenChunker) -> list[tuple[str, list[Chunk]]]:
    """``(source, chunks)`` of every document, each checked by :func:`index.chunking.check_chunks`.

    Raises:
        ChunkingError: a document's chunks do not cover it in order.
    """
    return [(d.source, chunker.split(d.source, d.text)) for d in docs]


def write_chunks(chunked: list[tuple[str, list[Chunk]]], store: ChunkStore) -> list[UpsertReport]:
    """Make ``store`` hold exactly these chunks for each source (:meth:`ChunkStore.replace_source`)."""
    return [store.replace_source(source, chunks) for source, chunks in chunked]


def index_documents(paths: Iterable[str | Path], store: ChunkStore, chunker: TokenChunker,
                    strict: bool = False) -> list[UpsertReport]:
    """Index files into ``store`` (:func:`load_documents`, then :func:`index_loaded`).

    Every file is loaded and chunked before anything is written, so a bad file leaves the store
    exactly as it was; a file without visible text is skipped unless ``strict``.

    Returns:
        One report per indexed file, in the given order.

    Raises:
        DocumentError, EmptyDocumentError, ValueError: see :func:`load_documents` (nothing written).
    """
    docs, _ = load_documents(paths, strict)
    return write_chunks(chunk_documents(docs, chunker), store)
