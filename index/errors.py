"""Errors of the write path. Each message says what to do next."""


class IndexingError(Exception):
    """Base class of every error the index package raises on purpose."""


class DocumentError(IndexingError):
    """A document given to the indexer cannot be indexed (missing, empty, binary or not UTF-8).

    Raised before anything is written, so the store is left as it was.
    """


class EmbeddingMismatchError(IndexingError):
    """The store was built with a different embedding model than the one configured."""


class ModelNotFoundError(IndexingError):
    """A model file that must be installed by the install step is missing."""
