"""String matching used by the metrics: evidence spans in passages, key facts in answers."""

from __future__ import annotations

import re

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Curly quotes and apostrophes to straight ones, runs of white space to one space, stripped.

    This is the comparison rule of ``docs/question-format.md`` for evidence spans.
    """
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip()


def contains_evidence(passage_text: str, evidence: list[str]) -> bool:
    """True when the passage contains at least one evidence span (after :func:`normalize`, case kept)."""
    hay = normalize(passage_text)
    return any(normalize(e) in hay for e in evidence if e.strip())


def key_fact_found(answer: str, fact: str) -> bool:
    """True when one ``|``-separated alternative of ``fact`` occurs in ``answer``.

    Matching is case-insensitive (``str.casefold``) after :func:`normalize` of both sides.
    """
    hay = normalize(answer).casefold()
    return any(normalize(alt).casefold() in hay for alt in fact.split("|") if alt.strip())


def missing_key_facts(answer: str, facts: list[str]) -> list[str]:
    """The entries of ``facts`` that :func:`key_fact_found` does not find in ``answer``."""
    return [f for f in facts if not key_fact_found(answer, f)]
