"""A persistent cache of passage vectors in SQLite, so that a rebuilt index does not embed again.

Used by ``assistant bench`` for its scale runs: the vector of a chunk depends only on the embedding
model and the chunk's text, so the cache is keyed by ``(model_id, sha256(text))`` and serves any
corpus, size or store layout built from the same chunks. Vectors are stored as float32 (what
Chroma stores), so a cached vector equals the computed one to float32 precision.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from index.embeddings import embedding_model_id

_SCHEMA = """
create table if not exists vectors (model text not null, digest text not null, vector blob not null,
                                    primary key (model, digest));
create table if not exists embedded (model text primary key, chunks integer not null, seconds real not null);
"""


class CachedEmbeddings(Embeddings):
    """Wraps an embedding backend; passages already embedded by the same model come from ``path``.

    Args:
        inner: The backend that computes missing vectors (its ``model_id`` keys the cache).
        path: SQLite file (created with its folder).

    Attributes:
        hits: Passages served from the cache since construction.
        misses: Passages embedded by ``inner`` since construction.
        embed_seconds: Seconds spent in ``inner.embed_documents`` since construction.
    """

    def __init__(self, inner: Embeddings, path: Path):
        self.inner = inner
        self.model_id = embedding_model_id(inner)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)
        self.hits = self.misses = 0
        self.embed_seconds = 0.0

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` in order: cached ones read, the others embedded by ``inner`` and stored."""
        digests = [self._digest(t) for t in texts]
        found: dict[str, list[float]] = {}
        for start in range(0, len(digests), 500):  # SQLite's bound-parameter limit
            part = list(dict.fromkeys(digests[start:start + 500]))
            rows = self._db.execute(
                f"select digest, vector from vectors where model = ? and digest in ({','.join('?' * len(part))})",
                [self.model_id, *part])
            found.update((d, np.frombuffer(v, dtype=np.float32).astype(float).tolist()) for d, v in rows)
        first: dict[str, int] = {}  # one embedding per distinct missing text
        for i, d in enumerate(digests):
            if d not in found:
                first.setdefault(d, i)
        missing = list(first.values())
        if missing:
            t = time.perf_counter()
            vectors = self.inner.embed_documents([texts[i] for i in missing])
            seconds = time.perf_counter() - t
            self.embed_seconds += seconds
            with self._db:
                self._db.executemany("insert or replace into vectors values (?, ?, ?)",
                                     [(self.model_id, digests[i], np.asarray(v, dtype=np.float32).tobytes())
                                      for i, v in zip(missing, vectors)])
                self._db.execute("insert into embedded values (?, ?, ?) on conflict(model) do update set "
                                 "chunks = chunks + excluded.chunks, seconds = seconds + excluded.seconds",
                                 (self.model_id, len(missing), seconds))
            for i, v in zip(missing, vectors):
                found[digests[i]] = np.asarray(v, dtype=np.float32).astype(float).tolist()
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return [found[d] for d in digests]

    def embed_query(self, text: str) -> list[float]:
        """A question's vector, always computed (questions are not cached)."""
        return self.inner.embed_query(text)

    def recorded_rate(self) -> float | None:
        """Chunks per second of every embedding this cache has recorded for the model (None before any)."""
        row = self._db.execute("select chunks, seconds from embedded where model = ?", [self.model_id]).fetchone()
        return row[0] / row[1] if row and row[1] else None

    def close(self) -> None:
        """Close the SQLite connection."""
        self._db.close()
