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


class StoreError(IndexingError):
    """The chunk store cannot be read or written (damaged or truncated database, disk full).

    The message names the store's directory and what to run (``assistant index --rebuild`` for a
    damaged store); a failed write leaves the previously indexed version of every document served.
    """


class EmptyIndexError(IndexingError):
    """The configured index holds no documents and is not the default location.

    Only the default location (default ``data_dir`` and ``collection``) is filled with the bundled
    article automatically; anywhere else an empty index means a wrong path or name, or a missing
    ``assistant index`` run, and answering from it would be silently wrong.
    """
