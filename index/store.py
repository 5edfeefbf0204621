"""The chunk store: Chroma (through ``langchain-chroma``) with deterministic ids and idempotent upserts.

The collection's metadata records the embedding model that built it; opening the store with another
model raises :class:`EmbeddingMismatchError` instead of returning meaningless neighbours.

Crash safety: a document's chunks are written to Chroma first, then recorded as complete in the
:class:`index.manifest.Manifest` (one SQLite transaction, the commit point), and only then are the
chunks of its previous version deleted. Every read serves only the chunks the manifest lists, so a
run killed at any point leaves each document in its previous or its new complete version; the next
run completes the work and deletes what the killed run left behind. A damaged database or a full
disk is a :class:`StoreError` whose message says what to do.

With ``chroma_url`` the vectors live in a Chroma server (``chromadb.HttpClient``) and so does the
manifest (:class:`index.manifest.ChromaManifest`), so that every process using that server serves
the same complete documents; a server that cannot be reached is a :class:`StoreError` naming the
setting.

Lexical index: the manifest commit also writes the document's rows of the lexical (FTS5) index, so
it changes with the served chunks, source by source (see :mod:`index.manifest`). A store built before
the lexical index existed gets it built once, from its chunks, when it is opened (logged).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property, wraps
from pathlib import Path
from typing import TYPE_CHECKING

from index.chunking import Chunk
from index.embeddings import embedding_model_id
from index.errors import EmbeddingMismatchError, IndexingError, StoreError
from index.lexical import lexical_terms
from index.loader import has_visible_text
from index.manifest import ChromaManifest, Manifest

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "passages"

#: Chunks embedded and written per Chroma upsert; bounds memory and the work an interrupted run loses.
WRITE_BATCH = 32

#: Test hook (documented in README, "Index crash safety"): ``after-batch-N`` or ``before-cleanup``.
#: At that point of :meth:`ChunkStore.replace_source` the process prints ``PAUSED <point>`` to stderr
#: and sleeps, so that a test can ``kill -9`` it at a known point of the write.
PAUSE_ENV = "ASSISTANT_TEST_PAUSE_AT"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back from the store, with its similarity to the query.

    Attributes:
        id: Chunk id.
        source: Source document name.
        ordinal: Position in the document.
        start: Character offset in the source text (inclusive).
        end: Character offset in the source text (exclusive).
        text: Chunk text.
        score: Cosine similarity to the query, in [-1, 1] (1 - Chroma's cosine distance).
        context: Text read before ``text`` but outside its span (a repeated table head), or "".
    """

    id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    score: float
    context: str = ""


@dataclass(frozen=True)
class UpsertReport:
    """What one :meth:`ChunkStore.replace_source` call changed: chunk counts."""

    source: str
    added: int
    unchanged: int
    removed: int


def chunk_terms(text: str, context: str = "") -> str:
    """The lexical index row of a chunk: its context's and text's lexical terms, space-joined.

    A chunk without visible text gets no terms (it is never a passage).
    """
    return " ".join(lexical_terms(f"{context}\n{text}")) if has_visible_text(text) else ""


def _lexical_cache_dir(persist_dir: Path) -> Path:
    """Where a store behind ``chroma_url`` keeps its local lexical cache: ``<persist_dir>-lexical`` beside it."""
    return persist_dir.with_name(persist_dir.name + "-lexical")


def _open_client(persist_dir: Path, chroma_url: str | None = None):  # noqa: ANN202 - chromadb.ClientAPI
    """The embedded Chroma in ``persist_dir``, or a client of the server at ``chroma_url`` when given.

    Raises:
        StoreError: the server at ``chroma_url`` cannot be reached.
    """
    import chromadb
    from chromadb.config import Settings

    if chroma_url:
        from urllib.parse import urlsplit

        url = urlsplit(chroma_url)
        try:  # the client checks the server (tenant and database) on construction
            return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                       ssl=url.scheme == "https", settings=Settings(anonymized_telemetry=False))
        except Exception as exc:  # chromadb raises ValueError("Could not connect to a Chroma server...")
            raise _unreachable(chroma_url, exc) from None
    persist_dir.mkdir(parents=True, exist_ok=True)
    # Chroma caches clients by path string: an absolute path keeps two directories apart.
    return chromadb.PersistentClient(path=str(persist_dir.resolve()), settings=Settings(anonymized_telemetry=False))


def _collection_names(client) -> set[str]:  # noqa: ANN001
    return {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}


def _disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in text or "no space left" in text


def _detail(exc: BaseException) -> str:
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _unreachable(chroma_url: str, exc: BaseException) -> StoreError:
    return StoreError(
        f"the Chroma server at {chroma_url} (setting chroma_url) cannot be reached ({_detail(exc)}). Start it "
        "(`chroma run --path DIR --host HOST --port PORT`) and run the command again, or correct "
        "ASSISTANT_CHROMA_URL, or unset it to use the embedded index in data_dir."
    )


def _store_error(persist_dir: Path, exc: BaseException, chroma_url: str | None = None) -> StoreError:
    """A :class:`StoreError` for ``exc`` raised by Chroma, SQLite, the network or the file system, saying what to do."""
    import httpx

    detail = _detail(exc)
    if chroma_url:
        if isinstance(exc, (httpx.TransportError, OSError)):
            return _unreachable(chroma_url, exc)
        return StoreError(f"the Chroma server at {chroma_url} (setting chroma_url) failed ({detail}). Check its "
                          "log; if the collection is damaged, rebuild it with `assistant index --rebuild`.")
    if _disk_full(exc):
        return StoreError(
            f"no space left on the disk holding the index at {persist_dir} ({detail}). Free some space and "
            "run the command again; every document indexed before is unchanged."
        )
    if isinstance(exc, OSError):  # the directory itself: missing parent, not a directory, no permission
        return StoreError(
            f"the index directory {persist_dir} cannot be used ({detail}). Give a writable directory with "
            "--data-dir or ASSISTANT_DATA_DIR."
        )
    return StoreError(
        f"the index at {persist_dir} cannot be read: it is damaged or truncated ({detail}). Rebuild it with "
        f"`assistant index --rebuild --data-dir {persist_dir.parent}`: it indexes again every document recorded "
        f"in {persist_dir.parent / 'documents'}, from their stored texts (the damaged copy is kept beside it)."
    )


def _is_store_failure(exc: BaseException) -> bool:
    import httpx
    from chromadb.errors import ChromaError

    # pyo3's PanicException (a Rust panic inside Chroma) derives from BaseException, not Exception.
    return (isinstance(exc, (ChromaError, sqlite3.DatabaseError, OSError, httpx.TransportError))
            or type(exc).__name__ == "PanicException")


def _guarded(fn):  # noqa: ANN001, ANN202
    """Turn a Chroma, SQLite or file-system failure inside a store method into a :class:`StoreError`."""

    @wraps(fn)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        try:
            return fn(self, *args, **kwargs)
        except IndexingError:
            raise
        except BaseException as exc:
            if _is_store_failure(exc):
                raise _store_error(self.persist_dir, exc, self.chroma_url) from exc
            raise

    return wrapper


def _pause_point(name: str) -> None:
    """The test hook of :data:`PAUSE_ENV`: stop here (print, then sleep) when the variable names ``name``."""
    if os.environ.get(PAUSE_ENV) == name:
        import time

        print(f"PAUSED {name}", file=sys.stderr, flush=True)
        time.sleep(3600)


def drop_collection(persist_dir: str | Path, collection: str = DEFAULT_COLLECTION, chroma_url: str | None = None) -> bool:
    """Delete a collection whatever model built it (``assistant index --rebuild``), and its manifest.

    Args:
        persist_dir: The embedded store's directory (unused with ``chroma_url``).
        collection: Collection name.
        chroma_url: The Chroma server holding the collection, or None for the embedded store.

    Returns:
        True when a collection was dropped, False when there was none.

    Raises:
        StoreError: the store cannot be opened (see :func:`set_aside_damaged`).
    """
    persist_dir = Path(persist_dir)
    try:
        client = _open_client(persist_dir, chroma_url)
        dropped = collection in _collection_names(client)
        if dropped:
            client.delete_collection(collection)
        manifest = (ChromaManifest(lambda: client, _lexical_cache_dir(Path(persist_dir)), lambda c, ids: {})
                    if chroma_url else Manifest(persist_dir))
        manifest.drop(collection)  # after Chroma: a kill in between is reported as damage
        return dropped
    except IndexingError:
        raise
    except BaseException as exc:
        if _is_store_failure(exc):
            raise _store_error(persist_dir, exc, chroma_url) from exc
        raise


def set_aside_damaged(persist_dir: str | Path) -> Path:
    """Move a store that cannot be opened out of the way, so that ``--rebuild`` can start afresh.

    Nothing is deleted: the directory is renamed to ``chroma.damaged-<UTC time>`` beside it.

    Returns:
        The new path of the damaged directory.
    """
    from chromadb.api.client import SharedSystemClient

    persist_dir = Path(persist_dir)
    target = persist_dir.with_name(f"{persist_dir.name}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}")
    persist_dir.rename(target)
    SharedSystemClient.clear_system_cache()  # forget the client opened on the damaged files
    return target


class ChunkStore:
    """Persistent store of chunk vectors.

    Example:
        >>> store = ChunkStore("data/chroma", embeddings=MiniLMOnnxEmbeddings())
        >>> store.replace_source("a.txt", chunks)          # idempotent
        UpsertReport(source='a.txt', added=7, unchanged=0, removed=0)
        >>> store.search("Who invited him?", k=3)[0].score
        0.61

    Only chunks of completely indexed documents are served (see the module docstring).

    Args:
        persist_dir: Directory of the embedded Chroma database and its manifest (created when
            missing; unused with ``chroma_url``).
        embeddings: The embedding backend; its ``model_id`` is recorded in the collection.
        collection: Collection name.
        chroma_url: A Chroma server (``http://127.0.0.1:8000``) holding the vectors and the
            manifest, instead of ``persist_dir``.

    Raises:
        EmbeddingMismatchError: the existing collection was built with another embedding model.
        StoreError: the database is damaged or truncated, the disk is full, or the Chroma server
            cannot be reached.
    """

    def __init__(self, persist_dir: str | Path, embeddings: Embeddings, collection: str = DEFAULT_COLLECTION,
                 chroma_url: str | None = None):
        self.persist_dir = Path(persist_dir)
        self.chroma_url = chroma_url
        self.embeddings = embeddings
        self.collection_name = collection
        self.model_id = embedding_model_id(embeddings)
        self._open()

    @_guarded
    def _open(self) -> None:
        self._check_model()
        self._manifest = (ChromaManifest(lambda: self._client, _lexical_cache_dir(self.persist_dir),
                                         self._terms_of)
                          if self.chroma_url else Manifest(self.persist_dir))
        if not self._manifest.registered(self.collection_name):  # new, or built before manifests existed
            self._manifest.register(self.collection_name, self._stored_by_source())
        if not self._manifest.lexical_ready(self.collection_name):  # built before the lexical index
            self._build_lexical()
        missing = len(self._served_ids() - self._stored_ids())
        if missing:
            raise _store_error(self.persist_dir, RuntimeError(
                f"{missing} indexed chunks of collection {self.collection_name!r} are missing from Chroma"), self.chroma_url)

    def _terms_of(self, collection: str, ids: list[str]) -> dict[str, str]:
        """Lexical terms of the chunks ``ids`` of ``collection``, read from Chroma (for a remote manifest's cache)."""
        got = self._client.get_collection(collection).get(ids=ids, include=["documents", "metadatas"])
        return {str(i): chunk_terms(d or "", str((m or {}).get("context") or ""))
                for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])}

    def _build_lexical(self) -> None:
        """Build the lexical index from the served chunks, once (a migration: logged)."""
        import time

        started = time.perf_counter()
        chunks = self.all_chunks()
        self._manifest.build_lexical(self.collection_name,
                                     ((c.source, c.id, chunk_terms(c.text, c.context)) for c in chunks))
        if chunks:  # a new, empty store has nothing to migrate
            log.warning("built the lexical index of %d chunks of collection %r in %s in %.1f s (once: it is "
                        "kept up to date from now on)", len(chunks), self.collection_name, self.persist_dir,
                        time.perf_counter() - started)

    @cached_property
    def _client(self):  # noqa: ANN202
        return _open_client(self.persist_dir, self.chroma_url)

    @property
    def location(self) -> str:
        """Where the vectors are: the Chroma server's URL, or the embedded store's directory."""
        return self.chroma_url or str(self.persist_dir)

    def _check_model(self) -> None:
        if self.collection_name not in _collection_names(self._client):
            return
        meta = self._client.get_collection(self.collection_name, embedding_function=None).metadata or {}
        built_with = meta.get("embedding_model")
        if built_with and built_with != self.model_id:
            raise EmbeddingMismatchError(
                f"The index at {self.persist_dir} (collection {self.collection_name!r}) was built with the "
                f"embedding model {built_with!r}, but the configured model is {self.model_id!r}. "
                f"Rebuild it with `assistant index --rebuild`, or set the embedding backend back to the one "
                f"that built it."
            )

    @cached_property
    def _vectorstore(self):  # noqa: ANN202
        from langchain_chroma import Chroma

        return Chroma(
            client=self._client,
            collection_name=self.collection_name,
            embedding_function=self.embeddings,
            collection_metadata={"hnsw:space": "cosine", "embedding_model": self.model_id},
        )

    @property
    def _collection(self):  # noqa: ANN202
        return self._vectorstore._collection

    def _documents(self) -> dict[str, list[str]]:
        return self._manifest.documents(self.collection_name)

    def _served_ids(self) -> set[str]:
        return {i for ids in self._documents().values() for i in ids}

    def _stored_ids(self, source: str | None = None) -> set[str]:
        """Ids Chroma holds, served or not (an interrupted run leaves unserved ones)."""
        got = self._collection.get(where={"source": source} if source else None, include=[])
        return set(got["ids"])

    def _stored_by_source(self) -> dict[str, list[str]]:
        got = self._collection.get(include=["metadatas"])
        out: dict[str, list[str]] = {}
        for i, m in zip(got["ids"], got["metadatas"] or []):
            out.setdefault(str(m["source"]), []).append(i)
        return out

    @_guarded
    def count(self) -> int:
        """Number of served chunks (those of completely indexed documents)."""
        return self._manifest.chunk_count(self.collection_name)

    @_guarded
    def generation(self) -> int:
        """A number that changes whenever a change to this collection is committed, by any process."""
        return self._manifest.generation(self.collection_name)

    @_guarded
    def lexical_search(self, terms: list[str], limit: int) -> list[tuple[str, float]]:
        """The ``limit`` served chunks that best match ``terms`` by FTS5's BM25, best first.

        Args:
            terms: Query terms analysed as the chunks were (:func:`index.lexical.lexical_terms`).
            limit: Most chunks returned.

        Returns:
            ``(chunk id, score)`` pairs, score > 0 (see :meth:`index.manifest.Manifest.lexical_search`).
        """
        return self._manifest.lexical_search(self.collection_name, terms, limit)

    @_guarded
    def chunks(self, ids: list[str], query: str | None = None) -> list[StoredChunk]:
        """The served chunks among ``ids``, in no particular order; others are left out.

        Args:
            ids: Chunk ids.
            query: When given, each chunk's ``score`` is its cosine similarity to ``query`` (vectors
                read in the same Chroma call; the query embedded once); else 0.0.
        """
        served = sorted(self._manifest.served(self.collection_name, ids))
        return self._retrying(self._get_chunks, served, query) if served else []

    def _get_chunks(self, ids: list[str], query: str | None = None) -> list[StoredChunk]:
        import numpy as np

        include = ["documents", "metadatas", "embeddings"] if query is not None else ["documents", "metadatas"]
        got = self._collection.get(ids=ids, include=include)
        scores = [0.0] * len(got["ids"])
        if query is not None and len(got["ids"]):
            q = np.asarray(self.embeddings.embed_query(query), dtype=float)
            q /= max(float(np.linalg.norm(q)), 1e-12)
            v = np.asarray(got["embeddings"], dtype=float)
            scores = (v @ q / np.clip(np.linalg.norm(v, axis=1), 1e-12, None)).tolist()
        return [
            StoredChunk(id=i, source=str(m["source"]), ordinal=int(m["ordinal"]), start=int(m["start"]),
                        end=int(m["end"]), text=d, score=float(score), context=str(m.get("context") or ""))
            for i, d, m, score in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], scores)
        ]

    @_guarded
    def ids(self, source: str | None = None) -> set[str]:
        """Ids of served chunks, all or of one source."""
        docs = self._documents()
        return set(docs.get(source, [])) if source else {i for ids in docs.values() for i in ids}

    @_guarded
    def sources(self) -> list[str]:
        """Names of the completely indexed sources, sorted."""
        return sorted(self._documents())

    @_guarded
    def source_counts(self) -> dict[str, int]:
        """Chunks served per source, by source name (sorted)."""
        return {s: len(ids) for s, ids in sorted(self._documents().items())}

    @_guarded
    def replace_source(self, source: str, chunks: list[Chunk]) -> UpsertReport:
        """Make the store serve exactly ``chunks`` for ``source``.

        Order of writes: missing chunks are embedded (their ``embed_text``: context and text) and
        upserted in batches of :data:`WRITE_BATCH`, with the text alone as the stored document; then
        the manifest records the new chunk list (the commit point); then chunks of the older
        version, and any left by an interrupted run, are deleted. A failure or a kill before the
        commit point leaves the older version served; after it, the new one. Chunks whose id is
        already stored are not embedded again (ids hash the text, so equal id means equal text).

        Args:
            source: Source name; every chunk must carry it.
            chunks: The chunks of the source's current text. Not mutated.

        Returns:
            Counts against the previously served version: chunks added, unchanged and removed.

        Raises:
            ValueError: a chunk belongs to another source, or two chunks share an id.
            StoreError: Chroma or the disk failed (the older version is still served).
        """
        new_ids = [c.id for c in chunks]
        if len(set(new_ids)) != len(new_ids):
            raise ValueError(f"duplicate chunk ids for source {source!r}")
        if any(c.source != source for c in chunks):
            raise ValueError(f"every chunk must belong to source {source!r}")
        served = set(self._documents().get(source, []))
        present = self._stored_ids(source)
        todo = [c for c in chunks if c.id not in present]
        for n, start in enumerate(range(0, len(todo), WRITE_BATCH), 1):
            batch = todo[start:start + WRITE_BATCH]
            vectors = self.embeddings.embed_documents([c.embed_text for c in batch])
            self._collection.upsert(ids=[c.id for c in batch], embeddings=vectors, documents=[c.text for c in batch],
                                    metadatas=[c.metadata() for c in batch])
            _pause_point(f"after-batch-{n}")
        self._manifest.set_document(self.collection_name, source, new_ids,
                                    {c.id: chunk_terms(c.text, c.context) for c in chunks if c.id not in served})
        _pause_point("before-cleanup")
        leftovers = sorted(present - set(new_ids))
        if leftovers:
            self._collection.delete(ids=leftovers)
        now = set(new_ids)
        return UpsertReport(source=source, added=len(now - served), unchanged=len(now & served),
                            removed=len(served - now))

    @_guarded
    def delete_source(self, source: str) -> int:
        """Stop serving ``source`` (the manifest forgets it first) and delete its chunks.

        Returns:
            How many chunks were served for it (0: none).
        """
        served = self._documents().get(source, [])
        self._manifest.set_document(self.collection_name, source, [])
        stored = sorted(self._stored_ids(source))
        if stored:
            self._collection.delete(ids=stored)
        return len(served)

    @_guarded
    def delete(self, ids: list[str]) -> None:
        """Delete chunks by id; ids that are not stored are ignored."""
        if not ids:
            return
        gone = set(ids)
        for source, listed in self._documents().items():
            if gone & set(listed):
                self._manifest.set_document(self.collection_name, source, [i for i in listed if i not in gone])
        self._collection.delete(ids=list(ids))

    @_guarded
    def all_chunks(self) -> list[StoredChunk]:
        """Every served chunk (score 0.0), in source and ordinal order (builds an older store's lexical index)."""
        served = sorted(self._served_ids())
        chunks = self._get_chunks(served) if served else []
        return sorted(chunks, key=lambda c: (c.source, c.ordinal))

    @_guarded
    def reopen(self) -> None:
        """Drop this process's view of the database and open it again from disk.

        Chroma's local reader caches the vector index; when another process (``assistant index``
        run beside a serving ``assistant ui``) writes the same directory, the cached index no longer
        matches the stored ids and queries fail. Reopening reads the current state.
        """
        client = self.__dict__.pop("_client", None)
        self.__dict__.pop("_vectorstore", None)
        if client is not None:
            client.close()

    @_guarded
    def search(self, query: str, k: int) -> list[StoredChunk]:
        """The ``k`` served chunks most similar to ``query``, most similar first.

        If the query fails because another process changed the index, the store is reopened
        (:meth:`reopen`) and the query is tried once more.

        Returns:
            Up to ``k`` chunks with cosine similarity scores (fewer when the store serves fewer).

        Raises:
            StoreError: the database cannot be read.
        """
        return self._retrying(self._search, query, k)

    def _retrying(self, fn, *args):  # noqa: ANN001, ANN202
        from chromadb.errors import ChromaError

        try:
            return fn(*args)
        except ChromaError:
            self.reopen()
            return fn(*args)

    def _search(self, query: str, k: int) -> list[StoredChunk]:
        count = self._manifest.chunk_count(self.collection_name)
        if not count:
            return []
        vector = self.embeddings.embed_query(query)
        hits = self._vectorstore.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        served = self._manifest.served(self.collection_name, [str(doc.id) for doc, _ in hits])
        if len(served) < min(k, count):
            # Chunks of an interrupted run are stored but not served and took some of the k places:
            # fetch enough to still find k served ones (counting the collection costs ~10 ms at 9k
            # chunks, so only then).
            unserved = max(self._collection.count() - count, 0)
            hits = self._vectorstore.similarity_search_by_vector_with_relevance_scores(vector, k=k + unserved)
            served = self._manifest.served(self.collection_name, [str(doc.id) for doc, _ in hits])
        return [
            StoredChunk(
                id=str(doc.id),
                source=str(doc.metadata["source"]),
                ordinal=int(doc.metadata["ordinal"]),
                start=int(doc.metadata["start"]),
                end=int(doc.metadata["end"]),
                text=doc.page_content,
                score=1.0 - float(distance),
                context=str(doc.metadata.get("context") or ""),
            )
            for doc, distance in hits
            if str(doc.id) in served
        ][:k]
