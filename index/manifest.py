"""Which documents the store serves, and which of their chunks: the commit record of indexing.

Chroma writes a document's chunks in several batches, so a killed ``assistant index`` can leave a
document half written. The manifest is a small SQLite database (``manifest.sqlite3`` beside
Chroma's files) that maps each (collection, source) to the complete list of its chunk ids. It is
written last, in one SQLite transaction, after every chunk of the document is in Chroma: readers
serve only chunks the manifest lists, so a document is seen either in its previous complete version
or in its new complete version, never in between. Chunks Chroma holds but the manifest does not list
(left by an interrupted run) are ignored and deleted by the next run.

The same database holds the lexical index, an SQLite FTS5 table per collection of the chunks'
pre-analysed terms (:func:`index.lexical.lexical_terms`, space-joined), one row per served chunk,
and a generation counter per collection. Both are written in the transaction that commits a
document, so the lexical rows always describe exactly the served chunks, and a reader learns that
anything changed by reading one integer.

SQLite's transactions are atomic and survive the writing process being killed
(https://www.sqlite.org/atomiccommit.html).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
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
CREATE TABLE IF NOT EXISTS lexical_chunks (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    UNIQUE (collection, chunk_id)
);
CREATE INDEX IF NOT EXISTS lexical_chunks_source ON lexical_chunks (collection, source);
"""

#: Columns added to ``collections`` after manifests were introduced (an older manifest is upgraded on
#: open): ``generation`` counts committed changes; ``lexical`` is 1 once the lexical index is built;
#: ``chunks`` counts its rows (the served chunks), so that counting them reads one row.
_NEW_COLUMNS = {"generation": "INTEGER NOT NULL DEFAULT 0", "lexical": "INTEGER NOT NULL DEFAULT 0",
                "chunks": "INTEGER NOT NULL DEFAULT 0"}

#: FTS5 tokenizer for the space-joined terms: splits at white space and punctuation but keeps the
#: apostrophes, dots and underscores a term may hold (``don't``, ``3.5``, ``foo_bar``); no diacritic
#: folding (https://www.sqlite.org/fts5.html#unicode61_tokenizer).
_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '''._'"


def match_expression(terms: Iterable[str]) -> str:
    """An FTS5 query matching any of ``terms``: each a quoted string, OR-ed (repeats kept, as in BM25).

    Example:
        >>> match_expression(["harbour", "3.5"])
        '"harbour" OR "3.5"'
    """
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class Manifest:
    """The per-collection record of completely indexed documents, with their lexical index.

    Args:
        persist_dir: The store's directory; the manifest is ``persist_dir / "manifest.sqlite3"``.

    Raises:
        sqlite3.DatabaseError: the manifest file is damaged (callers turn it into a ``StoreError``).
    """

    def __init__(self, persist_dir: Path):
        self.path = Path(persist_dir) / MANIFEST_FILE
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            have = {row[1] for row in conn.execute("PRAGMA table_info(collections)")}
            for name, decl in _NEW_COLUMNS.items():
                if name not in have:
                    try:
                        conn.execute(f"ALTER TABLE collections ADD COLUMN {name} {decl}")
                    except sqlite3.OperationalError as exc:  # another process added it first
                        if "duplicate column" not in str(exc):
                            raise

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
        """Start the manifest of ``collection`` with ``documents`` (source -> chunk ids), in one transaction.

        The lexical index is not built here (it needs the chunks' text): see :meth:`build_lexical`.
        """
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", (collection,))
            conn.executemany(
                "INSERT OR REPLACE INTO documents (collection, source, chunk_ids) VALUES (?, ?, ?)",
                [(collection, s, json.dumps(sorted(ids))) for s, ids in documents.items()],
            )
            self._bump(conn, collection)

    def documents(self, collection: str) -> dict[str, list[str]]:
        """Every complete document of ``collection``: source -> chunk ids (sorted)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT source, chunk_ids FROM documents WHERE collection = ?", (collection,))
            return {source: json.loads(ids) for source, ids in rows}

    def set_document(self, collection: str, source: str, chunk_ids: list[str],
                     terms: dict[str, str] | None = None) -> None:
        """Record ``chunk_ids`` as the complete version of ``source`` (the commit point of indexing it).

        In the same transaction, the lexical rows of ``source`` are brought in line: rows of chunks
        no longer listed are deleted, listed chunks without a row get one from ``terms``; rows of
        unchanged chunks and of other sources are not touched. An empty list forgets ``source``.

        Args:
            collection: Collection name.
            source: Source name.
            chunk_ids: The chunks of the new complete version.
            terms: Chunk id -> space-joined lexical terms, for the listed chunks that are new
                (an id missing here gets no lexical row: it is never a lexical candidate).
        """
        terms = terms or {}
        with self._connect() as conn:
            if chunk_ids:
                conn.execute("INSERT OR REPLACE INTO documents (collection, source, chunk_ids) VALUES (?, ?, ?)",
                             (collection, source, json.dumps(sorted(chunk_ids))))
            else:
                conn.execute("DELETE FROM documents WHERE collection = ? AND source = ?", (collection, source))
            fts = self._fts(conn, collection)
            if fts is not None:
                rows = conn.execute("SELECT chunk_id, id FROM lexical_chunks WHERE collection = ? AND source = ?",
                                    (collection, source)).fetchall()
                have, keep = dict(rows), set(chunk_ids)
                gone = [(rowid,) for cid, rowid in have.items() if cid not in keep]
                conn.executemany(f"DELETE FROM {fts} WHERE rowid = ?", gone)
                conn.executemany("DELETE FROM lexical_chunks WHERE id = ?", gone)
                added = [(cid, terms.get(cid, "")) for cid in chunk_ids if cid not in have]
                self._insert_lexical(conn, fts, collection, source, added)
                conn.execute("UPDATE collections SET chunks = chunks + ? WHERE name = ?",
                             (len(added) - len(gone), collection))
            self._bump(conn, collection)

    def drop(self, collection: str) -> None:
        """Forget ``collection``, its documents and its lexical index."""
        with self._connect() as conn:
            fts = self._fts(conn, collection)
            if fts is not None:
                conn.execute(f"DROP TABLE {fts}")
            conn.execute("DELETE FROM lexical_chunks WHERE collection = ?", (collection,))
            conn.execute("DELETE FROM documents WHERE collection = ?", (collection,))
            conn.execute("DELETE FROM collections WHERE name = ?", (collection,))

    def generation(self, collection: str) -> int:
        """A number that changes with every committed change of ``collection`` (0 when unknown)."""
        with self._connect() as conn:
            row = conn.execute("SELECT generation FROM collections WHERE name = ?", (collection,)).fetchone()
            return int(row[0]) if row else 0

    def lexical_ready(self, collection: str) -> bool:
        """Whether the lexical index of ``collection`` is built (False for a store built before it existed)."""
        with self._connect() as conn:
            return self._fts(conn, collection) is not None

    def build_lexical(self, collection: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Build the lexical index of ``collection`` from scratch, in one transaction.

        Args:
            collection: A registered collection.
            rows: ``(source, chunk id, space-joined terms)`` of every served chunk.
        """
        with self._connect() as conn:
            rowid = conn.execute("SELECT rowid FROM collections WHERE name = ?", (collection,)).fetchone()[0]
            fts = f"lexical_{int(rowid)}"
            conn.execute(f"DROP TABLE IF EXISTS {fts}")
            conn.execute("DELETE FROM lexical_chunks WHERE collection = ?", (collection,))
            conn.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(terms, tokenize = \"{_TOKENIZER}\")")
            by_source: dict[str, list[tuple[str, str]]] = {}
            for source, cid, text in rows:
                by_source.setdefault(source, []).append((cid, text))
            for source, pairs in by_source.items():
                self._insert_lexical(conn, fts, collection, source, pairs)
            conn.execute("UPDATE collections SET lexical = 1, chunks = (SELECT count(*) FROM lexical_chunks "
                         "WHERE collection = ?) WHERE name = ?", (collection, collection))
            self._bump(conn, collection)

    def lexical_search(self, collection: str, terms: list[str], limit: int) -> list[tuple[str, float]]:
        """The ``limit`` chunks holding any of ``terms`` with the best FTS5 ``bm25()`` score, best first.

        Returns:
            ``(chunk id, score)`` pairs; ``score`` is minus FTS5's ``bm25()``, so higher is better and
            every chunk that holds a query term scores above 0. Empty when ``terms`` is empty or
            the lexical index is not built.
        """
        if not terms:
            return []
        with self._connect() as conn:
            fts = self._fts(conn, collection)
            if fts is None:
                return []
            rows = conn.execute(
                f"SELECT c.chunk_id, -m.score FROM (SELECT rowid, rank AS score FROM {fts} WHERE {fts} MATCH ? "
                "ORDER BY rank LIMIT ?) AS m JOIN lexical_chunks AS c ON c.id = m.rowid ORDER BY m.score",
                (match_expression(terms), limit),
            )
            return [(str(cid), float(score)) for cid, score in rows]

    def chunk_count(self, collection: str) -> int:
        """Number of chunks ``collection`` serves (one row read once the lexical index is built)."""
        with self._connect() as conn:
            if self._fts(conn, collection) is None:
                return sum(len(json.loads(js)) for (js,) in conn.execute(
                    "SELECT chunk_ids FROM documents WHERE collection = ?", (collection,)))
            return int(conn.execute("SELECT chunks FROM collections WHERE name = ?", (collection,)).fetchone()[0])

    def served(self, collection: str, chunk_ids: Iterable[str]) -> set[str]:
        """Those of ``chunk_ids`` that ``collection`` serves (one indexed look-up each)."""
        ids = list(chunk_ids)
        with self._connect() as conn:
            if self._fts(conn, collection) is None:  # lexical rows not built yet: read the documents
                listed = {i for (js,) in conn.execute("SELECT chunk_ids FROM documents WHERE collection = ?",
                                                      (collection,)) for i in json.loads(js)}
                return listed & set(ids)
            out: set[str] = set()
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                out.update(r[0] for r in conn.execute(
                    f"SELECT chunk_id FROM lexical_chunks WHERE collection = ? AND chunk_id IN "
                    f"({','.join('?' * len(part))})", (collection, *part)))
            return out

    @staticmethod
    def _fts(conn: sqlite3.Connection, collection: str) -> str | None:
        """Name of the FTS5 table of ``collection`` (``lexical_<rowid>``), or None when not built."""
        row = conn.execute("SELECT rowid, lexical FROM collections WHERE name = ?", (collection,)).fetchone()
        return f"lexical_{int(row[0])}" if row and row[1] else None

    @staticmethod
    def _insert_lexical(conn: sqlite3.Connection, fts: str, collection: str, source: str,
                        pairs: list[tuple[str, str]]) -> None:
        for cid, text in pairs:
            rowid = conn.execute("INSERT INTO lexical_chunks (collection, source, chunk_id) VALUES (?, ?, ?)",
                                 (collection, source, cid)).lastrowid
            conn.execute(f"INSERT INTO {fts} (rowid, terms) VALUES (?, ?)", (rowid, text))

    @staticmethod
    def _bump(conn: sqlite3.Connection, collection: str) -> None:
        conn.execute("UPDATE collections SET generation = generation + 1 WHERE name = ?", (collection,))

class ChromaManifest:
    """The same record kept in the Chroma server itself, for a store behind ``chroma_url``.

    Every app process and ``assistant index`` run talking to one Chroma server must agree on which
    chunks are complete, so the record cannot live in one machine's ``data_dir``. It is a second
    collection, ``<collection>.manifest``, with one record per source: id = source, document = the
    JSON list of its chunk ids, and a constant one-dimensional vector (Chroma stores none without
    one; it is never searched). Writing one document is one upsert of its record together with a
    new generation token (record :data:`GENERATION_ID`), which Chroma applies whole, so it remains
    the commit point. Same methods as :class:`Manifest`.

    The lexical index is a per-process cache: a local :class:`Manifest` in ``cache_dir`` mirroring
    the server's record. When the server's generation token differs from the one the cache was last
    brought up to date with, the sources whose chunk lists differ are re-read (their chunks' terms
    from ``terms_of``) and only those rows are rewritten, so every process sees the documents any
    other process indexed, at the cost of one small read per query when nothing changed.

    Args:
        client: Gives the current ``chromadb`` client (``chromadb.HttpClient``); called on each use,
            so that a store that reopens its client is followed.
        cache_dir: Local directory of the lexical cache (created on first use).
        terms_of: Chunk ids -> their space-joined lexical terms (read from the server by the store).

    Raises:
        chromadb.errors.ChromaError, httpx.TransportError: the server failed or cannot be reached
            (callers turn them into a ``StoreError``).
    """

    SUFFIX = ".manifest"
    #: Id of the record whose document is a token that changes with every committed change.
    GENERATION_ID = "\u0000generation"

    def __init__(self, client: Callable[[], Any], cache_dir: Path,
                 terms_of: Callable[[str, list[str]], dict[str, str]]) -> None:
        self.client = client
        self.cache_dir = Path(cache_dir)
        self.terms_of = terms_of
        self._local: Manifest | None = None
        self._synced: dict[str, str] = {}

    def _name(self, collection: str) -> str:
        return f"{collection}{self.SUFFIX}"

    def _records(self, collection: str):  # noqa: ANN202 - chromadb Collection
        return self.client().get_or_create_collection(self._name(collection), embedding_function=None)

    def _upsert(self, collection: str, documents: dict[str, list[str]]) -> None:
        """Record ``documents`` and a new generation token in one upsert (the commit point)."""
        ids = sorted(documents) + [self.GENERATION_ID]
        docs = [json.dumps(sorted(documents[s])) for s in sorted(documents)] + [uuid.uuid4().hex]
        self._records(collection).upsert(ids=ids, embeddings=[[1.0]] * len(ids), documents=docs)

    def registered(self, collection: str) -> bool:  # noqa: D102
        return self._name(collection) in {c.name for c in self.client().list_collections()}

    def register(self, collection: str, documents: dict[str, list[str]]) -> None:  # noqa: D102
        self._upsert(collection, documents)

    def documents(self, collection: str) -> dict[str, list[str]]:  # noqa: D102
        got = self._records(collection).get(include=["documents"])
        return {source: json.loads(ids) for source, ids in zip(got["ids"], got["documents"] or [])
                if source != self.GENERATION_ID}

    def set_document(self, collection: str, source: str, chunk_ids: list[str],
                     terms: dict[str, str] | None = None) -> None:  # noqa: D102
        if chunk_ids:
            self._upsert(collection, {source: chunk_ids})
        else:
            self._records(collection).delete(ids=[source])
            self._upsert(collection, {})

    def drop(self, collection: str) -> None:  # noqa: D102
        if self.registered(collection):
            self.client().delete_collection(self._name(collection))
        self._cache().drop(collection)
        self._synced.pop(collection, None)

    def _token(self, collection: str) -> str:
        got = self._records(collection).get(ids=[self.GENERATION_ID], include=["documents"])
        return (got["documents"] or [""])[0] or ""

    def generation(self, collection: str) -> int:
        """A number that changes with every committed change on the server (from its token)."""
        token = self._token(collection)
        return int(token[:12], 16) if token else 0

    def lexical_ready(self, collection: str) -> bool:
        """Always True: the local cache is built and updated on demand (:meth:`sync`)."""
        return True

    def build_lexical(self, collection: str, rows: Iterable[tuple[str, str, str]]) -> None:  # noqa: D102
        self.sync(collection)

    def _cache(self) -> Manifest:
        if self._local is None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._local = Manifest(self.cache_dir)
        return self._local

    def sync(self, collection: str) -> None:
        """Bring the local lexical cache in line with the server's record (only changed sources)."""
        token = self._token(collection)
        if token and self._synced.get(collection) == token:
            return
        local = self._cache()
        if not local.lexical_ready(collection):
            local.register(collection, {})
            local.build_lexical(collection, [])
        remote, have = self.documents(collection), local.documents(collection)
        for source in sorted(set(remote) | set(have)):
            ids, cached = remote.get(source, []), set(have.get(source, []))
            if set(ids) == cached:
                continue
            new = [i for i in ids if i not in cached]
            local.set_document(collection, source, ids, self.terms_of(collection, new) if new else {})
        self._synced[collection] = token

    def lexical_search(self, collection: str, terms: list[str], limit: int) -> list[tuple[str, float]]:  # noqa: D102
        self.sync(collection)
        return self._cache().lexical_search(collection, terms, limit)

    def chunk_count(self, collection: str) -> int:  # noqa: D102
        self.sync(collection)
        return self._cache().chunk_count(collection)

    def served(self, collection: str, chunk_ids: Iterable[str]) -> set[str]:  # noqa: D102
        self.sync(collection)
        return self._cache().served(collection, chunk_ids)
