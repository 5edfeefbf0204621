"""Word similarity from the embedding model, for paraphrases the lexical checks cannot see.

"lauded" for "praised", "companies" for "firms", "begun" for "started" share no stem; their
all-MiniLM-L6-v2 embeddings (each word embedded alone) have cosine similarity 0.68-0.87, while
one-detail changes small models make score low ("completed" vs "suspended" 0.20, "submarines" vs
"helicopters" 0.39, "strengthened" vs "praised" 0.37), measured on this machine.
:data:`WORD_SIMILARITY` sits between the two groups.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

#: Least cosine similarity of two single-word embeddings for one word to stand for the other.
WORD_SIMILARITY = 0.58


class WordSimilarity:
    """Cached single-word embeddings and a synonym test.

    Args:
        embeddings: A LangChain ``Embeddings`` (``embed_documents``).
        threshold: See :data:`WORD_SIMILARITY`.
    """

    def __init__(self, embeddings: Any, threshold: float = WORD_SIMILARITY):
        self.embeddings = embeddings
        self.threshold = threshold
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors(self, ws: list[str]) -> list[np.ndarray]:
        with self._lock:
            todo = [w for w in dict.fromkeys(ws) if w not in self._cache]
        if todo:
            vecs = np.asarray(self.embeddings.embed_documents(todo), dtype=float)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            with self._lock:
                if len(self._cache) > 50000:
                    self._cache.clear()
                self._cache.update(zip(todo, vecs / norms))
        with self._lock:
            return [self._cache[w] for w in ws]

    def best(self, word: str, candidates: list[str]) -> float:
        """Highest cosine similarity of ``word`` with any of ``candidates`` (-1.0 when none)."""
        if not candidates:
            return -1.0
        vecs = self._vectors([word.lower()] + [c.lower() for c in candidates])
        return float(max(vecs[0] @ v for v in vecs[1:]))

    def similar(self, word: str, candidates: list[str]) -> bool:
        """True when some candidate is at least :attr:`threshold` similar to ``word``."""
        return self.best(word, candidates) >= self.threshold
