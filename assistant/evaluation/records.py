"""The row schema of ``results.jsonl``: one :class:`QuestionResult` per question, or one
:class:`ClaimResult` per claim of a claim set."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from assistant.models import RemovedSentence, Timings

#: ``Answer.answer_kind`` values that mean the assistant did not answer.
DECLINED_KINDS = frozenset({"abstained", "declined"})


class RetrievedPassage(BaseModel):
    """A retrieved passage as recorded for evaluation (its text is left out to keep rows short).

    Attributes:
        passage_id: 1-based rank (the ``[n]`` the prompt gave it).
        chunk_id: Stored chunk id.
        source: Source document name.
        start: Offset in the source text (inclusive), in characters.
        end: Offset in the source text (exclusive), in characters.
        score: Retrieval score (cosine similarity).
        lexical_score: BM25 score, when the retriever gives one.
        hit: True when it contains an ``evidence`` span; None when the question has no evidence.
    """

    passage_id: int
    chunk_id: str
    source: str
    start: int
    end: int
    score: float
    lexical_score: float | None = None
    hit: bool | None = None


class CheckedCitation(BaseModel):
    """A citation of the answer with the result of the validity check.

    Attributes:
        passage_id, source, start, end, quote, sentence_index: As in :class:`assistant.models.Citation`.
        valid: True when the cited passage was retrieved and ``quote`` is verbatim at ``start:end``.
        checked_against: ``file`` (the source document's text) or ``passage`` (only the retrieved
            passage's text: the source file was not available).
        problem: Why it is invalid (empty when valid).
    """

    passage_id: int
    source: str
    start: int
    end: int
    quote: str
    sentence_index: int
    valid: bool
    checked_against: Literal["file", "passage"] = "passage"
    problem: str = ""


class QuestionMetrics(BaseModel):
    """Per-question metric values; None where a metric does not apply to the question.

    Attributes:
        passed: The question's pass/fail rule (see ``docs/evaluation.md``) holds; ``None`` when the
            question cannot be judged (answerable, but no key facts listed).
        hit: Some retrieved passage contains an evidence span (questions with evidence).
        reciprocal_rank: 1 / rank of the first such passage, 0.0 when none (questions with evidence).
        key_facts_found: Every key fact is in the answer (questions with key facts).
        missing_key_facts: The key facts not found.
        answer_correct: Answered (not declined), every key fact present, and no shown sentence
            rejected by the claim-level check (answerable questions with key facts).
        sentences_rejected: Shown sentences that ``verify_sentence`` rejects when re-run on each
            against all of the answer's passages (answered questions).
        citations_valid: Valid citations of the answer.
        citations_total: Citations of the answer.
        sentences_supported: Answer sentences the verifier supports from the passages they cite
            (agreement with the verifier, not faithfulness).
        sentences_total: Answer sentences.
        verifier_citation_recall: ALCE citation recall of the shown answer, computed by the verifier
            that kept those sentences (agreement with the verifier; answered questions).
        verifier_citation_precision: ALCE citation precision of the shown answer, likewise.
        raw_citation_recall: ALCE citation recall of the model's raw output, before verification
            (answerable questions the model was asked).
        raw_citation_precision: ALCE citation precision of the raw output.
    """

    passed: bool | None = False
    hit: bool | None = None
    reciprocal_rank: float | None = None
    key_facts_found: bool | None = None
    missing_key_facts: list[str] = Field(default_factory=list)
    answer_correct: bool | None = None
    sentences_rejected: int | None = None
    citations_valid: int = 0
    citations_total: int = 0
    sentences_supported: int = 0
    sentences_total: int = 0
    verifier_citation_recall: float | None = None
    verifier_citation_precision: float | None = None
    raw_citation_recall: float | None = None
    raw_citation_precision: float | None = None


class QuestionResult(BaseModel):
    """One row of ``results.jsonl``.

    Attributes:
        id, kind, answerable, question, reference_answer, key_facts: From the question set.
        standalone_question: What was searched for: the question itself, or the rewrite of a
            follow-up asked with history (``Answer.standalone_question``).
        answer: The answer text shown to the user (with ``[n]`` markers), or the abstention.
        abstained: The assistant gave the fixed abstention.
        abstention_reason: Why it abstained.
        answer_kind: What kind of answer it was (``Answer.answer_kind``: ``extractive``,
            ``generative``, ``abstained``, ``declined``...), None when the assistant does not say.
        sentences: The verified answer sentences.
        raw_answer: The model's unverified output.
        removed: Raw sentences the verifier removed, with reasons.
        citations: The answer's citations, each with its validity check.
        retrieved: Retrieved passages, best first, with scores and evidence hits.
        timings: The assistant's own latencies (``Answer.timings``), in seconds.
        latency_s: Wall-clock time of the whole call as measured by the runner, in seconds.
        metrics: Per-question metric values.
        error: The error raised instead of an answer (then the question fails).
        judge: Optional LLM-judge verdicts (``faithful``, ``correct``); None when no judge ran.
        judge_errors: Judge errors for this row: unreadable replies and failed judge calls.
    """

    id: str
    kind: str
    answerable: bool
    question: str
    standalone_question: str | None = None
    reference_answer: str = ""
    key_facts: list[str] = Field(default_factory=list)
    answer: str = ""
    abstained: bool = False
    abstention_reason: str | None = None
    answer_kind: str | None = None
    sentences: list[str] = Field(default_factory=list)
    raw_answer: str = ""
    removed: list[RemovedSentence] = Field(default_factory=list)
    citations: list[CheckedCitation] = Field(default_factory=list)
    retrieved: list[RetrievedPassage] = Field(default_factory=list)
    timings: Timings | None = None
    latency_s: float = 0.0
    metrics: QuestionMetrics = Field(default_factory=QuestionMetrics)
    error: str | None = None
    judge: dict[str, bool | None] | None = None
    judge_errors: list[str] = Field(default_factory=list)

    @property
    def declined(self) -> bool:
        """The assistant did not answer: the fixed abstention, or an answer of a declining kind."""
        return self.abstained or self.answer_kind in DECLINED_KINDS


class ClaimResult(BaseModel):
    """One row of ``results.jsonl`` for a claim set: the verifier's verdict on one labelled claim.

    Attributes:
        id, claim, label, type, evidence: From the claim set (``FORMAT.md``).
        supported: The verdict of ``verify_sentence(claim, passages)``.
        correct: The verdict agrees with the label (supported and ``label == "supported"``, or
            rejected and ``label == "unsupported"``).
        passage_id, source, start, end, quote: The supporting citation when supported (None otherwise).
        evidence_match: The quote contains one of the ``evidence`` spans after
            :func:`assistant.evaluation.textmatch.normalize` (supported claims with evidence that
            were accepted; None otherwise).
        reason: Why the verifier rejected the claim (empty when supported).
        retrieved: The passages retrieved for the claim text, best first (``hit``: holds an evidence span).
        latency_s: Seconds for retrieval and verification.
    """

    id: str
    claim: str
    label: Literal["supported", "unsupported"]
    type: str = ""
    evidence: list[str] = Field(default_factory=list)
    supported: bool
    correct: bool
    passage_id: int | None = None
    source: str | None = None
    start: int | None = None
    end: int | None = None
    quote: str | None = None
    evidence_match: bool | None = None
    reason: str = ""
    retrieved: list[RetrievedPassage] = Field(default_factory=list)
    latency_s: float = 0.0
