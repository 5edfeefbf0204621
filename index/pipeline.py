"""Index documents: validate every file first, then chunk, embed and upsert each."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from index.chunking import TokenChunker
from index.errors import DocumentError
from index.loader import SourceDocument, load_document
from index.store import ChunkStore, UpsertReport


def index_documents(paths: Iterable[str | Path], store: ChunkStore, chunker: TokenChunker) -> list[UpsertReport]:
    """Index files into ``store``.

    Every file is loaded and checked before anything is written, so one bad file among many leaves
    the store exactly as it was.

    Args:
        paths: Files to index (UTF-8 text).
        store: Target store.
        chunker: Chunker with the configured sizes.

    Returns:
        One report per file, in the given order.

    Raises:
        DocumentError: a file is missing, empty, binary or not UTF-8, or two files share a name
            (nothing written).
        ValueError: no paths given.
    """
    docs: list[SourceDocument] = [load_document(p) for p in paths]
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
    docs = list(by_name.values())
    return [store.replace_source(d.source, chunker.split(d.source, d.text)) for d in docs]
