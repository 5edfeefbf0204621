"""The write path: load -> chunk -> embed -> store.

Public surface: :func:`load_document` (:mod:`index.formats`), :func:`index.discover.discover`,
:class:`TokenChunker`, :func:`build_embeddings`, :class:`index.library.DocumentLibrary`,
:class:`ChunkStore`, :func:`index.pipeline.index_files`, :func:`index_documents` (:func:`load_documents`, :func:`chunk_documents`,
:func:`write_chunks`), :mod:`index.tables` and the errors in :mod:`index.errors`.
Nothing heavy is imported here; each module imports its libraries when used.
"""

from index.errors import (
    ChunkingError,
    DocumentError,
    EmbeddingMismatchError,
    EmptyDocumentError,
    IndexingError,
    ModelNotFoundError,
)

__all__ = ["ChunkingError", "DocumentError", "EmbeddingMismatchError", "EmptyDocumentError", "IndexingError",
           "ModelNotFoundError"]
