"""Index documents: load and check every file, chunk them all, then embed and upsert each."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from index.chunking import Chunk, TokenChunker
from index.discover import FoundFile
from index.errors import DocumentError, EmptyDocumentError
from index.library import DocumentLibrary, DocumentRecord
from index.loader import SourceDocument, content_hash, load_document
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


@dataclass
class IndexRun:
    """What one :func:`index_files` run did.

    Attributes:
        reports: One per document written (new or changed), in order.
        unchanged: Source ids whose file and chunking were unchanged (nothing read past the hash).
        skipped: One message per file skipped (hidden, binary, unreadable, no text), naming it.
    """

    reports: list[UpsertReport] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def chunking_signature(chunker: TokenChunker) -> str:
    """The chunker parameters that change chunks (a change re-chunks unchanged files)."""
    return f"{chunker.chunk_size}/{chunker.chunk_overlap}/{chunker.max_input_tokens}"


@dataclass
class PreparedDocument:
    """A document read and chunked, ready to write (:func:`prepare_files`)."""

    doc: SourceDocument
    chunks: list[Chunk]


def prepare_files(found: list[FoundFile], store: ChunkStore | None, chunker: TokenChunker, library: DocumentLibrary,
                  strict: bool = False) -> tuple[IndexRun, list[PreparedDocument]]:
    """Read and chunk every file that needs it, writing nothing.

    A file whose content hash and chunking match its manifest row (and whose chunks are all in
    ``store``) is unchanged: one read and one hash, no extraction.

    Args:
        found: Files with their source ids (:func:`index.discover.discover`).
        store: The chunk store, or None when it is about to be rebuilt (then nothing is unchanged).
        chunker: The chunker.
        library: The manifest and stored texts.
        strict: Fail when a file is unreadable or has no text, instead of skipping it.

    Returns:
        The run so far (unchanged and skipped files) and the documents to write, in order.

    Raises:
        EmptyDocumentError: no file has text (each skipped).
        DocumentError: ``strict`` and a file cannot be indexed, or a source id is already indexed
            from another file that still exists.
    """
    run = IndexRun()
    chunking = chunking_signature(chunker)
    todo: list[PreparedDocument] = []
    for f in found:
        data = f.path.read_bytes()
        record = library.get(f.source) if store is not None else None
        if record and record.path != str(f.path) and Path(record.path).exists():
            raise DocumentError(f"{f.source!r} is already indexed from {record.path}; {f.path} would replace it. "
                                "Index from a --root under which their paths differ, or remove the other first "
                                f"(`assistant sources remove {f.source}`). Nothing was indexed.")
        if record and record.content_hash == content_hash(data) and record.chunking == chunking \
                and len(store.ids(f.source)) == record.chunks:
            run.unchanged.append(f.source)
            continue
        try:
            doc = load_document(f.path, source=f.source, data=data)
        except DocumentError as exc:
            if strict:
                raise DocumentError(f"{exc} (--strict: nothing was indexed)") from None
            run.skipped.append(f"skipped {exc}")
            continue
        todo.append(PreparedDocument(doc, chunker.split(doc.source, doc.text)))
    if found and not todo and not run.unchanged:
        raise EmptyDocumentError("no file has text to index: " + "; ".join(run.skipped))
    return run, todo


def prepare_recorded(library: DocumentLibrary, store: ChunkStore | None,
                     chunker: TokenChunker) -> tuple[IndexRun, list[PreparedDocument]]:
    """Chunk again every document ``library`` records, from its stored extracted text, writing nothing
    (``assistant index`` without FILE, e.g. ``--rebuild`` of a damaged store).

    The stored text is what the document's citations index and the only copy of a document added
    through the API, so it is used rather than the file; a document whose text is not stored is read
    again from its recorded path when that file still exists. Its manifest row (format, encoding,
    pages, content hash) is kept, so a later ``assistant index`` of the unchanged file costs one read.

    Args:
        library: The manifest and stored texts.
        store: The chunk store, or None when it is about to be rebuilt (then nothing is unchanged).
        chunker: The chunker.

    Returns:
        The run so far (documents whose chunks are all stored with this chunking are unchanged; one
        message per document that cannot be recovered, which is dropped) and the documents to write.
    """
    run = IndexRun()
    chunking = chunking_signature(chunker)
    todo: list[PreparedDocument] = []
    for r in library.records():
        if store is not None and r.chunking == chunking and len(store.ids(r.source)) == r.chunks:
            run.unchanged.append(r.source)
            continue
        text = library.text(r.source)
        if text is not None:
            doc = SourceDocument(r.source, Path(r.path), text, r.format, r.encoding, r.page_starts, r.content_hash)
        elif Path(r.path).is_file():
            try:
                doc = load_document(r.path, source=r.source)
            except DocumentError as exc:
                run.skipped.append(f"dropped {r.source}: {exc}")
                continue
        else:
            run.skipped.append(f"dropped {r.source}: neither its stored text nor its file {r.path} exists; "
                               "index it again to get it back")
            continue
        todo.append(PreparedDocument(doc, chunker.split(doc.source, doc.text)))
    return run, todo


def write_prepared(todo: list[PreparedDocument], store: ChunkStore, library: DocumentLibrary, chunker: TokenChunker,
                   run: IndexRun, progress: Callable[[str], None] | None = None) -> IndexRun:
    """Write prepared documents one by one: text, chunks (:meth:`ChunkStore.replace_source`: only
    that document's chunks change), then the manifest row; so an interrupted run leaves each
    document either as it was or fully replaced, and the next run redoes the rest.

    Returns:
        ``run``, with one report per document written.
    """
    chunking = chunking_signature(chunker)
    for p in todo:
        doc = p.doc
        library.write_text(doc.source, doc.text)
        run.reports.append(store.replace_source(doc.source, p.chunks))
        library.put(DocumentRecord(
            source=doc.source, path=str(doc.path), format=doc.format, encoding=doc.encoding,
            pages=len(doc.page_starts), page_starts=doc.page_starts, chunks=len(p.chunks), chars=len(doc.text),
            content_hash=doc.content_hash, chunking=chunking,
            indexed_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))
        if progress:
            progress(doc.source)
    return run


def index_files(found: list[FoundFile], store: ChunkStore, chunker: TokenChunker, library: DocumentLibrary,
                strict: bool = False, progress: Callable[[str], None] | None = None) -> IndexRun:
    """Index files into ``store``, recording each in ``library``: :func:`prepare_files` (every file
    read and chunked before anything is written), then :func:`write_prepared`.

    Args:
        found: Files with their source ids (:func:`index.discover.discover`).
        store: The chunk store.
        chunker: The chunker.
        library: The manifest and stored texts.
        strict: Fail (writing nothing) when a file is unreadable or has no text, instead of skipping it.
        progress: Called with each source id as its chunks are written (for a progress bar).

    Returns:
        What was written, left unchanged and skipped.

    Raises:
        EmptyDocumentError, DocumentError: see :func:`prepare_files` (nothing written).
    """
    run, todo = prepare_files(found, store, chunker, library, strict)
    return write_prepared(todo, store, library, chunker, run, progress)


def remove_document(source: str, store: ChunkStore, library: DocumentLibrary) -> int:
    """Remove a document: its chunks, then its manifest row and stored text.

    Returns:
        How many chunks were deleted.

    Raises:
        DocumentError: nothing is indexed under ``source`` (nothing changed).
    """
    if library.get(source) is None and not store.ids(source):
        raise DocumentError(f"{source!r} is not indexed. `assistant sources` lists the indexed documents.")
    deleted = store.delete_source(source)
    library.remove(source)
    return deleted
