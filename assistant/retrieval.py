"""Hybrid retrieval: dense (MiniLM cosine in Chroma) and lexical (BM25) rankings fused by RRF.

Dense retrieval misses exact tokens a small embedding model does not represent well (acronyms such
as "SAC", rare names); BM25 catches them. The scoring is Okapi BM25's (k1 = 1.5, b = 0.75) with the
idf of BM25+ (Lv & Zhai, CIKM 2011), ``log((N + 1) / df)``, via ``rank_bm25.BM25Plus`` with its
lower bound ``delta`` = 0. That idf is positive for every term, so a query term scores in a corpus of
one or two chunks too (Okapi's ``log((N - df + 0.5) / (df + 0.5))`` is 0 or negative there), and
with ``delta`` = 0 a chunk without any query term scores exactly 0. (``rank_bm25.BM25L`` 0.2.2 has a
non-negative idf too, but multiplies by the term frequency once more (no saturation:
a repeated term keeps adding); on the dev set it lowered MRR@4 from 0.798 to 0.783, BM25Plus(delta=0) kept 0.798.)
The two rankings are fused with Reciprocal Rank Fusion, ``score(d) = sum_r 1 / (60 + rank_r(d))``
(Cormack, Clarke & Buettcher, SIGIR 2009; k = 60 as in the paper and LangChain's EnsembleRetriever).

Near-duplicate passages (a footer or disclaimer shared by several files) are collapsed: going down
the fused ranking, a passage that is a near-duplicate of one already taken is dropped, so the best
ranked copy is kept and the k slots go to distinct text (see :func:`near_duplicates`).
"""

from __future__ import annotations

import threading

from assistant.models import Passage
from assistant.textutil import STOPWORDS, stem, words
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


def lexical_terms(text: str) -> list[str]:
    """BM25 terms: lower-cased Snowball stems of the non-stop words."""
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS]


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
        store: An ``index.store.ChunkStore`` (anything with ``search``, ``all_chunks``,
            ``similarities`` and ``count``).
    """

    def __init__(self, store) -> None:  # noqa: ANN001
        self.store = store
        self._lock = threading.Lock()
        self._bm25 = None
        self._chunks: list = []
        self._key: frozenset[str] | None = None

    def _lexical_index(self):  # noqa: ANN202
        from rank_bm25 import BM25Plus

        with self._lock:
            ids = frozenset(self.store.ids())
            if ids != self._key:  # (re)build when the store changed
                if self._key is not None:
                    self.store.reopen()  # the vector index may have been changed by another process
                self._chunks = self.store.all_chunks()
                # a chunk with no visible text (stored by an older version) is never a passage
                self._chunks = [c for c in self._chunks if has_visible_text(c.text)]
                corpus = [lexical_terms(f"{c.context}\n{c.text}") or ["\u2205"] for c in self._chunks]
                self._bm25 = BM25Plus(corpus, delta=0.0) if corpus else None
                self._key = ids
            return self._bm25, self._chunks

    def search(self, query: str, k: int) -> list[Passage]:
        """The k best passages, numbered from 1 in fused order.

        Returns:
            Up to k passages, no two of them near-duplicates (:func:`near_duplicates`); ``score`` is the
            cosine similarity, ``lexical_score`` the BM25 score (0.0: no query term in the passage).
        """
        if self.store.count() == 0:
            return []
        n = max(20, CANDIDATE_FACTOR * k)
        bm25, chunks = self._lexical_index()  # first: it reopens the store after an outside change
        dense = [c for c in self.store.search(query, k=n) if has_visible_text(c.text)]
        terms = lexical_terms(query)
        lexical_scores = bm25.get_scores(terms) if (bm25 is not None and terms) else [0.0] * len(chunks)
        lexical = sorted(
            ((float(s), c) for s, c in zip(lexical_scores, chunks) if s > 0), key=lambda t: -t[0]
        )[:n]
        fused: dict[str, float] = {}
        for rank, c in enumerate(dense, start=1):
            fused[c.id] = fused.get(c.id, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (_, c) in enumerate(lexical, start=1):
            fused[c.id] = fused.get(c.id, 0.0) + 1.0 / (RRF_K + rank)
        by_id = {c.id: c for c in chunks}
        by_id.update({c.id: c for c in dense})
        cosine = {c.id: c.score for c in dense}
        lex = {c.id: s for s, c in lexical}
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
        missing = [i for i in top if i not in cosine]
        cosine.update(self.store.similarities(query, missing))
        return [
            Passage(passage_id=n, chunk_id=i, source=by_id[i].source, start=by_id[i].start, end=by_id[i].end,
                    score=round(cosine.get(i, 0.0), 4), lexical_score=round(lex.get(i, 0.0), 4), text=by_id[i].text,
                    context=getattr(by_id[i], "context", ""))
            for n, i in enumerate(top, start=1)
        ]
