"""Errors of the write path. Each message says what to do next."""


class IndexingError(Exception):
    """Base class of every error the index package raises on purpose."""


class DocumentError(IndexingError):
    """A document given to the indexer cannot be indexed (missing, empty, binary or not UTF-8).

    Raised before anything is written, so the store is left as it was.
    """


class EmptyDocumentError(DocumentError):
    """A document has no visible text (empty, or only white space and invisible format characters).

    ``assistant index`` skips such a file with a warning naming it (``--strict``: fails the batch).
    """


class ChunkingError(IndexingError):
    """The chunks of a document do not cover it in order (a chunker bug); nothing is written."""


class EmbeddingMismatchError(IndexingError):
    """The store was built with a different embedding model than the one configured."""


class ModelNotFoundError(IndexingError):
    """A model file that must be installed by the install step is missing."""
