"""Which documents the store serves, and which of their chunks: the commit record of indexing.

Chroma writes a document's chunks in several batches, so a killed ``assistant index`` can leave a
document half written. The manifest is a small SQLite database (``manifest.sqlite3`` beside
Chroma's files) that maps each (collection, source) to the complete list of its chunk ids. It is
written last, in one SQLite transaction, after every chunk of the document is in Chroma: readers
serve only chunks the manifest lists, so a document is seen either in its previous complete version
or in its new complete version, never in between. Chunks Chroma holds but the manifest does not list
(left by an interrupted run) are ignored and deleted by the next run.

SQLite's transactions are atomic and survive the writing process being killed
(https://www.sqlite.org/atomiccommit.html).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    PRIMARY KEY (collection, source)
);
"""


class Manifest:
    """The per-collection record of completely indexed documents.

    Args:
        persist_dir: The store's directory; the manifest is ``persist_dir / "manifest.sqlite3"``.

    Raises:
        sqlite3.DatabaseError: the manifest file is damaged (callers turn it into a ``StoreError``).
    """

    def __init__(self, persist_dir: Path):
        self.path = Path(persist_dir) / MANIFEST_FILE
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:  # one transaction: committed on success, rolled back on error
                yield conn
        finally:
            conn.close()

    def registered(self, collection: str) -> bool:
        """Whether ``collection`` has a manifest (False for stores built before manifests existed)."""
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM collections WHERE name = ?", (collection,)).fetchone() is not None

    def register(self, collection: str, documents: dict[str, list[str]]) -> None:
        """Start the manifest of ``collection`` with ``documents`` (source -> chunk ids), in one transaction."""
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", (collection,))
            conn.executemany(
                "INSERT OR REPLACE INTO documents (collection, source, chunk_ids) VALUES (?, ?, ?)",
                [(collection, s, json.dumps(sorted(ids))) for s, ids in documents.items()],
            )

    def documents(self, collection: str) -> dict[str, list[str]]:
        """Every complete document of ``collection``: source -> chunk ids (sorted)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT source, chunk_ids FROM documents WHERE collection = ?", (collection,))
            return {source: json.loads(ids) for source, ids in rows}

    def set_document(self, collection: str, source: str, chunk_ids: list[str]) -> None:
        """Record ``chunk_ids`` as the complete version of ``source`` (the commit point of indexing it).

        An empty list forgets ``source``.
        """
        with self._connect() as conn:
            if not chunk_ids:
                conn.execute("DELETE FROM documents WHERE collection = ? AND source = ?", (collection, source))
                return
            conn.execute("INSERT OR REPLACE INTO documents (collection, source, chunk_ids) VALUES (?, ?, ?)",
                         (collection, source, json.dumps(sorted(chunk_ids))))

    def drop(self, collection: str) -> None:
        """Forget ``collection`` and its documents."""
        with self._connect() as conn:
            conn.execute("DELETE FROM documents WHERE collection = ?", (collection,))
            conn.execute("DELETE FROM collections WHERE name = ?", (collection,))


class ChromaManifest:
    """The same record kept in the Chroma server itself, for a store behind ``chroma_url``.

    Every app process and ``assistant index`` run talking to one Chroma server must agree on which
    chunks are complete, so the record cannot live in one machine's ``data_dir``. It is a second
    collection, ``<collection>.manifest``, with one record per source: id = source, document = the
    JSON list of its chunk ids, and a constant one-dimensional vector (Chroma stores none without
    one; it is never searched). Writing one document is one upsert of one record, which Chroma
    applies whole, so it remains the commit point. Same methods as :class:`Manifest`.

    Args:
        client: Gives the current ``chromadb`` client (``chromadb.HttpClient``); called on each use,
            so that a store that reopens its client is followed.

    Raises:
        chromadb.errors.ChromaError, httpx.TransportError: the server failed or cannot be reached
            (callers turn them into a ``StoreError``).
    """

    SUFFIX = ".manifest"

    def __init__(self, client: Callable[[], Any]) -> None:
        self.client = client

    def _name(self, collection: str) -> str:
        return f"{collection}{self.SUFFIX}"

    def _records(self, collection: str):  # noqa: ANN202 - chromadb Collection
        return self.client().get_or_create_collection(self._name(collection), embedding_function=None)

    def registered(self, collection: str) -> bool:  # noqa: D102
        return self._name(collection) in {c.name for c in self.client().list_collections()}

    def register(self, collection: str, documents: dict[str, list[str]]) -> None:  # noqa: D102
        records = self._records(collection)
        if documents:
            sources = sorted(documents)
            records.upsert(ids=sources, embeddings=[[1.0]] * len(sources),
                           documents=[json.dumps(sorted(documents[s])) for s in sources])

    def documents(self, collection: str) -> dict[str, list[str]]:  # noqa: D102
        got = self._records(collection).get(include=["documents"])
        return {source: json.loads(ids) for source, ids in zip(got["ids"], got["documents"] or [])}

    def set_document(self, collection: str, source: str, chunk_ids: list[str]) -> None:  # noqa: D102
        records = self._records(collection)
        if chunk_ids:
            records.upsert(ids=[source], embeddings=[[1.0]], documents=[json.dumps(sorted(chunk_ids))])
        else:
            records.delete(ids=[source])

    def drop(self, collection: str) -> None:  # noqa: D102
        if self.registered(collection):
            self.client().delete_collection(self._name(collection))
