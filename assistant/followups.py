"""Follow-up questions: when a question needs the conversation, and how it becomes standalone.

A follow-up is rewritten into a standalone question before retrieval (``Assistant.condense``).
Three kinds are told apart here, without a model call:

- an **elliptical** follow-up ("And the SAC?", "What about Mishustin?", "And besides Putin?",
  "And when?") reuses the frame of the previous question: :func:`ellipsis_rewrite` substitutes the
  fragment into it (Dalrymple, Shieber & Pereira, "Ellipsis and higher-order unification",
  Linguistics and Philosophy 1991, describe the fragment as filling the slot of its parallel
  element; here the parallel element is found from the parse: the wh-phrase for a wh-fragment, the
  copula's subject or the verb's object for a noun phrase, and none, so the fragment is appended,
  for a prepositional phrase);
- a follow-up with a pronoun, or a short one naming nothing (:func:`depends_on_conversation`), is
  rewritten by the model, and the rewrite is used only when :func:`usable_rewrite` accepts it;
- any other question, small talk included, is used as asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from assistant.textutil import STOPWORDS, stem, words


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation (for follow-up rewriting)."""

    question: str
    answer: str


class _HasQuestion(Protocol):
    question: str
    answer: str


_PRONOUN = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|these|those)\b", re.I)

#: "And X?", "What about X?", "How about X?", "And what about X?" (X without a verb).
_ELLIPSIS = re.compile(r"^\s*(?:and|but|also|so|ok(?:ay)?|then)?[\s,]*(?:(?:what|how)\s+about\s+)?(?P<x>.+?)\s*[?.!]*\s*$",
                       re.I)
_ELLIPSIS_OPENER = re.compile(r"^\s*(?:and|but|also|so|ok(?:ay)?|then|what about|how about)\b", re.I)
_WH = frozenset("who whom whose what which when where why how".split())
_AUX = frozenset("is are was were do does did has have had can could will would should may might must".split())


def depends_on_conversation(question: str) -> bool:
    """True for a follow-up that needs the conversation: a pronoun, or a short question naming nothing."""
    if _PRONOUN.search(question):
        return True
    tokens = question.split()
    names = [t for t in tokens[1:] if t[:1].isupper() or any(ch.isdigit() for ch in t)]
    return len(tokens) <= 4 and not names


def usable_rewrite(question: str, rewrite: str, turns: list[_HasQuestion]) -> bool:
    """A model rewrite is used only when it is one question that keeps every content word of the
    follow-up and adds only words from the conversation (small models often return the previous
    question, answer instead, or invent a topic)."""
    if not rewrite.endswith("?") or rewrite.count("?") != 1 or len(rewrite) > 3 * len(question) + 200:
        return False
    norm = lambda t: re.sub(r"\W+", " ", t).strip().lower()  # noqa: E731
    if norm(rewrite) == norm(question) or any(norm(rewrite) == norm(t.question) for t in turns):
        return False
    content = lambda t: {stem(w) for w in words(t) if w.lower() not in STOPWORDS}  # noqa: E731
    conversation = set().union(*(content(t.question) | content(t.answer) for t in turns))
    kept = content(question) - {stem(w) for w in ("he", "she", "they", "it", "him", "them")}
    return kept <= content(rewrite) and content(rewrite) <= content(question) | conversation


def ellipsis_rewrite(question: str, previous: str) -> str | None:
    """The standalone form of an elliptical follow-up, built from the previous question, or None.

    The follow-up must open with "and", "what about", "how about" (or "but", "also", "so", "ok",
    "then") and its fragment must hold no verb and no pronoun. The fragment then fills the slot of
    its parallel element in ``previous``:

    - a wh-fragment ("And when?", "And in which year?") replaces the previous wh-phrase (the
      wh-word, with its noun phrase after "which"/"what"): "Which project did Russia agree to
      restart?" + "And in which year?" -> "In which year did Russia agree to restart?";
    - a prepositional fragment ("And besides Putin?", "And in 2023?") is appended to the previous
      question ("Who will he meet besides Putin?");
    - a noun phrase ("And the SAC?") replaces the previous question's subject of a copula ("What is
      Rosatom?" -> "What is the SAC?"), the subject of a yes/no question ("Did Russia recognize
      the coup?" + "What about China?" -> "Did China recognize the coup?") or the main verb's
      object, else the last noun phrase.

    Args:
        question: The follow-up as asked.
        previous: The previous question of the conversation.

    Returns:
        The rewritten question (ending in "?"), or None when the follow-up is not elliptical or the
        previous question offers no slot.
    """
    if not _ELLIPSIS_OPENER.match(question) or not previous.strip():
        return None
    m = _ELLIPSIS.match(question)
    fragment = (m.group("x") if m else "").strip(" ,")
    if not fragment or len(fragment.split()) > 8 or _PRONOUN.search(fragment):
        return None
    from assistant.nlp import parse

    frag = parse(fragment)
    if any(t.pos_ in ("VERB", "AUX") for t in frag) or frag[0].text.lower() in ("is", "are", "was", "were", "do", "does", "did"):
        return None
    prev = parse(previous.strip().rstrip("?.! "))
    # the previous question's wh-word: first, or after a preposition ("In what month did ...")
    k = 1 if len(prev) > 1 and prev[0].pos_ == "ADP" and prev[1].text.lower() in _WH else 0
    if len(prev) == 0 or prev[k].text.lower() not in _WH | _AUX:
        return None
    base = prev.text
    first = frag[0]
    if first.text.lower() in _WH or (first.pos_ == "ADP" and len(frag) > 1 and frag[1].text.lower() in _WH):
        if prev[k].text.lower() not in _WH:
            return None  # "Did Russia sign it?" + "And when?": no wh-phrase to replace
        # wh-fragment: replace the previous wh-phrase (the wh-word and, after which/what, its noun phrase)
        end = k + 1
        if prev[k].text.lower() in ("which", "what", "whose") and len(prev) > k + 1 \
                and prev[k + 1].pos_ in ("NOUN", "PROPN", "ADJ"):
            end = next((t.i for t in prev[k + 1:] if t.pos_ not in ("NOUN", "PROPN", "ADJ", "COMPOUND")), len(prev))
        rest = prev[end:].text
        return _finish(f"{fragment} {rest}")
    if first.pos_ == "ADP" or first.text.lower() in ("besides", "except", "apart", "other"):
        return _finish(f"{base} {fragment}")
    slot = _noun_slot(prev)
    if slot is None:
        return None
    start, end = slot
    frag_head = next((t for t in frag if t.dep_ == "ROOT"), frag[-1])
    slot_head = next((t for t in prev[start:end] if t.head.i < start or t.head.i >= end or t.head == t), prev[end - 1])
    if frag_head.ent_type_ == "PERSON" and slot_head.pos_ != "PROPN":
        # a person does not fill a thing's slot ("When did he overthrow the government?" + "What about
        # Kan Zaw?" is a new topic, not "When did he overthrow Kan Zaw?"): searched as asked
        return None
    return _finish(f"{prev[:start].text} {fragment} {prev[end:].text}")


def _noun_slot(doc) -> tuple[int, int] | None:  # noqa: ANN001 - a spaCy Doc
    """Token span [start, end) of the noun phrase a fragment replaces (see :func:`ellipsis_rewrite`)."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    wh = {t.i for t in doc if t.text.lower() in _WH}
    candidates = []
    if root is not None and doc[0].text.lower() in _AUX:
        # a yes/no question: the fragment is a new subject ("Did Russia recognize it?" + "What about China?")
        deps = ("nsubj", "nsubjpass")
    elif root is not None:
        deps = ("nsubj", "attr") if root.lemma_ == "be" else ("dobj", "obj", "nsubjpass", "attr")
    if root is not None:
        candidates = [c for c in root.children if c.dep_ in deps and c.i not in wh and c.pos_ in ("NOUN", "PROPN")]
    if candidates:
        head = candidates[-1]
        span = list(head.subtree)
        return span[0].i, span[-1].i + 1
    chunks = [c for c in doc.noun_chunks if not any(t.i in wh for t in c) and c.root.pos_ != "PRON"]
    if not chunks:
        return None
    return chunks[-1].start, chunks[-1].end


def _finish(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,")
    text = re.sub(r"\s+([,.;:'’])", r"\1", text).replace(" 's", "'s").replace(" ’s", "’s")
    return text[:1].upper() + text[1:] + "?"
