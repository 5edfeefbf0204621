"""Documents over HTTP: ``POST /v1/documents`` (add or replace UTF-8 text), ``GET /v1/documents``,
``DELETE /v1/documents/{source}``.

The same indexing code as ``assistant index`` (:func:`index.pipeline.prepare_files` then
:func:`index.pipeline.write_prepared`, strict: a document without text is an error, not a skip) and as
``assistant sources remove`` (:func:`index.pipeline.remove_document`). A source name is only an id:
the text is staged in a file named by the SHA-256 of the name inside the store, so no name
addresses anything outside it; names are still checked to look like the CLI's relative ids. A failed
request leaves the index as it was (the chunks are replaced only after the new ones are embedded, and
the stored text is restored when writing fails). Writes are serialised in this process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from assistant.api import ApiError
from assistant.settings import Settings
from index.errors import DocumentError, EmptyDocumentError

log = logging.getLogger(__name__)

#: Longest source name accepted, in characters.
MAX_SOURCE_CHARS = 255


class DocumentIn(BaseModel):
    """Body of ``POST /v1/documents``: ``source`` (an id like ``handbook/leave.txt``) and its UTF-8 ``text``."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"source": "handbook/leave.txt", "text": "Staff get 25 days of paid leave a year."}]})
    source: str
    text: str


def check_source(source: str) -> str:
    """The NFC-normalised source name, if it is a relative id like the CLI's (``docs/a.txt``).

    Raises:
        ApiError: 422 for an empty or too long name, control characters, a backslash, an absolute
            name, a drive (``C:``) or an empty, ``.`` or ``..`` segment.
    """
    name = unicodedata.normalize("NFC", source.strip())
    parts = name.split("/")
    if not name or len(name) > MAX_SOURCE_CHARS or any(unicodedata.category(c).startswith("C") for c in name) \
            or "\\" in name or ":" in parts[0] or any(p in ("", ".", "..") for p in parts):
        raise ApiError(422, f"source {source[:80]!r} is not a document name. Use 1-{MAX_SOURCE_CHARS} characters "
                            "of relative path segments separated by '/', like 'handbook/leave.txt' (no leading "
                            "'/', no '.' or '..' segments, no backslashes or control characters).")
    return name


def refusal(exc: DocumentError, source: str, text: str, from_server_file: bool = False) -> str:
    """The message of a document the indexer refused, for an HTTP client.

    The indexer's own messages are the CLI's: they name the file it read (here a staged file on the
    server, which the client never saw) and the CLI's flags. This one names ``source``, says why
    from the error's class and the text itself, and what to send instead; the indexer's message
    stays in the server log.

    Args:
        exc: The indexer's error.
        source: The document's name, as the client sent it (normalised).
        text: The text the client sent.
        from_server_file: ``source`` is indexed from a file on the server (by ``assistant index``).
    """
    log.info("document %r refused: %s", source, exc)
    if from_server_file and not isinstance(exc, EmptyDocumentError) and "\x00" not in text:
        return (f"Document {source!r} was indexed by `assistant index` from a file on the server, so it is not "
                f"replaced over HTTP. Delete it first (DELETE /v1/documents/{source}), then send it again; "
                "nothing was changed.")
    if isinstance(exc, EmptyDocumentError):
        why = "its text is empty or only white space and invisible characters"
    elif "\x00" in text:
        why = "its text contains NUL characters (binary data, not text)"
    else:
        why = "the indexer cannot read its text as a document"
    return (f"Document {source!r} was not indexed: {why}. Send the document's plain UTF-8 text in the 'text' "
            "field of the JSON body; nothing was changed.")


def documents_router(settings: Settings, store) -> APIRouter:  # noqa: ANN001 - index.store.ChunkStore
    """The router over ``store`` and the settings' document library."""
    from assistant.composition import build_chunker, build_library
    from index.discover import FoundFile
    from index.pipeline import prepare_files, remove_document, write_prepared

    router = APIRouter()
    library = build_library(settings)
    chunker = build_chunker(settings, getattr(store, "embeddings", None))
    staging = settings.documents_dir / "uploads"
    lock = threading.Lock()

    def record_json(r) -> dict:  # noqa: ANN001 - index.library.DocumentRecord
        return {"source": r.source, "chunks": r.chunks, "characters": r.chars, "indexed_at": r.indexed_at}

    @router.get("/v1/documents")
    def list_documents() -> dict:
        return {"documents": [record_json(r) for r in library.records()]}

    @router.post("/v1/documents")
    def add_document(doc: DocumentIn) -> dict:
        source = check_source(doc.source)
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{hashlib.sha256(source.encode('utf-8')).hexdigest()}.txt"
        with lock:
            old_text = library.text(source)
            try:
                path.write_text(doc.text, encoding="utf-8", newline="")
                run, todo = prepare_files([FoundFile(path, source)], store, chunker, library, strict=True)
                try:
                    write_prepared(todo, store, library, chunker, run)
                except BaseException:
                    if old_text is not None:  # the chunks are still the old ones: so is the text
                        library.write_text(source, old_text)
                    elif library.get(source) is None:
                        library.remove(source)
                    raise
            except DocumentError as exc:
                record = library.get(source)
                on_server = record is not None and Path(record.path).exists() and Path(record.path) != path
                raise ApiError(422, refusal(exc, source, doc.text, on_server)) from None
            except Exception as exc:  # noqa: BLE001 - e.g. the embedding model failed: a JSON 500
                log.error("indexing %r over HTTP failed", source, exc_info=exc)
                raise ApiError(500, f"Indexing {source!r} failed ({type(exc).__name__}); nothing was changed. "
                                    "The details are in the server log; try again.") from None
            finally:
                path.unlink(missing_ok=True)
        report = run.reports[0] if run.reports else None
        return {**record_json(library.get(source)), "added": report.added if report else 0,
                "unchanged": report.unchanged if report else len(store.ids(source)),
                "removed": report.removed if report else 0}

    @router.delete("/v1/documents/{source:path}")
    def delete_document(source: str) -> dict:
        name = check_source(source)
        with lock:
            try:
                deleted = remove_document(name, store, library)
            except DocumentError as exc:
                raise ApiError(404, f"{exc} GET /v1/documents lists them.") from None
        return {"source": name, "deleted_chunks": deleted}

    return router
