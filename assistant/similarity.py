"""Word similarity from the embedding model, for paraphrases the lexical checks cannot see.

"lauded" for "praised", "companies" for "firms", "begun" for "started" share no stem; their
all-MiniLM-L6-v2 embeddings (each word embedded alone) have cosine similarity 0.68-0.87, while
one-detail changes small models make score low ("completed" vs "suspended" 0.20, "submarines" vs
"helicopters" 0.39, "strengthened" vs "praised" 0.37), measured on this machine.
:data:`WORD_SIMILARITY` sits between the two groups.

Similarity is not meaning: co-hyponyms and converses score as high as synonyms ("tomorrow" /
"yesterday" 0.73, "buyer" / "seller" 0.83, "sold" / "bought" 0.77). So words of the kinds that carry
a checkable detail (:data:`STRICT_WORDS`, names, numbers) are never matched by similarity, and two
kinds of paraphrase the embeddings miss are matched by form instead: a verb and its nominalisation
(:func:`derived`: "withdraw" / "withdrawal", "decide" / "decision") and a phrasal verb and its
one-word equivalent (:data:`PHRASAL`: "pull out" / "withdraw").
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
        """True when some candidate is at least :attr:`threshold` similar to ``word``; always False
        for a word of a strict kind (:func:`substitutable`): a name, a number, a time, an amount,
        a direction or a role is never matched by a synonym."""
        if not substitutable(word):
            return False
        return self.best(word, [c for c in candidates if substitutable(c)]) >= self.threshold

#: Words that name a *detail* rather than say what happens: times and dates, amounts, directions,
#: and roles of people. Their embeddings sit close to their rivals' ("tomorrow"/"yesterday" 0.73,
#: "weekly"/"monthly" 0.69, "thousands"/"millions" 0.89, "north"/"south" 0.67, "mayor"/"governor"
#: 0.65, measured as above), so swapping one is a one-detail falsehood, never a paraphrase: they
#: must occur as written (by stem). Names and numbers are held strict by the verifier itself.
STRICT_WORDS = frozenset(
    # time
    "today tomorrow yesterday tonight morning afternoon evening night day days week weeks weekly month months "
    "monthly year years yearly annual annually daily hourly decade decades century centuries season spring "
    "summer autumn winter weekend past future last next previous recent recently early earlier late later "
    "soon ago before after"
    # amounts
    " dozen dozens hundred hundreds thousand thousands million millions billion billions trillion half quarter "
    "double triple twice thrice once majority minority most few several many"
    # directions
    " north south east west northern southern eastern western northeast northwest southeast southwest "
    "upper lower inbound outbound import imports export exports"
    # roles of people
    " minister ministers official officials officer president presidents leader leaders chief head "
    "speaker chairman chairwoman director ceo founder king queen prince princess prime premier governor "
    "mayor senator senators lawmaker lawmakers ambassador envoy diplomat spokesman spokeswoman spokesperson "
    "secretary commander deputy vice judge prosecutor lawyer buyer seller buyers sellers owner tenant landlord "
    "employer employee husband wife son daughter father mother brother sister".split())


def substitutable(word: str) -> bool:
    """True when ``word`` may be matched by a synonym: not a number, a name (capitalised) or one of
    :data:`STRICT_WORDS`."""
    return bool(word) and not word[:1].isupper() and not any(ch.isdigit() for ch in word) \
        and word.lower() not in STRICT_WORDS


#: Nominalising suffixes of English (Quirk et al., "A Comprehensive Grammar of the English
#: Language", 1985, App. I.32-38): withdraw-al, agree-ment, converg-ence, fail-ure, grow-th,
#: deliver-y, construct-ion, build-ing.
_NOMINAL_SUFFIXES = ("ations", "ation", "itions", "ition", "ions", "ion", "ments", "ment", "ances", "ance", "ences",
                     "ence", "als", "al", "ures", "ure", "ings", "ing", "ies", "y", "th", "ed", "es", "s")
#: Stem-final alternations between a verb and its -ion noun: decide/decision, invade/invasion,
#: describe/description, receive/reception, produce/production, permit/permission.
_ALTERNATIONS = (("ipt", "ib"), ("pt", "v"), ("uct", "uc"), ("ss", "t"), ("s", "d"), ("s", "t"))


def _roots(word: str) -> set[str]:
    w = word.lower()
    out = {w}
    for suffix in _NOMINAL_SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            out.add(w[:-len(suffix)])
    out |= {r[:-1] for r in out if r.endswith("e") and len(r) > 3}
    for a, b in _ALTERNATIONS:
        out |= {r[:-len(a)] + b for r in list(out) if r.endswith(a) and len(r) - len(a) >= 3}
    return {r for r in out if len(r) >= 3}


def derived(a: str, b: str) -> bool:
    """True when one word derives from the other by an inflection or a nominalising suffix
    ("withdraw"/"withdrawal", "agreed"/"agreement", "decide"/"decision", "pay"/"payment")."""
    return bool(_roots(a) & _roots(b))


#: Phrasal verbs and change-of-state phrases with their one-word equivalents (frequent English
#: phrasal verbs, after the PHaVE list of Garnier & Schmitt, Language Teaching Research 2015),
#: keyed by (verb lemma, particle or comparative). "Firms pulled out" says "firms withdrew".
PHRASAL = {
    ("pull", "out"): ("withdraw", "leave", "exit"), ("back", "out"): ("withdraw",), ("set", "up"): ("establish", "found", "create"),
    ("carry", "out"): ("conduct", "perform", "execute"), ("call", "off"): ("cancel",), ("put", "off"): ("postpone", "delay"),
    ("take", "over"): ("acquire", "seize", "control"), ("step", "down"): ("resign",), ("turn", "down"): ("reject", "decline", "refuse"),
    ("give", "up"): ("abandon", "surrender"), ("find", "out"): ("discover", "learn"), ("look", "into"): ("investigate", "examine"),
    ("point", "out"): ("note", "observe"), ("bring", "about"): ("cause",), ("put", "forward"): ("propose",),
    ("hand", "over"): ("transfer",), ("shut", "down"): ("close",), ("cut", "back"): ("reduce",), ("cut", "down"): ("reduce",),
    ("go", "up"): ("rise", "increase"), ("go", "down"): ("fall", "decrease"), ("back", "up"): ("support",),
    ("sign", "up"): ("register", "enrol"), ("leave", "out"): ("omit",), ("wipe", "out"): ("destroy",),
    ("build", "up"): ("strengthen",), ("draw", "up"): ("draft",), ("roll", "out"): ("launch",), ("team", "up"): ("cooperate",),
    ("come", "back"): ("return",), ("go", "back"): ("return",), ("get", "back"): ("return",), ("set", "off"): ("depart",),
    ("grow", "closer"): ("converge",), ("draw", "closer"): ("converge",), ("move", "closer"): ("converge",),
    ("come", "closer"): ("converge",), ("drift", "apart"): ("diverge",), ("grow", "apart"): ("diverge",),
    ("grow", "stronger"): ("strengthen",), ("grow", "weaker"): ("weaken",), ("grow", "worse"): ("worsen",),
}


def phrasal_part(tok):  # noqa: ANN001, ANN201 - a spaCy verb token -> its particle token or None
    """The particle or comparative of the phrasal verb ``tok`` heads (:data:`PHRASAL`): a child of the
    verb, or one of the next three words before any punctuation ("grown closer strategically",
    where the small parser may hang "closer" on the adverb), or None."""
    lemma = tok.lemma_.lower()
    near = []
    for t in tok.doc[tok.i + 1:tok.i + 4]:
        if t.is_punct:
            break
        near.append(t)
    for t in [*tok.children, *near]:
        if (lemma, t.text.lower()) in PHRASAL and t.i > tok.i:
            return t
    return None


def phrasal_equivalents(tok) -> tuple[str, ...]:  # noqa: ANN001 - a spaCy verb token
    """One-word equivalents of a verb with its particle or comparative complement (:data:`PHRASAL`),
    or () for a verb that is not part of such a phrase."""
    part = phrasal_part(tok)
    return PHRASAL[(tok.lemma_.lower(), part.text.lower())] if part is not None else ()


_SHARED: dict[int, WordSimilarity] = {}


def for_embeddings(embeddings: Any) -> WordSimilarity | None:
    """One :class:`WordSimilarity` per embedding model (its cache shared by all callers), or None."""
    if embeddings is None:
        return None
    if id(embeddings) not in _SHARED:
        _SHARED[id(embeddings)] = WordSimilarity(embeddings)
    return _SHARED[id(embeddings)]
