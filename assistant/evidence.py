"""Evidence selection: rank the sentences of the retrieved passages as evidence for a question.

Each sentence of each retrieved passage is a candidate (a sentence found in two overlapping passages
counts once). Its score combines three signals, each in [0, 1]:

- **lexical coverage**: the share of the question's content-word stems found in the sentence,
  each weighted by its inverse document frequency over the candidate sentences,
  ``log((N + 1) / (df + 0.5))`` (Robertson-Sparck Jones idf, as in BM25); a question word found in no
  candidate weighs as much as the rarest one found, so a question about something the passages
  never mention ("population") cannot be covered by its common words alone. Names may also be found
  in the sentence before, in the same passage (a pronoun's antecedent: "He also met with Putin...");
- **dense similarity**: cosine similarity of the question and sentence embeddings (all-MiniLM-L6-v2),
  when an embedding model is given;
- **answer-type match**: the sentence holds something of the kind the question asks for
  (:mod:`assistant.questions`) that the question does not already name: a person or organisation
  for who/which-X, a date for when, a place for where, a number counting the asked noun for how
  many, the expansion of the abbreviation for "what does X stand for".

``score = 0.5 * coverage + 0.3 * dense + 0.2 * type_match`` (weights set on the kinds of the
development set, not its strings; coverage leads because the verifier's own check is lexical).

A candidate is **answering evidence** when its coverage is at least :data:`MIN_COVERAGE`, it holds a
focus term of the question (its rarest word found in the passages), and, for questions that name a
role (who/when/where/how many/which X/what did X do), it holds the question's main verb and matches
the answer type. The verb is found by stem or a shared prefix of five letters ("invited" ~
"invitation"), or said otherwise (:func:`_said_otherwise`): a derivation ("converge" ~
"convergence"), a phrasal verb's one-word equivalent ("grow closer" ~ "convergence", "pull out" ~
"withdrew") or, with embeddings, a synonym ("built" ~ "construction"); the question words it stands
for then count as found for coverage too. A quantity question's attribute matches its synonym
("cost" ~ "price"). Times, amounts, directions and roles are never matched by a synonym
(:func:`assistant.similarity.substitutable`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from assistant.models import Passage
from assistant.questions import QuestionAnalysis, number_value
from assistant.textutil import split_sentences, stem, words
from index.tables import TableRow, is_head_line, row_in_table, row_sentence

#: Least idf-weighted share of the question's words an answering sentence must hold. 0.5: at least
#: half of what the question says, weighted by rarity. Lower values answered the dev set's
#: unanswerable questions from sentences sharing only their topic words.
MIN_COVERAGE = 0.5
#: Weights of coverage, dense similarity and answer-type match in the score.
W_COVERAGE, W_DENSE, W_TYPE = 0.5, 0.3, 0.2
_MONTHS = ("january february march april may june july august september october november december "
           "monday tuesday wednesday thursday friday saturday sunday").split()
_TIME_WORDS = frozenset(_MONTHS + "today tomorrow yesterday week month year ago decade century".split())
_PLACE_NOUNS = frozenset("region city province country town district capital port island".split())
#: Units that make a number a duration ("25 days", "3 years"): spaCy tags such spans DATE, but they
#: answer "how many days" / "how long" (an amount of time), not "when".
_DURATION_UNITS = frozenset("second seconds minute minutes hour hours day days week weeks month months year years "
                            "decade decades century centuries".split())
#: Prepositions of place: "parked in the basement" answers "where" although "basement" is no named place.
_LOCATIVE = frozenset("in at on inside outside near under behind beside next above below".split())


@dataclass(frozen=True)
class Evidence:
    """One candidate sentence with its scores.

    Attributes:
        passage_id: The passage it comes from (the ``[n]`` to cite).
        source: Source document name.
        start: Character offset of the sentence in the source text (inclusive).
        end: Character offset in the source text (exclusive).
        text: The sentence, exactly ``source_text[start:end]``.
        score: Combined score in [0, 1].
        coverage: Idf-weighted share of question words found, in [0, 1].
        dense: Cosine similarity with the question (0.0 without an embedding model).
        type_match: Whether it holds an answer of the expected type.
        predicate: Whether it holds the question's main verb (True when the question has none).
        focus: Whether it holds one of the question's focus terms.
        names: Whether every name of the question is in the sentence or a neighbouring one.
        missing_numbers: Numbers of the question that the sentence does not hold (a premise the
            evidence may contradict: "suspended in 2019?" against "suspended in 2013").
        reading: For a table row, the row read with its table's head
            (:func:`index.tables.row_sentence`), which it was scored on; "" for other sentences.
    """

    passage_id: int
    source: str
    start: int
    end: int
    text: str
    score: float
    coverage: float
    dense: float
    type_match: bool
    predicate: bool
    focus: bool
    names: bool = True
    missing_numbers: tuple[str, ...] = ()
    reading: str = ""

    def answers(self, q: QuestionAnalysis) -> bool:
        """True when this sentence is answering evidence for ``q`` (see the module description)."""
        if self.coverage < MIN_COVERAGE or not self.focus:
            return False
        if not self.names or not self.predicate or (q.strict and not self.type_match):
            return False
        return True


@dataclass(frozen=True)
class _Sentence:
    passage: Passage
    start: int  # offset within passage.text
    end: int
    previous: str  # the sentence before, in the same passage ("" for the first)
    following: str = ""  # the sentence after, in the same passage ("" for the last)


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` and of their lemmas ("met" -> "met" and "meet")."""
    from assistant.nlp import parse

    out = {stem(w) for w in words(text) if number_value(w) is None}
    out |= {stem(t.lemma_) for t in parse(text) if t.pos_ in ("VERB", "AUX", "NOUN") and t.lemma_.strip()}
    return frozenset(out)


def _prefix_match(a: str, b_set: frozenset[str] | set[str]) -> bool:
    """Same stem, or a shared prefix of at least five letters (derivation: invite/invitation)."""
    if a in b_set:
        return True
    return len(a) >= 5 and any(len(b) >= 5 and (a[:5] == b[:5]) for b in b_set)


@lru_cache(maxsize=2048)
def _entities(text: str) -> tuple[tuple[str, str, int, int], ...]:
    """(label, text, start token, end token) of the named entities and proper-noun runs of a sentence."""
    from assistant.nlp import parse

    doc = parse(text)
    ents = [(e.label_, e.text, e.start, e.end) for e in doc.ents]
    covered = {i for _, _, s, e in ents for i in range(s, e)}
    run: list[Any] = []
    for tok in list(doc) + [None]:
        if tok is not None and tok.pos_ == "PROPN" and tok.i not in covered and tok.i > 0:
            run.append(tok)
            continue
        if run:
            ents.append(("PROPN", " ".join(t.text for t in run), run[0].i, run[-1].i + 1))
            run = []
    return tuple(ents)


def type_match(q: QuestionAnalysis, sentence: str) -> bool:
    """Whether ``sentence`` holds an answer of the type ``q`` expects, not named by the question itself."""
    t = q.answer_type
    if t in ("yes_no", "reason", "description"):
        return True
    q_words = {w.lower() for w in words(q.text)}
    # an entity sharing a name word with the question is the question's own ("President Vladimir
    # Putin" for "Besides Putin, who ...")
    q_names = {w.lower() for w in words(q.text) if w[:1].isupper()} | set(q.names)
    q_prefixes = {w[:5] for w in q_words if len(w) >= 5}

    def own(txt: str) -> bool:
        ws = {w.lower() for w in words(txt)}
        return ws <= q_words or bool(ws & q_names) or bool({w[:5] for w in ws if len(w) >= 5} & q_prefixes
                                                          and len(ws) == 1)

    ents = [(label, txt) for label, txt, _, _ in _entities(sentence) if not own(txt)]
    lower_words = [w.lower() for w in words(sentence)]
    if t == "entity":
        if q.person_target:
            return any(label in ("PERSON", "PROPN") for label, _ in ents)
        if q.target_noun and q.target_noun in {stem(w) for w in lower_words}:
            return True
        return any(label in ("PERSON", "ORG", "NORP", "GPE", "PROPN", "LOC", "FAC") for label, _ in ents)
    if t == "date":
        return any(label in ("DATE", "TIME") for label, _ in ents) or any(w in _TIME_WORDS for w in lower_words)
    if t == "place":
        if q.target_noun and q.target_noun in {stem(w) for w in lower_words}:
            return True
        if any(label in ("GPE", "LOC", "FAC") for label, _ in ents) or bool(_PLACE_NOUNS & set(lower_words)):
            return True
        # a locative phrase on a verb the question asks about: "must be parked in the basement"
        from assistant.nlp import parse

        doc = parse(sentence)
        return any(t.dep_ == "prep" and t.lower_ in _LOCATIVE and t.head.pos_ in ("VERB", "AUX")
                   and stem(t.head.lemma_) in q.predicates
                   and any(c.dep_ == "pobj" and c.pos_ in ("NOUN", "PROPN") and stem(c.text) not in q.terms
                           for c in t.children)
                   for t in doc)
    if t == "number":
        # an amount: a cardinal, money, quantity or percentage, or "only" before the counted noun;
        # not a year or a date
        from assistant.nlp import parse

        doc = parse(sentence)
        toks = [x.text.lower() for x in doc]
        def duration(x) -> bool:  # noqa: ANN001 - a spaCy token: "25 days", "3 years"
            return x.i + 1 < len(doc) and doc[x.i + 1].text.lower() in _DURATION_UNITS

        found = [x.i for x in doc if (number_value(x.text) is not None and number_value(x.text) not in q.numbers
                                      and (x.ent_type_ not in ("DATE", "TIME", "ORDINAL") or duration(x)))
                 or (x.text.lower() == "only" and q.counted)]
        if not found:
            return False
        if not q.counted:
            return True
        # the counted noun follows the number ("three visits"); an attribute may precede it ("cost 4.2 million")
        return any(stem(toks[j]) in q.counted for i in found
                   for j in range(max(0, i - 3), min(i + 4, len(toks))) if j != i)
    if t == "definition" and q.term:
        term = re.escape(q.term)
        initials = "".join(ch for ch in q.term if ch.isalpha()).upper()
        for m in re.finditer(rf"((?:[A-Z][\w’'-]*\s+){{1,6}})\(\s*{term}\s*\)|\b{term}\s*\(((?:[A-Z][\w’'-]*\s*){{1,6}})\)",
                             sentence):
            phrase = (m.group(1) or m.group(2) or "").split()
            caps = "".join(w[0] for w in phrase if w[0].isupper())
            if caps.endswith(initials):
                return True
        return False
    return True


def _candidates(passages: list[Passage]) -> list[_Sentence]:
    seen: set[tuple[str, int]] = set()
    out: list[_Sentence] = []
    for p in passages:
        sents = split_sentences(p.text)
        for i, s in enumerate(sents):
            key = (p.source, p.start + s.start)
            if key in seen or is_head_line(p.text, s.start):  # a header row answers nothing alone
                continue
            seen.add(key)
            out.append(_Sentence(p, s.start, s.end, sents[i - 1].text if i else "",
                                 sents[i + 1].text if i + 1 < len(sents) else ""))
    return out


def focus_terms(terms: frozenset[str], passages: list[Passage]) -> frozenset[str]:
    """The question stems found in the fewest (but at least one) retrieved passages.

    Words every passage shares ("Russia" in an article about Russia) say nothing about whether a
    sentence answers; the rarest ones do (inverse document frequency, Sparck Jones 1972).
    """
    per_passage = [frozenset(stem(w) for w in words(p.text)) for p in passages]
    df = {t: sum(t in ps for ps in per_passage) for t in terms}
    present = {t: n for t, n in df.items() if n > 0}
    if not present:
        return frozenset()
    least = min(present.values())
    return frozenset(t for t, n in present.items() if n == least)


def rank(q: QuestionAnalysis, passages: list[Passage], embeddings: Any = None) -> list[Evidence]:
    """Candidate sentences of ``passages``, best first.

    Args:
        q: The analysed question.
        passages: Retrieved passages, numbered as in the answer.
        embeddings: A LangChain ``Embeddings`` for the dense signal (optional).

    Returns:
        Every distinct sentence of the passages with its scores, highest ``score`` first.
    """
    cands = _candidates(passages)
    if not cands:
        return []
    # a table row is read with its head ("Revenue, EUR thousands: Region Brightwater; 2023 1,500."),
    # and scored on that reading; the evidence text and offsets stay the row's
    rows = [row_in_table(c.passage.text, c.start, c.passage.context) for c in cands]
    texts = [row_sentence(r) if r else c.passage.text[c.start:c.end] for r, c in zip(rows, cands)]
    stems = [_stems(t) | _aliases(q, t) for t in texts]
    from assistant.claimcheck import has_pronoun

    # a pronoun may stand for a name of the question said in the sentence before or after ("He also met ...")
    prev_names = [{w.lower() for w in words(c.previous + " " + c.following) if w[:1].isupper() and w.lower() in q.names}
                  if has_pronoun(texts[i]) else set() for i, c in enumerate(cands)]
    # names of the question must be in the sentence or next to it (a description such as "the head of
    # the junta" may stand for a name said in the next sentence): "the president of China" is not
    # answered by a sentence about someone else's president
    near = [_stems(c.previous) | _stems(c.following) | _aliases(q, c.previous) | _aliases(q, c.following)
            for c in cands]
    n = len(cands)
    idf = {t: math.log((n + 1) / (sum(t in s for s in stems) + 0.5)) for t in q.terms}
    found_idf = [v for t, v in idf.items() if any(t in s for s in stems)]
    rarest = max(found_idf, default=math.log((n + 1) / 0.5))
    weight = {t: (v if any(t in s for s in stems) else rarest) for t, v in idf.items()}
    total = sum(weight.values()) or 1.0
    focus = focus_terms(q.terms, passages)
    dense = _dense(q.text, texts, embeddings)
    from assistant.similarity import for_embeddings

    similarity = for_embeddings(embeddings)
    out = []
    for i, c in enumerate(cands):
        pred = any(_prefix_match(p, stems[i]) for p in q.predicates) if q.predicates else True
        said = frozenset() if pred else _said_otherwise(q, texts[i], similarity)
        pred = pred or bool(said)
        tq = _with_attribute_synonyms(q, texts[i], similarity)
        if tq is not q:
            said |= q.counted  # the attribute asked for ("cost") is named by its synonym ("price")
        stems[i] = stems[i] | said
        have = stems[i] | {stem(w) for w in prev_names[i]}
        got = sum(w for t, w in weight.items() if t in have or _prefix_match(t, stems[i]))
        coverage = got / total if q.terms else 0.0
        names_ok = all(_prefix_match(stem(n), stems[i] | near[i]) for n in q.names)
        if pred and q.tense and _other_time(q, texts[i]):
            pred = False  # "will meet" is not answered by "met": another event
        tm = type_match(tq, texts[i]) or (rows[i] is not None and _row_type_match(q, rows[i]))
        numbers = {v for w in words(texts[i]) if (v := number_value(w)) is not None}
        score = W_COVERAGE * coverage + W_DENSE * max(0.0, dense[i]) + W_TYPE * float(tm)
        out.append(Evidence(
            passage_id=c.passage.passage_id, source=c.passage.source, start=c.passage.start + c.start,
            end=c.passage.start + c.end, text=c.passage.text[c.start:c.end], score=round(score, 4), coverage=round(coverage, 4),
            dense=round(dense[i], 4), type_match=tm, predicate=pred,
            focus=bool(focus & have) or not focus, names=names_ok, missing_numbers=tuple(sorted(q.numbers - numbers)),
            reading=texts[i] if rows[i] else "",
        ))
    out.sort(key=lambda e: (-e.score, e.passage_id, e.start))
    return out


def _content_words(text: str) -> list[str]:
    """Surface forms and lemmas of the verbs and common nouns of ``text``, lower-cased."""
    from assistant.nlp import parse

    out = []
    for t in parse(text):
        if t.pos_ in ("VERB", "NOUN") and t.is_alpha:
            out += [t.text.lower(), t.lemma_.lower()]
    return list(dict.fromkeys(out))


def _said_otherwise(q: QuestionAnalysis, sentence: str, similarity: Any) -> frozenset[str]:
    """Question-term stems whose predicate ``sentence`` says in other words, or an empty set.

    A content verb of the question is said otherwise when a verb or common noun of the sentence is
    its derivation or nominalisation ("converge" / "convergence", :func:`assistant.similarity.derived`),
    derives from the one-word equivalent of its phrasal verb ("grow closer" -> "converge"), or, with
    embeddings, is a synonym of one of those forms ("build" / "construction", "paid" / "bought";
    :meth:`assistant.similarity.WordSimilarity.similar`, whose strict kinds never match).
    """
    from assistant.similarity import derived

    words_ = _content_words(sentence)
    out: set[str] = set()
    for terms, forms in q.paraphrases:
        if any(derived(f, w) for f in forms for w in words_) or (
                similarity is not None and any(similarity.similar(f, words_) for f in forms)):
            out |= terms
    return frozenset(out)


def _with_attribute_synonyms(q: QuestionAnalysis, sentence: str, similarity: Any) -> QuestionAnalysis:
    """``q`` whose counted attribute also matches its synonyms in ``sentence`` ("cost" / "price"),
    for the answer-type test of a quantity question; ``q`` itself without embeddings, and for "how
    many X" questions, whose counted noun stays exact ("helicopters" do not count "jet fighters")."""
    if similarity is None or q.answer_type != "number" or not q.counted or re.search(r"\bhow many\b", q.text, re.I):
        return q
    extra = {stem(w) for w in _content_words(sentence) if similarity.similar(w, sorted(q.counted))}
    return replace(q, counted=q.counted | frozenset(extra)) if extra else q


def _row_type_match(q: QuestionAnalysis, row: TableRow) -> bool:
    """Answer-type match of a table row: the counted noun of a "how much revenue" question is the
    measure its caption or header names, not a word next to the number; the cells must still hold
    an amount the question does not name."""
    if q.answer_type != "number" or not q.counted or not q.counted & _stems(row.head):
        return False
    return type_match(replace(q, counted=frozenset()), " ".join(row.row))


def _other_time(q: QuestionAnalysis, sentence: str) -> bool:
    """True when every verb of ``sentence`` matching the question's predicate has the other time
    (past against future)."""
    from assistant.claimcheck import verb_time
    from assistant.nlp import parse

    times = [verb_time(t) for t in parse(sentence) if t.pos_ == "VERB" and _prefix_match(stem(t.lemma_), q.predicates)]
    return bool(times) and all({tm, q.tense} == {"past", "future"} for tm in times)


def _aliases(q: QuestionAnalysis, sentence: str) -> frozenset[str]:
    """Abbreviations the question uses for names the sentence spells out ("MAH" for "Min Aung
    Hlaing"): the question's all-capital word counts as found where a run of capitalised words with
    those initials stands."""
    out = set()
    for w in words(q.text):
        if 2 <= len(w) <= 6 and w.isupper() and w.isalpha():
            run = re.search(r"\b" + r"[\w’'-]*\s+".join(ch for ch in w) + r"[\w’'-]*", sentence)
            if run and all(x[:1].isupper() for x in run.group(0).split()):
                out.add(stem(w))
    return frozenset(out)


def select(q: QuestionAnalysis, ranked: list[Evidence]) -> Evidence | None:
    """The best answering evidence (see :meth:`Evidence.answers`), cut to its answering clause
    (:func:`answering_clause`), or None. When it is a table row without a number the question names
    ("losses in 2023"), an answering row of the same document holding every such number is taken."""
    best = next((e for e in ranked if e.answers(q)), None)
    if best is not None and best.reading and best.missing_numbers:
        # the row asked about is found by its cells: "losses in 2023" is the row of the document holding 2023
        best = next((e for e in ranked if e.reading and not e.missing_numbers and e.source == best.source
                     and e.answers(q)), best)
    return answering_clause(q, best) if best is not None else None


#: Clause heads whose span can stand alone as an answer: the main clause, coordinated clauses and
#: reported content ("X reported that <clause>"). Relative and adverbial clauses lean on the
#: sentence around them ("who he is slated to meet", "while it has never been") and are not used.
_CLAUSE_DEPS = ("ROOT", "conj", "ccomp")
_SUBJECT_PRONOUNS = frozenset("he she it they we i you this these those who which".split())


def _unbalanced(text: str) -> bool:
    """True when quotation marks or brackets of ``text`` do not pair up."""
    return (text.count("“") != text.count("”") or text.count('"') % 2 == 1
            or text.count("(") != text.count(")"))


def answering_clause(q: QuestionAnalysis, e: Evidence) -> Evidence:
    """The smallest clause of the evidence sentence that still answers the question, verbatim.

    A clause is a main, coordinated or reported clause (the subtree of its verb in the spaCy parse,
    without leading conjunctions or "that"), of at least six words, whose subject is not a pronoun,
    and which keeps every question word the sentence matched, the question's verb and the expected
    answer type; it starts with a capital and its quotation marks pair up. "Min Aung Hlaing has praised
    Putin for his vision and leadership" is cut from a sentence that first says what the regime
    endorsed. Questions asking for a name or a place keep the whole sentence (the name may stand in
    the clause a cut would drop: "The Irrawaddy reported that ..."). Without such a clause, the whole
    sentence.
    """
    from assistant.nlp import parse

    if q.answer_type in ("entity", "place"):
        return e  # the answer is a name, which may stand in the clause a cut would drop
    doc = parse(e.text)
    whole = _stems(e.text)
    needed = {t for t in q.terms if t in whole} | set(q.predicates & whole)
    best: tuple[int, int] | None = None
    for tok in doc:
        if tok.dep_ not in _CLAUSE_DEPS or tok.pos_ not in ("VERB", "AUX"):
            continue
        subj = next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if subj is None or subj.text.lower() in _SUBJECT_PRONOUNS:
            continue
        toks = list(tok.subtree)
        # drop coordinated clauses hanging off this one, and leading conjunctions / "that"
        for c in tok.children:
            if c.dep_ == "conj" and c.pos_ in ("VERB", "AUX"):
                toks = [t for t in toks if t.i < c.left_edge.i]
        while toks and (toks[0].dep_ in ("cc", "mark", "punct") or toks[0].is_space):
            toks = toks[1:]
        while toks and (toks[-1].dep_ in ("cc", "punct") or toks[-1].is_space) and toks[-1].text not in ".!?”\"":
            toks = toks[:-1]
        if len([t for t in toks if t.is_alpha]) < 6:
            continue
        start, end = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        span = e.text[start:end]
        if not (span[:1].isupper() or span[:1].isdigit()) or _unbalanced(span):
            continue
        if len(span) >= len(e.text.strip()) or not needed <= (_stems(span) | _aliases(q, span)):
            continue
        if q.strict and not type_match(q, span):
            continue
        if best is None or end - start < best[1] - best[0]:
            best = (start, end)
    if best is None:
        return e
    text = e.text[best[0]:best[1]]
    return Evidence(passage_id=e.passage_id, source=e.source, start=e.start + best[0], end=e.start + best[1],
                    text=text, score=e.score, coverage=e.coverage, dense=e.dense, type_match=e.type_match,
                    predicate=e.predicate, focus=e.focus, names=e.names, missing_numbers=e.missing_numbers,
                    reading=e.reading)


def _dense(question: str, texts: list[str], embeddings: Any) -> list[float]:
    if embeddings is None or not texts:
        return [0.0] * len(texts)
    import numpy as np

    vecs = np.asarray(_embed_cached(embeddings, tuple(texts)), dtype=float)
    qv = np.asarray(embeddings.embed_query(question), dtype=float)
    norms = np.linalg.norm(vecs, axis=1) * (np.linalg.norm(qv) or 1.0)
    norms[norms == 0] = 1.0
    return [float(x) for x in (vecs @ qv) / norms]


_EMBED_CACHE: dict[tuple[int, str], list[float]] = {}


def _embed_cached(embeddings: Any, texts: tuple[str, ...]) -> list[list[float]]:
    """Sentence embeddings, cached by (model, text): passages recur across questions."""
    key = id(embeddings)
    todo = [t for t in dict.fromkeys(texts) if (key, t) not in _EMBED_CACHE]
    if todo:
        if len(_EMBED_CACHE) > 20000:
            _EMBED_CACHE.clear()
        for t, v in zip(todo, embeddings.embed_documents(todo)):
            _EMBED_CACHE[(key, t)] = v
    return [_EMBED_CACHE[(key, t)] for t in texts]
