"""Sentence splitting with offsets and the word normalisation the verifier relies on."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

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

_ABBREVIATIONS = ("Gen", "Sen", "Lt", "Col", "Maj", "Capt", "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "No", "vs", "etc")
# A sentence ends at . ! or ? (possibly followed by closing quotes/brackets) followed by white space,
# unless the period closes a known abbreviation or a single capital initial (U.S., "A. Smith").
_SENT_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+|\n+"
)
_ABBREV_TAIL = re.compile(r"(?:\b(?:" + "|".join(_ABBREVIATIONS) + r")|\b[A-Z]|\.[A-Za-z])\.$")

_WORD = re.compile(r"[^\W_](?:[\w'’.]*[^\W_])?")
_NUMBER = re.compile(r"^\d[\d,.]*$")


@dataclass(frozen=True)
class Span:
    """A piece of a text with its offsets: ``text == whole[start:end]``."""

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Span]:
    """Split text into sentences, keeping exact offsets.

    Splits after ``.``, ``!`` or ``?`` followed by white space (closing quotes stay with their
    sentence) and at line breaks; does not split after common title abbreviations (``Gen.``,
    ``Dr.``) or single initials (``U.S.``).

    Returns:
        Non-empty spans, stripped of surrounding white space, in order.
    """
    spans: list[Span] = []
    start = 0
    for m in _SENT_END.finditer(text):
        candidate = text[start:m.start()].rstrip()
        if "\n" not in m.group(0):
            # keep closing quote characters that the pattern consumed with the sentence
            consumed = m.group(0).rstrip()
            candidate_with_close = text[start:m.start() + len(consumed)].rstrip()
            if _ABBREV_TAIL.search(text[start:m.start()].rstrip()):
                continue
            candidate = candidate_with_close
        _append(spans, text, start, start + len(candidate) if candidate else start)
        start = m.end()
    _append(spans, text, start, len(text))
    return spans


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip()
    if piece:
        spans.append(Span(start + lead, start + lead + len(piece), piece))


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


def is_number(word: str) -> bool:
    """True for digit tokens such as ``2021``, ``16``, ``1,000`` or ``3.5``."""
    return bool(_NUMBER.match(word))


def canonical_number(word: str) -> str:
    """``1,000`` -> ``1000``; trailing separators dropped."""
    return word.replace(",", "").rstrip(".")
