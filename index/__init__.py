"""The write path: load -> chunk -> embed -> store.

Public surface: :func:`load_document`, :class:`TokenChunker`, :func:`build_embeddings`,
:class:`ChunkStore`, :func:`index_documents` and the errors in :mod:`index.errors`.
Nothing heavy is imported here; each module imports its libraries when used.
"""

from index.errors import DocumentError, EmbeddingMismatchError, IndexingError, ModelNotFoundError

__all__ = ["DocumentError", "EmbeddingMismatchError", "IndexingError", "ModelNotFoundError"]
