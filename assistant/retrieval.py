"""Hybrid retrieval: dense (MiniLM cosine in Chroma) and lexical (BM25) rankings fused by RRF.

Dense retrieval misses exact tokens a small embedding model does not represent well (acronyms such
as "SAC", rare names); BM25 catches them. The lexical ranking is SQLite FTS5's ``bm25()``
(https://www.sqlite.org/fts5.html#the_bm25_function) over the persistent lexical index the write
path keeps in step with the vector store (:mod:`index.manifest`): Okapi BM25,
``sum_t idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))`` with k1 = 1.2 and b = 0.75
(fixed by FTS5) and ``idf(t) = log((N - df + 0.5) / (df + 0.5))``, floored at 1e-6 for a term in
more than half of the chunks, so every chunk holding a query term scores above 0 and a chunk
without any scores 0 (it is not a candidate). Terms on both sides are the Snowball stems of the
non-stop words (:func:`index.lexical.lexical_terms`), of the chunk's context and text. Only the
best-scored candidates are read (``LIMIT``); no corpus is held in memory.
The two rankings are fused with Reciprocal Rank Fusion, ``score(d) = sum_r 1 / (60 + rank_r(d))``
(Cormack, Clarke & Buettcher, SIGIR 2009; k = 60 as in the paper and LangChain's EnsembleRetriever).

Near-duplicate passages (a footer or disclaimer shared by several files) are collapsed: going down
the fused ranking, a passage that is a near-duplicate of one already taken is dropped, so the best
ranked copy is kept and the k slots go to distinct text (see :func:`near_duplicates`).
"""

from __future__ import annotations

import threading

from assistant.models import Passage
from assistant.textutil import words
from index.lexical import lexical_terms  # noqa: F401 - part of this module's interface
from index.loader import has_visible_text

#: RRF constant from Cormack et al. (2009).
RRF_K = 60
#: Candidates taken from each ranking before fusion, as a multiple of k (at least 20).
CANDIDATE_FACTOR = 4
#: Word shingle length and the resemblance (Jaccard) at or above which two passages are near-duplicates:
#: 4-word shingles and 0.9, the example of Manning, Raghavan & Schuetze, *Introduction to Information
#: Retrieval* (2008), section 19.6 "Near-duplicates and shingling".
SHINGLE_WORDS = 4
NEAR_DUPLICATE_JACCARD = 0.9


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """The set of ``size``-word shingles of ``text``, lower-cased (case, spacing and punctuation ignored).

    A text shorter than ``size`` words is one shingle (all its words).
    """
    w = [x.lower() for x in words(text)]
    return frozenset(tuple(w[i:i + size]) for i in range(max(1, len(w) - size + 1)))


def resemblance(a: frozenset, b: frozenset) -> float:
    """Jaccard coefficient ``|a & b| / |a | b|`` of two shingle sets, in [0, 1] (1.0 for two empty sets)."""
    return len(a & b) / len(a | b) if (a or b) else 1.0


def near_duplicates(a: str, b: str) -> bool:
    """Whether two passages are near-duplicates: resemblance of their word shingles >= ``NEAR_DUPLICATE_JACCARD``.

    Text that differs only in case, spacing or punctuation is a near-duplicate. One changed word
    changes up to 4 shingles, so short passages that differ in one fact ("14 days" / "30 days") are
    not; passages of more than about 80 words that differ in a single word are.
    """
    return resemblance(shingles(a), shingles(b)) >= NEAR_DUPLICATE_JACCARD


class HybridRetriever:
    """Top-k passages by RRF over dense and BM25 rankings.

    Example:
        >>> retriever = HybridRetriever(store)
        >>> [p.passage_id for p in retriever.search("What does SAC stand for?", k=3)]
        [1, 2, 3]

    Args:
        store: An ``index.store.ChunkStore`` (anything with ``search``, ``lexical_search``,
            ``chunks``, ``generation``, ``reopen`` and ``count``).
    """

    def __init__(self, store) -> None:  # noqa: ANN001
        self.store = store
        self._lock = threading.Lock()
        self._generation: int | None = None

    def _follow_changes(self) -> None:
        """Reopen the store when its generation moved since the last query (another process or
        store object changed it: Chroma's cached vector index may be stale)."""
        with self._lock:
            generation = self.store.generation()
            if self._generation is not None and generation != self._generation:
                self.store.reopen()
            self._generation = generation

    def search(self, query: str, k: int) -> list[Passage]:
        """The k best passages, numbered from 1 in fused order.

        Returns:
            Up to k passages, no two of them near-duplicates (:func:`near_duplicates`); ``score`` is the
            cosine similarity, ``lexical_score`` the BM25 score (0.0: no query term in the passage).
        """
        self._follow_changes()  # first: it reopens the store after an outside change
        if self.store.count() == 0:
            return []
        n = max(20, CANDIDATE_FACTOR * k)
        dense = [c for c in self.store.search(query, k=n) if has_visible_text(c.text)]
        lexical = self.store.lexical_search(lexical_terms(query), n)
        fused: dict[str, float] = {}
        for rank, c in enumerate(dense, start=1):
            fused[c.id] = fused.get(c.id, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (i, _) in enumerate(lexical, start=1):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        by_id = {c.id: c for c in dense}
        # lexical-only candidates: text and cosine to the query in one read (the cosine is only
        # reported; ties in the fused order are still broken by the dense ranking's cosine alone)
        lexical_only = self.store.chunks([i for i, _ in lexical if i not in by_id], query=query)
        by_id.update({c.id: c for c in lexical_only})
        fused = {i: f for i, f in fused.items() if i in by_id}  # a chunk removed meanwhile is skipped
        cosine = {c.id: c.score for c in dense}
        lex = dict(lexical)
        top: list[str] = []
        taken: list[frozenset] = []
        for i in sorted(fused, key=lambda i: (-fused[i], -cosine.get(i, -1.0))):
            sh = shingles(by_id[i].text)
            if any(resemblance(sh, t) >= NEAR_DUPLICATE_JACCARD for t in taken):
                continue  # a copy of a better-ranked passage
            top.append(i)
            taken.append(sh)
            if len(top) == k:
                break
        cosine.update({c.id: c.score for c in lexical_only})
        return [
            Passage(passage_id=n, chunk_id=i, source=by_id[i].source, start=by_id[i].start, end=by_id[i].end,
                    score=round(cosine.get(i, 0.0), 4), lexical_score=_significant(lex.get(i, 0.0)),
                    text=by_id[i].text, context=getattr(by_id[i], "context", ""))
            for n, i in enumerate(top, start=1)
        ]


def _significant(score: float) -> float:
    """``score`` to 4 significant digits: a floored-idf BM25 score (about 1e-6) stays above 0."""
    return float(f"{score:.4g}")
