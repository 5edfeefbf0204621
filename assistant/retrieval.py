"""Hybrid retrieval: dense (MiniLM cosine in Chroma) and lexical (BM25) rankings fused by RRF.

Dense retrieval misses exact tokens a small embedding model does not represent well (acronyms such
as "SAC", rare names); BM25 (Robertson & Zaragoza 2009, via ``rank_bm25.BM25Okapi``) catches them.
The two rankings are fused with Reciprocal Rank Fusion, ``score(d) = sum_r 1 / (60 + rank_r(d))``
(Cormack, Clarke & Buettcher, SIGIR 2009; k = 60 as in the paper and LangChain's EnsembleRetriever).
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


def lexical_terms(text: str) -> list[str]:
    """BM25 terms: lower-cased Snowball stems of the non-stop words."""
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS]


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
        from rank_bm25 import BM25Okapi

        with self._lock:
            ids = frozenset(self.store.ids())
            if ids != self._key:  # (re)build when the store changed
                if self._key is not None:
                    self.store.reopen()  # the vector index may have been changed by another process
                self._chunks = self.store.all_chunks()
                # a chunk with no visible text (stored by an older version) is never a passage
                self._chunks = [c for c in self._chunks if has_visible_text(c.text)]
                corpus = [lexical_terms(f"{c.context}\n{c.text}") or ["\u2205"] for c in self._chunks]
                self._bm25 = BM25Okapi(corpus) if corpus else None
                self._key = ids
            return self._bm25, self._chunks

    def search(self, query: str, k: int) -> list[Passage]:
        """The k best passages, numbered from 1 in fused order.

        Returns:
            Up to k passages; ``score`` is the cosine similarity, ``lexical_score`` the BM25 score.
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
        top = sorted(fused, key=lambda i: (-fused[i], -cosine.get(i, -1.0)))[:k]
        missing = [i for i in top if i not in cosine]
        cosine.update(self.store.similarities(query, missing))
        return [
            Passage(passage_id=n, chunk_id=i, source=by_id[i].source, start=by_id[i].start, end=by_id[i].end,
                    score=round(cosine.get(i, 0.0), 4), lexical_score=round(lex.get(i, 0.0), 4), text=by_id[i].text,
                    context=getattr(by_id[i], "context", ""))
            for n, i in enumerate(top, start=1)
        ]
