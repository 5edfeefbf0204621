"""Source texts against which citation offsets are checked.

The index stores each chunk's source *name* (the file name), not the file, so evaluation needs the
documents themselves: the bundled article is always known, other files are given with ``--source``.
They are read with :func:`index.loader.load_document`, exactly as the indexer read them, so that
offsets mean the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class SourceTexts:
    """Full texts of source documents by source name.

    Args:
        texts: Mapping of source name (file name) to its full text.
    """

    def __init__(self, texts: dict[str, str] | None = None):
        self._texts = dict(texts or {})

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
        """The full text of ``source``, or None when it is not known."""
        return self._texts.get(source)

    def names(self) -> list[str]:
        """Known source names, sorted."""
        return sorted(self._texts)
