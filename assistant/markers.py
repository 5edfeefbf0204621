"""Citation markers in model replies: every common form that names passage numbers, parsed once.

Models cite the numbered passages of the prompt in many ways. The forms recognised are

- square brackets: ``[1]``, ``[1, 2]``, ``[1 and 2]``, ``[1][2]``, ``[Passage 1]``, ``[Source 2]``;
- footnotes (Markdown): ``[^1]``;
- ranges, expanded: ``[1-3]``, ``[1–3]`` (en dash), ``[1—3]``, ``[1 to 3]`` are passages 1, 2 and 3;
- CJK lenticular brackets: ``【1】``;
- parentheses: ``(1)``, ``(1, 2)``, ``(Passage 2)`` -- only at the end of a sentence, after a word,
  and naming retrieved passages only. A parenthesised number anywhere else is text: a list item
  ("(1) items must be unused"), a year ("(2022)"), a number out of range ("(7)" of 4 passages).

A marker that is the document's own text is not a citation: when the word before it and the marker
occur together in a retrieved passage ("as reported [3]", a quoted footnote), the model copied them,
and they stay in the sentence as words. Bracketed markers naming passages that were not retrieved are
removed from the text and reported as dropped, so they are never shown as links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Longest range expanded (``[1-20]``); a wider one (``[1-2022]``) is read as its two end numbers.
MAX_RANGE = 20

_LABEL = r"(?:(?:passages?|sources?|docs?|documents?|refs?|references?)\s*#?\s*)?"
_ITEM = rf"{_LABEL}\d+(?:\s*(?:[-–—]|to)\s*\d+)?"
_LIST = rf"{_ITEM}(?:\s*(?:,|;|and|&)\s*{_ITEM})*"
_BRACKETED = re.compile(rf"\[\s*\^?\s*({_LIST})\s*\]|【\s*({_LIST})\s*】", re.I)
_PARENTHESISED = re.compile(rf"\(\s*({_LIST})\s*\)", re.I)
#: What may follow a parenthesised citation in its sentence: more markers, closing punctuation.
_SENTENCE_TAIL = re.compile(rf"^(?:\s*(?:{_BRACKETED.pattern}|{_PARENTHESISED.pattern}))*\s*[.!?;:]*[\"'”’)\]]*\s*$", re.I)
#: Markers opening a sentence (moved to the sentence before by the verifier's splitter).
LEADING_MARKERS = re.compile(rf"^(?:\s*(?:{_BRACKETED.pattern}))+", re.I)


@dataclass(frozen=True)
class Markers:
    """The citation markers of one sentence.

    Attributes:
        text: The sentence without its citation markers (white space before punctuation closed up).
        cited: Numbers of retrieved passages it cites, in order of first mention.
        dropped: Numbers in bracketed markers that name no retrieved passage (removed from ``text``).
    """

    text: str
    cited: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for m in re.finditer(r"(\d+)(?:\s*(?:[-–—]|to)\s*(\d+))?", group):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if lo <= hi <= lo + MAX_RANGE:
            out.extend(range(lo, hi + 1))
        else:
            out.extend((lo, hi))
    return list(dict.fromkeys(out))


def _copied(sentence: str, start: int, end: int, sources: Iterable[str]) -> bool:
    """True when the word before the marker and the marker occur together in a source text."""
    before = re.search(r"(\S+)\s*$", sentence[:start])
    if before is None:
        return False
    pattern = re.compile(re.escape(before.group(1)) + r"\s*" + re.escape(sentence[start:end]))
    return any(pattern.search(s) for s in sources)


def parse_markers(sentence: str, passage_ids: Iterable[int], sources: Iterable[str] = ()) -> Markers:
    """The citation markers of one answer sentence (see the module description for the forms).

    Args:
        sentence: One sentence of model output.
        passage_ids: Numbers of the retrieved passages (those the prompt showed).
        sources: Texts of the retrieved passages, to tell a document's own bracketed numbers from
            citations (optional).

    Returns:
        The sentence without markers, the passages it cites and the out-of-range numbers dropped.
    """
    valid = set(passage_ids)
    sources = list(sources)
    spans: list[tuple[int, int]] = []
    cited: list[int] = []
    dropped: list[int] = []
    for m in _BRACKETED.finditer(sentence):
        if _copied(sentence, m.start(), m.end(), sources):
            continue
        spans.append(m.span())
        for n in _numbers(m.group(1) or m.group(2)):
            (cited if n in valid else dropped).append(n)
    for m in _PARENTHESISED.finditer(sentence):
        nums = _numbers(m.group(1))
        after_word = re.search(r"[\w\"'”’%\]】)]\s*$", sentence[:m.start()]) is not None
        if (not nums or not set(nums) <= valid or not after_word or not _SENTENCE_TAIL.match(sentence[m.end():])
                or _copied(sentence, m.start(), m.end(), sources)):
            continue  # text: a list item, a year, a number of the document
        spans.append(m.span())
        cited.extend(nums)
    text = sentence
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return Markers(text, list(dict.fromkeys(cited)), list(dict.fromkeys(dropped)))
