"""Sentence splitting with offsets and the word normalisation the verifier relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass

# the word helpers live in index.lexical (index may not import assistant); re-exported here
from index.lexical import STOPWORDS, normalize_quotes, stem, words  # noqa: F401

_ABBREVIATIONS = ("Gen", "Sen", "Lt", "Col", "Maj", "Capt", "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "No", "vs", "etc")
# A sentence ends at . ! or ? (possibly followed by closing quotes/brackets) followed by white space,
# unless the period closes a known abbreviation or a single capital initial (U.S., "A. Smith").
_SENT_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+|\n+"
)
_ABBREV_TAIL = re.compile(r"(?:\b(?:" + "|".join(_ABBREVIATIONS) + r")|\b[A-Z]|\.[A-Za-z])\.$")

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


def is_number(word: str) -> bool:
    """True for digit tokens such as ``2021``, ``16``, ``1,000`` or ``3.5``."""
    return bool(_NUMBER.match(word))


def canonical_number(word: str) -> str:
    """``1,000`` -> ``1000``; trailing separators dropped."""
    return word.replace(",", "").rstrip(".")
