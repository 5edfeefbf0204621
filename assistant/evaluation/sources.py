"""Source texts against which citation offsets are checked.

Offsets index the text the indexer extracted from each document, which it stores beside the chunks
(:class:`index.library.DocumentLibrary`); :meth:`SourceTexts.with_stored` reads it from there, for
every format. Files given with ``--source`` (and the bundled article) are read with
:func:`index.loader.load_document`, exactly as the indexer reads them, and win over stored texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class SourceTexts:
    """Full texts of source documents by source name.

    Args:
        texts: Mapping of source name (file name) to its full text.
    """

    def __init__(self, texts: dict[str, str] | None = None, library=None):  # noqa: ANN001
        self._texts = dict(texts or {})
        self._library = library

    def with_stored(self, documents_dir: str | Path) -> SourceTexts:
        """These texts, falling back to the extracted texts stored by the indexer in ``documents_dir``
        (``Settings.documents_dir``) for any other source id."""
        from index.library import DocumentLibrary

        return SourceTexts(self._texts, DocumentLibrary(documents_dir))

    @classmethod
    def from_files(cls, paths: Iterable[str | Path] = (), include_bundled: bool = True) -> SourceTexts:
        """Load documents as the indexer does.

        Args:
            paths: UTF-8 text files; each is known by its file name.
            include_bundled: Also load :func:`assistant.settings.bundled_corpus`.

        Raises:
            index.errors.DocumentError: a file is missing, empty, binary or not UTF-8.
        """
        from assistant.settings import bundled_corpus
        from index.loader import load_document

        files = ([bundled_corpus()] if include_bundled else []) + [Path(p) for p in paths]
        return cls({d.source: d.text for d in map(load_document, files)})

    def get(self, source: str) -> str | None:
        """The full text of ``source`` (given, else stored by the indexer), or None when it is not known."""
        if source in self._texts or self._library is None:
            return self._texts.get(source)
        return self._library.text(source)

    def names(self) -> list[str]:
        """Known source ids (given and stored), sorted."""
        stored = [r.source for r in self._library.records()] if self._library is not None else []
        return sorted(set(self._texts) | set(stored))
