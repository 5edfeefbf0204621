"""Per-question scoring: turn one :class:`assistant.models.Answer` into a ``results.jsonl`` row."""

from __future__ import annotations

from assistant.evaluation.citations import alce_scores, check_citation, statements_from_answer, statements_from_raw
from assistant.evaluation.dataset import SMALLTALK, EvalQuestion
from assistant.evaluation.records import DECLINED_KINDS, QuestionMetrics, QuestionResult, RetrievedPassage
from assistant.evaluation.sources import SourceTexts
from assistant.evaluation.textmatch import contains_evidence, missing_key_facts
from assistant.models import Answer, Passage
from assistant.verifier import GroundingVerifier


def reciprocal_rank(hits: list[bool]) -> float:
    """1 / (1-based rank of the first True), or 0.0 when there is none (Voorhees, TREC-8 QA, 1999)."""
    return next((1.0 / rank for rank, hit in enumerate(hits, start=1) if hit), 0.0)


def answer_kind_of(answer: Answer) -> str | None:
    """``Answer.answer_kind`` (or ``answer_mode``) when the assistant records one, else None."""
    kind = getattr(answer, "answer_kind", None) or getattr(answer, "answer_mode", None)
    return str(kind) if kind else None


def declined(answer: Answer) -> bool:
    """The assistant did not answer: the fixed abstention, or an answer of kind ``abstained``/``declined``."""
    return bool(answer.abstained) or answer_kind_of(answer) in DECLINED_KINDS


def passes(question: EvalQuestion, abstained: bool, key_facts_found: bool | None,
           citations_ok: bool) -> bool | None:
    """The pass rule of a question (``docs/evaluation.md``, "Pass rule").

    - must decline (``answerable`` false: ``unanswerable``, ``injection``, any kind other than the
      two below): the assistant declines (``abstained`` here means "declined", :func:`declined`);
    - ``false_premise`` and ``stated_unknown``: it declines, or it answers with at least one
      citation, every citation valid, every sentence cited, and every key fact present
      (``FORMAT.md``: the correction, or "the article says it is not known", with citation);
    - answerable (``fact``, ``yes_no``, ``quantity``, ``other_language``, ...): it answers, and every
      key fact is present; an answerable question that lists no key facts (for example a
      thumbs-down case exported from the UI and not yet filled in) cannot be judged, so it is
      ``None`` (unscored) rather than a pass.
    """
    if question.is_unanswerable:
        return abstained
    if question.is_false_premise:
        return abstained or (citations_ok and key_facts_found is not False)
    if not question.key_facts:
        return None
    return not abstained and key_facts_found is not False


def rejected_sentences(sentences: list[str], passages: list[Passage], verifier: GroundingVerifier) -> int:
    """How many shown sentences the claim-level check rejects.

    Each sentence is verified again on its own, as a claim, against all the answer's passages
    (``verifier.verify_sentence``), whatever path produced it (extractive, generative, or a fallback).
    """
    verdicts = [verifier.verify_sentence(s, passages) for s in sentences]
    return sum(not v.supported or getattr(v, "trimmed", False) for v in verdicts)


def score_answer(question: EvalQuestion, answer: Answer, sources: SourceTexts, verifier: GroundingVerifier,
                 latency_s: float = 0.0) -> QuestionResult:
    """Score one answer.

    Args:
        question: The question with its expectations.
        answer: What ``Assistant.ask``/``stream`` returned.
        sources: Source texts for the citation offset check.
        verifier: The product's verifier: the claim-level check of ``answer_accuracy``, and the
            NLI stand-in of the verifier-agreement and raw-output ALCE metrics.
        latency_s: Wall-clock seconds the call took.

    Returns:
        The row with per-question metrics filled in.
    """
    hits = [contains_evidence(p.text, question.evidence) for p in answer.passages]
    checked = [check_citation(c, answer.passages, sources) for c in answer.citations]
    no_answer = declined(answer)
    m = QuestionMetrics()
    if question.evidence:
        m.hit = any(hits)
        m.reciprocal_rank = reciprocal_rank(hits)
    if question.key_facts:
        # the verified sentences, without the [n] markers (a key fact "1" must not match a marker)
        m.missing_key_facts = (list(question.key_facts) if no_answer
                               else missing_key_facts(" ".join(answer.sentences), question.key_facts))
        m.key_facts_found = not no_answer and not m.missing_key_facts
    m.citations_total = len(checked)
    m.citations_valid = sum(c.valid for c in checked)
    if not no_answer:
        m.sentences_rejected = rejected_sentences(answer.sentences, answer.passages, verifier)
        final = alce_scores(statements_from_answer(answer.sentences, answer.citations), answer.passages, verifier)
        if final is not None:
            m.verifier_citation_recall, m.verifier_citation_precision = final.recall, final.precision
            m.sentences_supported, m.sentences_total = final.supported, final.statements
    if question.answerable and question.key_facts:
        m.answer_correct = bool(m.key_facts_found) and not m.sentences_rejected
    if question.answerable and answer.raw_answer.strip():
        raw = alce_scores(statements_from_raw(answer.raw_answer, verifier, answer.passages), answer.passages, verifier)
        if raw is not None:
            m.raw_citation_recall, m.raw_citation_precision = raw.recall, raw.precision
    every_sentence_cited = {c.sentence_index for c in answer.citations} >= set(range(len(answer.sentences)))
    citations_ok = bool(checked) and all(c.valid for c in checked) and every_sentence_cited
    if question.kind == SMALLTALK:
        # small talk is answered as such, without retrieval or citations (issue 12)
        m.passed = answer_kind_of(answer) == SMALLTALK and not answer.passages and not answer.citations
    else:
        m.passed = passes(question, no_answer, m.key_facts_found, citations_ok)
    return QuestionResult(
        id=question.id, kind=question.kind, answerable=question.answerable, question=question.question,
        standalone_question=answer.standalone_question,
        reference_answer=question.reference_answer, key_facts=list(question.key_facts),
        answer=answer.answer, abstained=answer.abstained, abstention_reason=answer.abstention_reason,
        answer_kind=answer_kind_of(answer),
        sentences=answer.sentences, raw_answer=answer.raw_answer, removed=answer.removed, citations=checked,
        retrieved=[
            RetrievedPassage(passage_id=p.passage_id, chunk_id=p.chunk_id, source=p.source, start=p.start,
                             end=p.end, score=p.score, lexical_score=getattr(p, "lexical_score", None),
                             hit=h if question.evidence else None)
            for p, h in zip(answer.passages, hits)
        ],
        timings=answer.timings, latency_s=latency_s, metrics=m,
    )


def error_result(question: EvalQuestion, error: str, latency_s: float = 0.0) -> QuestionResult:
    """The row of a question that raised instead of answering: it fails, no metric applies."""
    return QuestionResult(
        id=question.id, kind=question.kind, answerable=question.answerable, question=question.question,
        reference_answer=question.reference_answer, key_facts=list(question.key_facts),
        latency_s=latency_s, error=error, metrics=QuestionMetrics(passed=False),
    )
