"""The chunk store: Chroma (through ``langchain-chroma``) with deterministic ids and idempotent upserts.

The collection's metadata records the embedding model that built it; opening the store with another
model raises :class:`EmbeddingMismatchError` instead of returning meaningless neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from langchain_core.embeddings import Embeddings

from index.chunking import Chunk
from index.embeddings import embedding_model_id
from index.errors import EmbeddingMismatchError

DEFAULT_COLLECTION = "passages"


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


def _open_client(persist_dir: Path):  # noqa: ANN202 - chromadb.ClientAPI
    import chromadb
    from chromadb.config import Settings

    persist_dir.mkdir(parents=True, exist_ok=True)
    # Chroma caches clients by path string: an absolute path keeps two directories apart.
    return chromadb.PersistentClient(path=str(persist_dir.resolve()), settings=Settings(anonymized_telemetry=False))


def _collection_names(client) -> set[str]:  # noqa: ANN001
    return {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}


def drop_collection(persist_dir: str | Path, collection: str = DEFAULT_COLLECTION) -> bool:
    """Delete a collection whatever model built it (``assistant index --rebuild``).

    Returns:
        True when a collection was dropped, False when there was none.
    """
    client = _open_client(Path(persist_dir))
    if collection not in _collection_names(client):
        return False
    client.delete_collection(collection)
    return True


class ChunkStore:
    """Persistent store of chunk vectors.

    Example:
        >>> store = ChunkStore("data/chroma", embeddings=MiniLMOnnxEmbeddings())
        >>> store.replace_source("a.txt", chunks)          # idempotent
        UpsertReport(source='a.txt', added=7, unchanged=0, removed=0)
        >>> store.search("Who invited him?", k=3)[0].score
        0.61

    Args:
        persist_dir: Directory of the Chroma database (created when missing).
        embeddings: The embedding backend; its ``model_id`` is recorded in the collection.
        collection: Collection name.

    Raises:
        EmbeddingMismatchError: the existing collection was built with another embedding model.
    """

    def __init__(self, persist_dir: str | Path, embeddings: Embeddings, collection: str = DEFAULT_COLLECTION):
        self.persist_dir = Path(persist_dir)
        self.embeddings = embeddings
        self.collection_name = collection
        self.model_id = embedding_model_id(embeddings)
        self._check_model()

    @cached_property
    def _client(self):  # noqa: ANN202
        return _open_client(self.persist_dir)

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

    def count(self) -> int:
        """Number of stored chunks."""
        return self._collection.count()

    def ids(self, source: str | None = None) -> set[str]:
        """Ids of stored chunks, all or of one source."""
        got = self._collection.get(where={"source": source} if source else None, include=[])
        return set(got["ids"])

    def sources(self) -> list[str]:
        """Names of the indexed sources, sorted."""
        got = self._collection.get(include=["metadatas"])
        return sorted({m["source"] for m in got["metadatas"] or []})

    def replace_source(self, source: str, chunks: list[Chunk]) -> UpsertReport:
        """Make the store hold exactly ``chunks`` for ``source``.

        New chunks are embedded (their ``embed_text``: context and text) and upserted first, with
        the text alone as the stored document; chunks of an older version of the source are
        deleted after, so a failure while embedding leaves the old version in place. Chunks whose id
        is already stored are not embedded again (ids hash the text, so equal id means equal text).

        Args:
            source: Source name; every chunk must carry it.
            chunks: The chunks of the source's current text. Not mutated.

        Raises:
            ValueError: a chunk belongs to another source, or two chunks share an id.
        """
        new_ids = [c.id for c in chunks]
        if len(set(new_ids)) != len(new_ids):
            raise ValueError(f"duplicate chunk ids for source {source!r}")
        if any(c.source != source for c in chunks):
            raise ValueError(f"every chunk must belong to source {source!r}")
        old_ids = self.ids(source)
        todo = [c for c in chunks if c.id not in old_ids]
        if todo:
            vectors = self.embeddings.embed_documents([c.embed_text for c in todo])
            self._collection.upsert(ids=[c.id for c in todo], embeddings=vectors, documents=[c.text for c in todo],
                                    metadatas=[c.metadata() for c in todo])
        stale = sorted(old_ids - set(new_ids))
        if stale:
            self._collection.delete(ids=stale)
        return UpsertReport(source=source, added=len(todo), unchanged=len(chunks) - len(todo), removed=len(stale))

    def delete_source(self, source: str) -> int:
        """Delete every chunk of ``source``. Returns how many were deleted (0: none stored)."""
        ids = sorted(self.ids(source))
        self.delete(ids)
        return len(ids)

    def delete(self, ids: list[str]) -> None:
        """Delete chunks by id; ids that are not stored are ignored."""
        if ids:
            self._collection.delete(ids=list(ids))

    def all_chunks(self) -> list[StoredChunk]:
        """Every stored chunk (score 0.0), in source and ordinal order; for lexical (BM25) indexing."""
        got = self._collection.get(include=["documents", "metadatas"])
        chunks = [
            StoredChunk(id=i, source=str(m["source"]), ordinal=int(m["ordinal"]), start=int(m["start"]),
                        end=int(m["end"]), text=d, score=0.0, context=str(m.get("context") or ""))
            for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]
        return sorted(chunks, key=lambda c: (c.source, c.ordinal))

    def similarities(self, query: str, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of ``query`` to each stored chunk in ``ids`` (missing ids are left out)."""
        return self._retrying(self._similarities, query, ids) if ids else {}

    def _similarities(self, query: str, ids: list[str]) -> dict[str, float]:
        import numpy as np

        got = self._collection.get(ids=list(ids), include=["embeddings"])
        q = np.asarray(self.embeddings.embed_query(query), dtype=float)
        q /= max(float(np.linalg.norm(q)), 1e-12)
        out = {}
        for i, e in zip(got["ids"], got["embeddings"]):
            v = np.asarray(e, dtype=float)
            out[i] = float(q @ v / max(float(np.linalg.norm(v)), 1e-12))
        return out

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

    def search(self, query: str, k: int) -> list[StoredChunk]:
        """The ``k`` chunks most similar to ``query``, most similar first.

        If the query fails because another process changed the index, the store is reopened
        (:meth:`reopen`) and the query is tried once more.

        Returns:
            Up to ``k`` chunks with cosine similarity scores (fewer when the store holds fewer).
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
        if self.count() == 0:
            return []
        hits = self._vectorstore.similarity_search_with_score(query, k=k)
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
        ]
