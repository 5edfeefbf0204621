"""Per-question scoring: turn one :class:`assistant.models.Answer` into a ``results.jsonl`` row."""

from __future__ import annotations

from assistant.evaluation.citations import alce_scores, check_citation, statements_from_answer, statements_from_raw
from assistant.evaluation.dataset import EvalQuestion
from assistant.evaluation.records import QuestionMetrics, QuestionResult, RetrievedPassage
from assistant.evaluation.sources import SourceTexts
from assistant.evaluation.textmatch import contains_evidence, missing_key_facts
from assistant.models import Answer
from assistant.verifier import GroundingVerifier


def reciprocal_rank(hits: list[bool]) -> float:
    """1 / (1-based rank of the first True), or 0.0 when there is none (Voorhees, TREC-8 QA, 1999)."""
    return next((1.0 / rank for rank, hit in enumerate(hits, start=1) if hit), 0.0)


def passes(question: EvalQuestion, abstained: bool, key_facts_found: bool | None,
           citations_ok: bool) -> bool | None:
    """The pass rule of a question (``docs/evaluation.md``, "Pass rule").

    - unanswerable (``answerable`` false, kind not ``false_premise``): the assistant abstains;
    - ``false_premise``: it abstains, or it answers with at least one citation, every citation
      valid, and every key fact present (``docs/question-format.md``);
    - answerable: it answers, and every key fact present; an answerable question that lists no
      key facts (for example a thumbs-down case exported from the UI and not yet filled in) cannot
      be judged, so it is ``None`` (unscored) rather than a pass.
    """
    if question.is_unanswerable:
        return abstained
    if question.is_false_premise:
        return abstained or (citations_ok and key_facts_found is not False)
    if not question.key_facts:
        return None
    return not abstained and key_facts_found is not False


def score_answer(question: EvalQuestion, answer: Answer, sources: SourceTexts, verifier: GroundingVerifier,
                 latency_s: float = 0.0) -> QuestionResult:
    """Score one answer.

    Args:
        question: The question with its expectations.
        answer: What ``Assistant.ask``/``stream`` returned.
        sources: Source texts for the citation offset check.
        verifier: The verifier used as NLI proxy for the ALCE and faithfulness metrics.
        latency_s: Wall-clock seconds the call took.

    Returns:
        The row with per-question metrics filled in.
    """
    hits = [contains_evidence(p.text, question.evidence) for p in answer.passages]
    checked = [check_citation(c, answer.passages, sources) for c in answer.citations]
    m = QuestionMetrics()
    if question.evidence:
        m.hit = any(hits)
        m.reciprocal_rank = reciprocal_rank(hits)
    if question.key_facts:
        # the verified sentences, without the [n] markers (a key fact "1" must not match a marker)
        m.missing_key_facts = (list(question.key_facts) if answer.abstained
                               else missing_key_facts(" ".join(answer.sentences), question.key_facts))
        m.key_facts_found = not answer.abstained and not m.missing_key_facts
    m.citations_total = len(checked)
    m.citations_valid = sum(c.valid for c in checked)
    if not answer.abstained:
        final = alce_scores(statements_from_answer(answer.sentences, answer.citations), answer.passages, verifier)
        if final is not None:
            m.citation_recall, m.citation_precision = final.recall, final.precision
            m.sentences_supported, m.sentences_total = final.supported, final.statements
    if question.answerable and answer.raw_answer.strip():
        raw = alce_scores(statements_from_raw(answer.raw_answer, verifier), answer.passages, verifier)
        if raw is not None:
            m.raw_citation_recall, m.raw_citation_precision = raw.recall, raw.precision
    every_sentence_cited = {c.sentence_index for c in answer.citations} >= set(range(len(answer.sentences)))
    citations_ok = bool(checked) and all(c.valid for c in checked) and every_sentence_cited
    m.passed = passes(question, answer.abstained, m.key_facts_found, citations_ok)
    return QuestionResult(
        id=question.id, kind=question.kind, answerable=question.answerable, question=question.question,
        reference_answer=question.reference_answer, key_facts=list(question.key_facts),
        answer=answer.answer, abstained=answer.abstained, abstention_reason=answer.abstention_reason,
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
