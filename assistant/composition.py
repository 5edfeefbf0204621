"""The composition root: the one place that builds the store, the model and the assistant.

Nothing here runs at import time; each function builds on call.
"""

from __future__ import annotations

from assistant.prompting import load_prompt
from assistant.service import Assistant
from assistant.settings import Settings


def build_store(settings: Settings):  # noqa: ANN201 - index.store.ChunkStore
    """The chunk store configured by ``settings``.

    Raises:
        index.ModelNotFoundError: the embedding model's files are not installed.
        index.EmbeddingMismatchError: the store was built with another embedding model.
        index.errors.StoreError: the store cannot be opened (damaged, or its ``chroma_url`` server is down).
    """
    from index.embeddings import build_embeddings
    from index.offline import stay_offline
    from index.store import ChunkStore

    stay_offline()
    return ChunkStore(settings.persist_dir, build_embeddings(settings.embedding_backend), settings.collection,
                      chroma_url=settings.chroma_url)


def build_library(settings: Settings):  # noqa: ANN201 - index.library.DocumentLibrary
    """The manifest and stored texts of the indexed documents, in ``settings.documents_dir``."""
    from index.library import DocumentLibrary

    return DocumentLibrary(settings.documents_dir)


def build_chunker(settings: Settings, embeddings=None):  # noqa: ANN001, ANN201 - index.chunking.TokenChunker
    """The token chunker with the configured sizes, bounded by the embedding model's input limit.

    Args:
        settings: All settings.
        embeddings: The store's embedding backend (default: built from ``embedding_backend``); when it
            has ``count_tokens`` and ``max_input_tokens``, no chunk exceeds what it reads.
    """
    from index.chunking import TokenChunker
    from index.embeddings import build_embeddings

    emb = embeddings if embeddings is not None else build_embeddings(settings.embedding_backend)
    return TokenChunker(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
                        input_tokens=getattr(emb, "count_tokens", None),
                        max_input_tokens=getattr(emb, "max_input_tokens", None))


def build_assistant(settings: Settings, store=None, llm=None) -> Assistant:  # noqa: ANN001
    """Build the assistant.

    Args:
        settings: All settings.
        store: A ready store (default: :func:`build_store`).
        llm: A ready chat model (default: :func:`assistant.llm.build_llm`, loaded on first question).

    Raises:
        index.ModelNotFoundError, index.EmbeddingMismatchError: see :func:`build_store`.
        assistant.llm.ModelUnavailableError: the configured GGUF file does not exist.
        assistant.prompting.PromptNotFoundError: ``prompt_name`` names no template.
    """
    from assistant.llm import build_llm, check_model_file, model_label
    from assistant.retrieval import HybridRetriever
    from assistant.verifier import GroundingVerifier

    if llm is None and settings.llm_backend == "llamacpp":
        check_model_file(settings)  # fail at start, not at the first question
    store = store if store is not None else build_store(settings)

    return Assistant(
        settings=settings,
        search=HybridRetriever(store).search,
        llm_factory=(lambda: llm) if llm is not None else (lambda: build_llm(settings)),
        answer_prompt=load_prompt(settings.prompt_name),
        condense_prompt=load_prompt("condense"),
        verifier=GroundingVerifier(embeddings=getattr(store, "embeddings", None)),
        model_name=model_label(settings) if llm is None else type(llm).__name__,
        embeddings=getattr(store, "embeddings", None),
        page_of=build_library(settings).page_at,
    )


def ensure_indexed(settings: Settings, store=None) -> bool:  # noqa: ANN001
    """Index the bundled article when the store is empty, wherever it is (evaluation and tests).

    Commands that answer users call :func:`require_index` instead, which does this only for the
    default location.

    Returns:
        True when it indexed (the store was empty), False when the store already held chunks.
    """
    from assistant.settings import bundled_corpus
    from index.discover import discover
    from index.pipeline import index_files

    store = store if store is not None else build_store(settings)
    if store.count() > 0:
        return False
    found, _ = discover([bundled_corpus()], root=bundled_corpus().parent)
    index_files(found, store, build_chunker(settings, getattr(store, "embeddings", None)), build_library(settings))
    return True


def is_default_location(settings: Settings) -> bool:
    """Whether ``settings`` name the default index: the default ``data_dir`` and ``collection``."""
    fields = Settings.model_fields
    return (settings.collection == fields["collection"].default
            and settings.data_dir.resolve() == fields["data_dir"].default.resolve())


def require_index(settings: Settings, store=None) -> bool:  # noqa: ANN001
    """The index check of ``ask``, ``serve`` and ``ui``: an empty index is filled only at the default location.

    At the default location (:func:`is_default_location`) an empty index gets the bundled article,
    so that a first run answers something. Anywhere else an empty index means a mistyped
    ``--data-dir`` or collection name, or a missing ``assistant index`` run; answering from the
    bundled article there would silently serve the wrong documents.

    Returns:
        True when the bundled article was indexed now, False when the index already held chunks.

    Raises:
        index.errors.EmptyIndexError: the index is empty and not at the default location; the
            message names the data dir, the collection and the command to run.
    """
    store = store if store is not None else build_store(settings)
    if store.count() > 0:
        return False
    if not is_default_location(settings):
        raise _empty_index_error(settings)
    return ensure_indexed(settings, store)


def require_index_directory(settings: Settings) -> None:
    """The check of :func:`require_index` that needs no store, made before one is opened (which
    creates its directory): an embedded index outside the default location whose directory does
    not exist is empty, and a mistyped ``--data-dir`` must not be created.

    Raises:
        index.errors.EmptyIndexError: as :func:`require_index`; nothing is created.
    """
    if not settings.chroma_url and not is_default_location(settings) and not settings.persist_dir.exists():
        raise _empty_index_error(settings)


def _empty_index_error(settings: Settings):  # noqa: ANN202 - index.errors.EmptyIndexError
    from index.errors import EmptyIndexError

    env = "" if settings.collection == Settings.model_fields["collection"].default else \
        f"ASSISTANT_COLLECTION={settings.collection} "
    return EmptyIndexError(
        f"no documents are indexed in data dir {str(settings.data_dir)!r}, collection {settings.collection!r}. "
        f"Check --data-dir and the collection name for a typo, or index your documents first: "
        f"`{env}assistant index FILE ... --data-dir {settings.data_dir}` (without FILE it indexes the bundled "
        "article)."
    )


def describe_sources(store, limit: int = 20) -> str:  # noqa: ANN001 - index.store.ChunkStore
    """One line naming the indexed sources and their chunk counts, as ``serve`` and ``ui`` print at start.

    Example: ``"2 sources, 10 chunks: a.txt (7 chunks), b.txt (3 chunks)"``.

    Args:
        store: The chunk store.
        limit: Most source names listed; the rest are counted ("and 3 more").
    """
    counts = store.source_counts()
    names = [f"{s} ({n} chunk{'s' if n != 1 else ''})" for s, n in list(counts.items())[:limit]]
    more = f", and {len(counts) - limit} more" if len(counts) > limit else ""
    total = sum(counts.values())
    return f"{len(counts)} source{'s' if len(counts) != 1 else ''}, {total} chunks: {', '.join(names)}{more}"
