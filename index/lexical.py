"""Lexical analysis shared by the write path (the FTS5 lexical index) and the read path (queries).

A text's lexical terms are the lower-cased Snowball (Porter 2) stems of its words that are not stop
words (:func:`lexical_terms`). Chunks are indexed by these terms, space-joined, and queries are
analysed the same way, so both sides of a match always agree. The word and stop-word helpers live
here (and are re-exported by ``assistant.textutil``) because ``index`` may not import ``assistant``.
"""

from __future__ import annotations

import re
import threading

#: NLTK's English stop-word list (nltk.corpus.stopwords, 179 words), plus question words and a few
#: reporting verbs' auxiliaries, which carry no checkable content.
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves
    he him his himself she she's her hers herself it it's its itself they them their theirs themselves what
    which who whom this that that'll these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about against between
    into through during before after above below to from up down in out on off over under again further
    then once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don don't should should've now d ll m o re ve y ain
    aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't
    ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't
    won't wouldn wouldn't also would could may might must shall according said says say""".split()
)


_WORD = re.compile(r"[^\W_](?:[\w'’.]*[^\W_])?")

def normalize_quotes(text: str) -> str:
    """Curly quotes and apostrophes to straight ones; dashes to hyphens."""
    return (
        text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
        .replace("–", "-").replace("—", "-")
    )


def words(text: str) -> list[str]:
    """Word tokens of ``text`` as written (case kept), possessive ``'s`` removed, edge dots trimmed."""
    out = []
    for w in _WORD.findall(normalize_quotes(text)):
        w = w.rstrip(".")
        if w.lower().endswith("'s"):
            w = w[:-2]
        if w:
            out.append(w)
    return out


_local = threading.local()


def _stemmer():  # noqa: ANN202
    """This thread's Snowball stemmer (a stemmer object is not thread-safe)."""
    s = getattr(_local, "stemmer", None)
    if s is None:
        import snowballstemmer

        s = _local.stemmer = snowballstemmer.stemmer("english")
    return s


def stem(word: str) -> str:
    """Snowball (Porter 2) English stem of a lower-cased word."""
    return _stemmer().stemWord(word.lower())



def lexical_terms(text: str) -> list[str]:
    """BM25 terms: lower-cased Snowball stems of the non-stop words, in text order (repeats kept)."""
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS]
