"""The grounding verifier: nothing reaches the user that the retrieved passages do not support.

It is deterministic (no model), so its decisions are reproducible and testable. Given the model's raw
answer and the numbered passages the prompt showed it:

1. **Citations.** Citation markers (``[n]``, ``[1, 2]``, ``[Passage 1]``, ``[^1]``, ``[1-2]``,
   ``【1】``, a final ``(1)``...) are parsed per sentence by :func:`assistant.markers.parse_markers`;
   a marker naming a passage that was not retrieved is dropped, and a document's own bracketed
   number copied with its text stays text.
2. **Sentence support.** Each answer sentence is compared with every *support window* of every
   passage: one passage sentence, or two adjacent ones (so a pronoun's antecedent may sit in the
   previous sentence). A window supports the sentence when

   - every **number** of the sentence (``2021``, ``16``) occurs in the window, and
   - every **name** (a capitalised word that is not a stop word) occurs in the window,
     case-insensitively, and
   - every word of a **strict kind** (a time, an amount, a direction or a role of a person:
     :data:`assistant.similarity.STRICT_WORDS`, "weekly", "thousands", "southern", "mayor")
     occurs in the window by stem: such a word is a detail, swapping it is never a paraphrase, and
   - at least :data:`MIN_CONTENT_COVERAGE` of the sentence's **content words** (non-stop words,
     compared by Snowball stem) occur in the window, and at most :data:`MAX_UNSUPPORTED_WORDS`
     of them do not. A content word counts as found when the window holds its derivation
     ("withdrawal" for "withdraw"), the derivation of its phrasal verb's one-word equivalent
     ("withdrawal" for "pulled out") or, with embeddings, a synonym (:mod:`assistant.similarity`).
   A capitalised first word counts as a name only when the parse makes it a noun or an entity
   ("Although ..." is not a name; the small parser tags unknown names opening a sentence as nouns).

   A sentence that names the same multi-word name twice ("X is expected to meet with X") is
   degenerate and removed. Cited passages are tried first; a sentence unsupported by the passage it cites but supported
   by another retrieved passage is re-cited to that passage; a sentence with no citation gets
   the best supporting passage's citation. The citation's ``quote`` is the supporting window's
   exact source text.
3. **Clause trimming.** A sentence no window supports is cut back to its longest supported
   leading part that ends at a clause boundary (``, which``, ``, but``, ``; `` ...), so that
   "He praised Putin for his vision and leadership, which he saw as a way to strengthen the
   economy" keeps its supported main clause. Only the model's own words are kept, never
   rearranged. A sentence with no supported leading clause is removed, with its reason.
4. **Answer-level checks.** The kept sentences must address the question: at least one content
   word of the question (by stem) appears in the kept sentences (topical relevance), and a
   question asking for a quantity (how many, how much, price, cost, population, percentage...)
   must be answered with a number, from evidence that names the attribute asked for (a
   "population" question is not answered by a date), and a "when" question with a date or time word (expected
   answer type, after the NUM class of Li & Roth, "Learning Question Classifiers", COLING 2002).
   Relevance is judged on the question's *focus terms* (see :meth:`GroundingVerifier.answer_check`). Sentences in which the model itself says it
   cannot answer are not claims and are removed.
5. **Abstention.** If no sentence survives, or an answer-level check fails, the answer is the fixed
   :data:`assistant.models.ABSTENTION_TEXT` with no citations.

The thresholds are set from the development set and the crafted cases in ``tests/test_verifier.py``.
The verifier is lexical: it catches invented names, numbers and unsupported wording (the failure
modes of small models), not a paraphrase that flips meaning with the same words; the claim-level
checks (:mod:`assistant.claimcheck`, which states what they can and cannot catch, with measured
rates) catch one-detail changes of a true sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.markers import LEADING_MARKERS, parse_markers
from assistant.models import Citation, Passage, RemovedSentence
from assistant.textutil import (
    STOPWORDS,
    canonical_number,
    is_number,
    normalize_quotes,
    split_sentences,
    stem,
    words,
)
from index.tables import TableRow, row_in_table, row_sentence

#: Share of an answer sentence's content words that must occur (by stem) in the supporting window.
#: 0.75 lets through light paraphrase ("invited" ~ "invitation") and one connecting word, and stops
#: sentences that add claims in their own words. Chosen on the crafted cases and the dev set.
MIN_CONTENT_COVERAGE = 0.75
#: Content words of one answer sentence allowed to be absent from its supporting window. One
#: allows a connective paraphrase ("expected" for "slated"); two let invented qualifiers through
#: ("the *former* head ... invited by a *senior* *official*"), as seen with SmolLM2 on the dev set.
MAX_UNSUPPORTED_WORDS = 1
#: Where a sentence may be cut back to its leading clause (step 3).
_CLAUSE_BOUNDARY = re.compile(
    r",\s+(?=(?:which|who|whom|whose|while|whereas|but|and|as|because|since|although|though|so|"
    r"making|adding|including|with|in order|a move|an? )\b)|;\s+|\s+(?=(?:because|but|while|whereas|although)\b)|\s+[-–—]\s+",
    re.I,
)

_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion dozen half".split()
)
_QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|old|far|big|large)|price|cost|population|percent(age)?|number of|amount|what year|"
    r"how often|size of|total)\b",
    re.I,
)
#: Measured attributes: a number answers "what is the price" only if the evidence is about a price.
_ATTRIBUTE = re.compile(
    r"\b(price|cost|population|percentage|percent|budget|salary|revenue|income|value|worth|weight|height|"
    r"length|area|size|age|speed|temperature|distance)\b",
    re.I,
)
_TIME_QUESTION = re.compile(r"^\s*when\b|\bwhat (year|date|month|day|time)\b|\bhow long ago\b", re.I)
_TIME_WORDS = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday today tomorrow yesterday week weeks month months year years "
    "ago since last next recently century decade".split()
)
_SELF_ABSTENTION = re.compile(
    r"\b(do(es)? not (contain|mention|say|provide|specify|include|state)|not (mentioned|provided|specified|stated|"
    r"available|given)|no (information|mention)|(cannot|can't|can not|unable to) (answer|determine|find|tell)|"
    r"i don't know|i do not know|there is no)\b",
    re.I,
)


@dataclass(frozen=True)
class SentenceVerdict:
    """The verifier's decision on one answer sentence.

    Attributes:
        text: The sentence without citation markers.
        supported: True when some window of some retrieved passage supports it.
        citations: The supporting citation (one) when supported, else empty.
        reason: Why it was removed (empty when supported).
        dropped_markers: Citation numbers that named no retrieved passage.
        trimmed: True when only a leading clause of the sentence is supported (``text`` is that
            clause); the sentence as written is then not supported as a whole.
    """

    text: str
    supported: bool
    citations: list[Citation] = field(default_factory=list)
    reason: str = ""
    dropped_markers: list[int] = field(default_factory=list)
    trimmed: bool = False


@dataclass(frozen=True)
class Verification:
    """The verifier's decision on a whole answer.

    Attributes:
        sentences: Kept sentences (without markers), in order.
        citations: Their citations (``sentence_index`` points into ``sentences``).
        removed: Removed sentences with reasons.
        abstained: True when the answer must be the fixed abstention.
        abstention_reason: Why (``None`` when not abstained).
    """

    sentences: list[str]
    citations: list[Citation]
    removed: list[RemovedSentence]
    abstained: bool
    abstention_reason: str | None = None

    def render(self) -> str:
        """The user-facing answer text: each sentence followed by its ``[n]`` markers."""
        from assistant.models import ABSTENTION_TEXT

        if self.abstained:
            return ABSTENTION_TEXT
        return " ".join(self.marked(i) for i in range(len(self.sentences)))

    def marked(self, i: int) -> str:
        """Kept sentence ``i`` followed by the ``[n]`` markers of its citations."""
        return with_markers(self.sentences[i], sorted({c.passage_id for c in self.citations if c.sentence_index == i}))


_NAME_RUN = re.compile(r"\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)+")


def _repeated_name(text: str) -> str | None:
    """A multi-word name said twice in one sentence ("X is expected to meet with X"), else None.

    Small models fill the slot they cannot answer with the subject again; the sentence then passes
    word-overlap checks while saying nothing true.
    """
    seen: set[str] = set()
    for m in _NAME_RUN.finditer(text):
        name = re.sub(r"['’]s$", "", m.group(0))
        if name in seen:
            return name
        seen.add(name)
    return None


def _repeats(verdict: SentenceVerdict, kept: list[str], citations: list[Citation]) -> bool:
    """True when a sentence restates a kept one: same supporting span, at most one new content word."""
    new = _claim(verdict.text).content
    span = {(c.passage_id, c.start, c.end) for c in verdict.citations}
    for i, text in enumerate(kept):
        same_span = span & {(c.passage_id, c.start, c.end) for c in citations if c.sentence_index == i}
        if same_span and len(new - _claim(text).content) <= 1:
            return True
    return False


def with_markers(sentence: str, ids: list[int]) -> str:
    if not ids:
        return sentence
    marks = "".join(f"[{i}]" for i in ids)
    m = re.search(r"[.!?]+[\"'”’)]*$", sentence)
    if m:
        return f"{sentence[:m.start()]} {marks}{sentence[m.start():]}"
    return f"{sentence} {marks}"


@dataclass(frozen=True)
class _Claim:
    numbers: frozenset[str]
    names: frozenset[str]
    content: frozenset[str]  # stems
    strict: frozenset[str] = frozenset()  # stems of words of a strict kind (assistant.similarity.STRICT_WORDS)


def _claim(text: str) -> _Claim:
    from assistant.similarity import STRICT_WORDS

    numbers, names, content = set(), set(), set()
    for i, w in enumerate(words(text)):
        low = w.lower()
        if is_number(w):
            numbers.add(canonical_number(w))
            continue
        if low in STOPWORDS:
            continue
        if w[0].isupper() and (i > 0 or _proper_first(text)):
            names.add(low)
        content.add(stem(low))
    strict = frozenset(stem(w.lower()) for w in words(text) if w.lower() in STRICT_WORDS and w.lower() not in STOPWORDS)
    return _Claim(frozenset(numbers), frozenset(names), frozenset(content), strict)


def _proper_first(text: str) -> bool:
    """False when the capitalised first word of ``text`` is a function word, adverb, adjective or
    verb in the spaCy parse ("Although ...", "Crucial ..."), capitalised by its position only. A noun
    stays a possible name: the small parser tags unknown names at the start of a sentence as nouns."""
    from assistant.nlp import parse

    tok = next((t for t in parse(text) if t.is_alpha), None)
    return tok is None or bool(tok.ent_type_) or tok.pos_ in ("NOUN", "PROPN", "X")


@dataclass(frozen=True)
class _Window:
    start: int  # offset within passage.text
    end: int
    lower_words: frozenset[str]
    stems: frozenset[str]
    numbers: frozenset[str]
    reading: str = ""  # the text compared with the claim (table rows read with their head)
    rows: tuple[TableRow, ...] = ()  # the table rows of the window, with their heads


@lru_cache(maxsize=512)
def _windows(text: str, context: str = "") -> tuple[_Window, ...]:
    """Support windows of a passage text (one sentence, or two adjacent ones), with their words.

    A table row is read with its table's head (:func:`index.tables.row_sentence`), found above it in
    the passage or in the passage's ``context``. Cached by text and context: every answer sentence,
    clause-trim attempt and streamed sentence of an answer is checked against the same few passages.
    """
    sents = split_sentences(text)
    rows = [row_in_table(text, s.start, context) for s in sents]
    readings = [row_sentence(r) if r else s.text for r, s in zip(rows, sents)]
    spans = [(s.start, s.end, readings[i], rows[i:i + 1]) for i, s in enumerate(sents)]
    spans += [(a.start, b.end, f"{readings[i]} {readings[i + 1]}" if rows[i] or rows[i + 1] else text[a.start:b.end],
               rows[i:i + 2]) for i, (a, b) in enumerate(zip(sents, sents[1:]))]
    out = []
    for start, end, reading, window_rows in spans:
        ws = words(reading)
        out.append(
            _Window(
                start=start,
                end=end,
                lower_words=frozenset(w.lower() for w in ws),
                stems=frozenset(stem(w) for w in ws if not is_number(w)),
                numbers=frozenset(canonical_number(w) for w in ws if is_number(w)),
                reading=reading,
                rows=tuple(r for r in window_rows if r is not None),
            )
        )
    return tuple(out)


_CELL_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _column_conflict(claim: str, rows: tuple[TableRow, ...]) -> str | None:
    """A value the claim takes from a table row under another column than the one it names, or None.

    When the claim names a column header of the table ("in 2023", "costs"), every number it takes
    from a row must stand under a header it names: "1,500 in 2022" is rejected when 1,500 is the
    2023 value. A claim naming no header is not checked here (the row's words still have to
    support it).
    """
    numbers = lambda text: {canonical_number(n) for n in _CELL_NUMBER.findall(text)}  # noqa: E731
    said_numbers = numbers(claim)
    said_stems = {stem(w) for w in words(claim)}

    def named(header: str) -> bool:
        ws = [w for w in words(re.sub(_CELL_NUMBER, " ", header)) if w.lower() not in STOPWORDS]
        return bool(numbers(header) or ws) and numbers(header) <= said_numbers and all(stem(w) in said_stems for w in ws)

    for row in rows:
        labels = [h for h in row.header[1:] if named(h)]
        if not labels:
            continue
        columns: dict[str, list[str]] = {}
        for header, cell in zip(row.header[1:], row.row[1:]):
            if numbers(cell) & (said_numbers - set().union(*map(numbers, labels))):
                columns.setdefault(cell, []).append(header)
        for cell, headers in columns.items():
            if not set(headers) & set(labels):
                return (f"column: {cell} stands under {' / '.join(map(repr, headers))} in the table, "
                        f"not under {' / '.join(map(repr, labels))}")
    return None


def _coverage(claim: _Claim, win: _Window) -> tuple[float, int] | None:
    """(share of content stems found, number not found), or None when a number or a name is missing."""
    if not claim.numbers <= win.numbers:
        return None
    if not claim.names <= win.lower_words:
        return None
    if not claim.strict <= win.stems:
        return None  # a time, amount, direction or role word is a detail, not a paraphrase
    if not claim.content:
        return 1.0, 0
    found = len(claim.content & win.stems)
    return found / len(claim.content), len(claim.content) - found


def _missing(claim: _Claim, windows: list[_Window]) -> str:
    """Explain why no window supports the claim (for the removed-sentence reason)."""
    all_words = frozenset().union(*(w.lower_words for w in windows)) if windows else frozenset()
    all_numbers = frozenset().union(*(w.numbers for w in windows)) if windows else frozenset()
    miss_num = sorted(claim.numbers - all_numbers)
    miss_names = sorted(claim.names - all_words)
    if miss_num:
        return "number not in any retrieved passage: " + ", ".join(miss_num)
    if miss_names:
        return "name not in any retrieved passage: " + ", ".join(miss_names)
    all_stems = frozenset().union(*(w.stems for w in windows)) if windows else frozenset()
    miss_strict = sorted(claim.strict - all_stems)
    if miss_strict:
        return "a time, amount, direction or role not in any retrieved passage: " + ", ".join(miss_strict)
    return "content not supported by any single passage sentence"


class GroundingVerifier:
    """Check a model's answer against the passages it was shown.

    Example:
        >>> v = GroundingVerifier()
        >>> result = v.verify("Who invited him?", "Putin invited him [1].", passages)
        >>> result.render()
        'Putin invited him [1].'

    Args:
        min_content_coverage: See :data:`MIN_CONTENT_COVERAGE`.
        max_unsupported_words: See :data:`MAX_UNSUPPORTED_WORDS`.
        embeddings: Optional LangChain ``Embeddings``: content words missing from a window may then be
            matched by a synonym (:mod:`assistant.similarity`), and the claim checks use it for verbs.
    """

    def __init__(self, min_content_coverage: float = MIN_CONTENT_COVERAGE,
                 max_unsupported_words: int = MAX_UNSUPPORTED_WORDS, embeddings: object | None = None):
        if not 0.0 < min_content_coverage <= 1.0:
            raise ValueError(f"min_content_coverage must be in (0, 1], got {min_content_coverage}")
        if max_unsupported_words < 0:
            raise ValueError(f"max_unsupported_words must be >= 0, got {max_unsupported_words}")
        self.min_content_coverage = min_content_coverage
        self.max_unsupported_words = max_unsupported_words
        self.similarity = None
        if embeddings is not None:
            from assistant.similarity import WordSimilarity

            self.similarity = WordSimilarity(embeddings)

    def split_answer(self, raw: str) -> list[str]:
        """Split raw model output into sentences, keeping each sentence's trailing ``[n]`` markers.

        A marker that opens a sentence (``Putin invited him. [1] He ...``) is moved to the sentence
        before it, where the model meant it.
        """
        out: list[str] = []
        for span in split_sentences(raw.strip()):
            text = span.text
            m = LEADING_MARKERS.match(text)
            if m and out:
                out[-1] = out[-1] + " " + m.group(0).strip()
                text = text[m.end():].strip()
            if text:
                out.append(text)
        return out

    def verify_sentence(self, sentence: str, passages: list[Passage], index: int = 0) -> SentenceVerdict:
        """Decide on one answer sentence (step 2 of the module description).

        Args:
            sentence: One sentence of model output, possibly with ``[n]`` markers.
            passages: The retrieved passages, numbered as in the prompt.
            index: The sentence's index in the kept answer, written into its citation.

        Returns:
            The verdict, with the supporting citation when supported.
        """
        by_id = {p.passage_id: p for p in passages}
        markers = parse_markers(sentence, by_id, (p.text for p in passages))
        text, cited, dropped = markers.text, markers.cited, markers.dropped
        if not words(text):
            return SentenceVerdict(text, False, reason="no content", dropped_markers=dropped)
        if _SELF_ABSTENTION.search(normalize_quotes(text)):
            return SentenceVerdict(text, False, reason="the model said it cannot answer", dropped_markers=dropped)
        if text.rstrip(" \"'”’)").endswith("?") or re.match(r"^\s*(question|answer|passage)\s*:", text, re.I):
            return SentenceVerdict(text, False, reason="a question or the prompt echoed, not an answer",
                                   dropped_markers=dropped)
        if not _has_verb(text):
            return SentenceVerdict(text, False, reason="not a sentence (no verb): it states nothing",
                                   dropped_markers=dropped)
        repeated = _repeated_name(text)
        if repeated:
            return SentenceVerdict(text, False, reason=f"degenerate: the name {repeated!r} stands on both sides of the claim",
                                   dropped_markers=dropped)
        ordered = [by_id[i] for i in dict.fromkeys(cited)] + [p for p in passages if p.passage_id not in cited]
        verdict = self._support(text, ordered, index, dropped)
        if verdict.supported:
            return verdict
        for cut in reversed([m.start() for m in _CLAUSE_BOUNDARY.finditer(text)]):
            head = text[:cut].rstrip(" ,;:-–—")
            if len(words(head)) < 3:
                continue
            trimmed = self._support(head + ".", ordered, index, dropped)
            if trimmed.supported:
                return SentenceVerdict(trimmed.text, True, trimmed.citations, verdict.reason, dropped, trimmed=True)
        return verdict

    def _support(self, text: str, ordered: list[Passage], index: int, dropped: list[int]) -> SentenceVerdict:
        """Step 2 for one (marker-free) sentence against passages in the order to try them.

        A window that passes the lexical test must also pass the claim-level checks of
        :func:`assistant.claimcheck.conflict` (bound numbers and dates, name spelling, quantifiers,
        content verbs, polarity, tense, roles, attachment). A name absent from the window may be
        found earlier in the same passage when the window holds a pronoun that can refer to it.
        """
        from assistant.claimcheck import conflict, has_pronoun

        claim = _claim(text)
        if not claim.content and not claim.numbers:
            return SentenceVerdict(text, False, reason="no content", dropped_markers=dropped)
        all_windows: list[_Window] = []
        conflict_reason = None
        words_by_stem = {stem(w.lower()): w.lower() for w in words(text)}
        phrasal = _phrasal(text)
        for passage in ordered:
            wins = _windows(passage.text, passage.context)
            all_windows += wins
            candidates: list[tuple[float, int, _Window]] = []
            for win in wins:
                got = self._soft(claim, win, words_by_stem, _coverage(claim, win), phrasal)
                if got is None and claim.numbers <= win.numbers:
                    # a pronoun of the window may stand for a name said earlier in the passage
                    before = {w.lower() for w in words(passage.text[:win.start])}
                    if has_pronoun(passage.text[win.start:win.end]) and claim.names <= (win.lower_words | before):
                        reduced = _Claim(claim.numbers, frozenset(), claim.content - {stem(n) for n in claim.names
                                                                                     if n not in win.lower_words},
                                         claim.strict)
                        got = self._soft(reduced, win, words_by_stem, _coverage(reduced, win), phrasal)
                if got is None or got[0] < self.min_content_coverage or got[1] > self.max_unsupported_words:
                    continue
                candidates.append((got[0], -(win.end - win.start), win))
            for _, _, win in sorted(candidates, key=lambda c: (-c[0], -c[1])):
                why = _column_conflict(text, win.rows) or conflict(
                    text, win.reading, passage.text[:win.start], self.similarity.similar if self.similarity else None)
                if why:
                    conflict_reason = conflict_reason or why
                    continue
                citation = Citation(
                    passage_id=passage.passage_id,
                    source=passage.source,
                    start=passage.start + win.start,
                    end=passage.start + win.end,
                    quote=passage.text[win.start:win.end],
                    sentence_index=index,
                )
                return SentenceVerdict(text, True, citations=[citation], dropped_markers=dropped)
        return SentenceVerdict(text, False, reason=conflict_reason or _missing(claim, all_windows),
                               dropped_markers=dropped)

    def _soft(self, claim: _Claim, win: _Window, words_by_stem: dict[str, str],
              got: tuple[float, int] | None, phrasal: dict[str, tuple[str, ...]] | None = None) -> tuple[float, int] | None:
        """Coverage with paraphrases: a content word missing from the window counts as found when a
        window word is its derivation ("withdrawal" for "withdraw"), the one-word equivalent of its
        phrasal verb ("withdrawal" for "pulled out"), or, with embeddings, a synonym
        (:mod:`assistant.similarity`). Names, numbers and the strict kinds of
        :data:`assistant.similarity.STRICT_WORDS` stay exact."""
        from assistant.similarity import derived, substitutable

        if got is None or got[1] == 0:
            return got
        missing = [s for s in claim.content if s not in win.stems]
        window_words = [w for w in win.lower_words if w not in STOPWORDS and not is_number(w)]

        def found(s: str) -> bool:
            word = words_by_stem.get(s, s)
            if not substitutable(word):
                return False
            forms = (word, *(phrasal or {}).get(s, ()))
            if any(derived(f, w) for f in forms for w in window_words):
                return True
            return self.similarity is not None and any(self.similarity.similar(f, window_words) for f in forms)

        still = sum(not found(s) for s in missing)
        return (len(claim.content) - still) / len(claim.content), still

    def verify(self, question: str, raw_answer: str, passages: list[Passage], truncated: bool = False) -> Verification:
        """Verify a whole answer (steps 1-5 of the module description).

        Args:
            question: The (standalone) question the answer responds to.
            raw_answer: The model's output.
            passages: The retrieved passages shown to the model, numbered from 1.
            truncated: True when generation stopped at the token limit; a last sentence without
                closing punctuation is then unfinished and removed.

        Returns:
            The kept sentences and citations, removed sentences, and the abstention decision.
        """
        kept: list[str] = []
        citations: list[Citation] = []
        removed: list[RemovedSentence] = []
        sentences = self.split_answer(raw_answer)
        if truncated and sentences and not re.search(r"[.!?][\"'”’)\]】]*(\s*[\[【(][^\]】)]*[\]】)])*\s*$", sentences[-1]):
            removed.append(RemovedSentence(text=sentences.pop(), reason="unfinished: the answer hit the token limit"))
        for sentence in sentences:
            verdict = self.verify_sentence(sentence, passages, index=len(kept))
            if verdict.supported:
                if _repeats(verdict, kept, citations):
                    continue
                kept.append(verdict.text)
                citations += verdict.citations
            else:
                removed.append(RemovedSentence(text=verdict.text, reason=verdict.reason))
        if len(kept) > 1:
            kept, citations, removed = _drop_off_topic(question, kept, citations, removed)
        reason = self.answer_check(question, kept, citations, passages)
        if reason:
            return Verification([], [], removed + [RemovedSentence(text=s, reason=reason) for s in kept], True, reason)
        return Verification(kept, citations, removed, False, None)

    def answer_check(self, question: str, kept: list[str], citations: list[Citation],
                     passages: list[Passage] | None = None) -> str | None:
        """Step 4 and 5: the reason to abstain, or None when the kept sentences answer the question.

        Topical relevance uses the question's *focus terms*: its content words (by stem) that occur
        in the fewest retrieved passages (at least one). Words every passage shares ("Russia" in an
        article about Russia) say nothing about whether the question was answered; the rarest ones
        ("invited", "Dawei") do, in the spirit of inverse document frequency (Sparck Jones 1972).
        Without passages, or when no question word occurs in any, any shared content word counts.
        """
        if not kept:
            return "no sentence of the answer is supported by the retrieved passages"
        q = _claim(question)
        answer_text = " ".join(kept)
        said = _claim(answer_text)
        focus = _focus_terms(q.content, passages or [])
        if focus and not (focus & said.content):
            return f"the supported sentences do not address the question (none mentions: {', '.join(sorted(focus))})"
        if q.content and not (q.content & said.content):
            return "the supported sentences do not address the question"
        ws = words(answer_text)
        if _QUANTITY_QUESTION.search(question):
            if not any(is_number(w) or w.lower() in _NUMBER_WORDS for w in ws):
                return "the question asks for a quantity and no supported sentence gives one"
            attribute = _ATTRIBUTE.search(question)
            evidence = " ".join(kept + [c.quote for c in citations]).lower()
            if attribute and stem(attribute.group(1)) not in {stem(w) for w in words(evidence)}:
                return (f"the question asks for the {attribute.group(1).lower()} and neither the answer nor its "
                        "sources mention it")
        if _TIME_QUESTION.search(question):
            if not any(is_number(w) or w.lower() in _TIME_WORDS for w in ws):
                return "the question asks when and no supported sentence gives a time"
        return None


def _phrasal(text: str) -> dict[str, tuple[str, ...]]:
    """Stem of each verb of ``text`` that heads a phrasal verb -> its one-word equivalents
    (:func:`assistant.similarity.phrasal_equivalents`; "pulled out" -> ("withdraw", ...))."""
    from assistant.nlp import parse
    from assistant.similarity import phrasal_equivalents

    return {stem(t.text): eq for t in parse(text) if t.pos_ == "VERB" and (eq := phrasal_equivalents(t))}


def _has_verb(text: str) -> bool:
    """True when the spaCy parse of ``text`` has a verb or auxiliary (a fragment such as "Refund
    rules" or "The vendor notes about delivery:" states nothing that can be true or false)."""
    from assistant.nlp import parse

    return any(t.pos_ in ("VERB", "AUX") for t in parse(text))


def _drop_off_topic(question: str, kept: list[str], citations: list[Citation],
                    removed: list[RemovedSentence]) -> tuple[list[str], list[Citation], list[RemovedSentence]]:
    """Remove kept sentences that share no content word with the question, when another kept sentence
    does (a supported but unrelated sentence appended to the answer: refund rules after a parking
    question). Citations are renumbered to the sentences that stay."""
    q = _claim(question).content
    on_topic = [bool(q & _claim(s).content) for s in kept]
    if not any(on_topic) or all(on_topic):
        return kept, citations, removed
    new_kept, new_cites, index = [], [], {}
    for i, (sentence, ok) in enumerate(zip(kept, on_topic)):
        if ok:
            index[i] = len(new_kept)
            new_kept.append(sentence)
        else:
            removed = removed + [RemovedSentence(text=sentence, reason="supported, but does not address the question")]
    for c in citations:
        if c.sentence_index in index:
            new_cites.append(c.model_copy(update={"sentence_index": index[c.sentence_index]}))
    return new_kept, new_cites, removed


def _focus_terms(question_stems: frozenset[str], passages: list[Passage]) -> frozenset[str]:
    """Question stems found in the fewest (but at least one) retrieved passages
    (:func:`assistant.evidence.focus_terms`, shared with evidence selection)."""
    from assistant.evidence import focus_terms

    if not passages or not question_stems:
        return frozenset()
    return focus_terms(question_stems, passages)
