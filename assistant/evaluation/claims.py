"""Claim sets: measure the product's grounding verifier on labelled claims, on its own.

A claim set (``../shared/eval/FORMAT.md``, e.g. ``claims-dev.jsonl``) holds single-sentence claims
about the corpus, each labelled ``supported`` (the article says it, maybe in other words) or
``unsupported`` (one detail of a true sentence changed: role swap, date from the next sentence,
added clause...). For every claim the assistant retrieves passages for the claim text
(:meth:`assistant.service.Assistant.retrieve`, the retriever and ``top_k`` of a question), and the
verifier decides (:meth:`assistant.verifier.GroundingVerifier.verify_sentence`). Unlike the
verifier-agreement metrics of a question run, the verdicts are graded against labels the verifier
never saw.

Metrics (:func:`aggregate_claims`), each with its n and a Wilson 95% interval (Wilson 1927):

- ``claim_catch_rate`` = unsupported claims rejected / unsupported claims: the verifier's
  *specificity* (true-negative rate) with "supported" as the positive class (Yerushalmy 1947;
  Altman & Bland, BMJ 1994).
- ``claim_acceptance_rate`` = supported claims accepted / supported claims: its *sensitivity*
  (true-positive rate).
- ``claim_catch_rate.type.<type>``, ``claim_acceptance_rate.type.<type>``: the same per ``type``.
- ``claim_evidence_match`` = accepted supported claims whose quote contains one of the claim's
  ``evidence`` spans (after :func:`assistant.evaluation.textmatch.normalize`) / accepted supported
  claims with evidence: accepted for the right reason, from the right sentence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.evaluation.aggregate import MetricValue, bootstrapped, described, proportion
from assistant.evaluation.dataset import LineError, NonBlank, load_rows
from assistant.evaluation.records import ClaimResult, RetrievedPassage
from assistant.evaluation.specs import ACCEPT_TYPE_PREFIX, CATCH_TYPE_PREFIX
from assistant.evaluation.stats import percentile
from assistant.evaluation.textmatch import contains_evidence
from assistant.models import Passage

SUPPORTED = "supported"
UNSUPPORTED = "unsupported"


class EvalClaim(BaseModel):
    """One labelled claim (fields as in ``FORMAT.md``).

    Attributes:
        id: Stable identifier, unique in the file.
        claim: One sentence, as a model might write it.
        label: ``supported`` or ``unsupported``.
        type: How the claim was made (``paraphrase``, ``role_swap``, ...); ``other`` when absent.
        evidence: For supported claims, verbatim article spans that support it.
        line: 1-based line of the file (0 when built in code).
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: NonBlank
    claim: NonBlank
    label: Literal["supported", "unsupported"]
    type: str = "other"
    evidence: list[str] = Field(default_factory=list)
    line: int = 0

    @field_validator("evidence")
    @classmethod
    def _no_empty_entries(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("an evidence entry is empty (it would match any quote)")
        return values


@dataclass(frozen=True)
class ClaimSet:
    """The valid claims of a file, in file order, and the lines that were skipped."""

    path: Path
    claims: list[EvalClaim]
    errors: list[LineError]


def parse_claim(text: str, line: int) -> EvalClaim:
    """Parse one JSON Lines row into a claim.

    Raises:
        ValueError: not JSON, not an object, or a field missing or of the wrong type.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    obj.pop("line", None)
    if not obj.get("type"):
        obj.pop("type", None)
    try:
        return EvalClaim(**obj, line=line)
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "object"
            parts.append(f"{where}: required field missing" if e["type"] == "missing"
                         else f"{where}: {e['msg'].removeprefix('Value error, ')}")
        raise ValueError("; ".join(parts)) from None


def load_claims(path: str | Path, strict: bool = False) -> ClaimSet:
    """Read a claim set; malformed lines are reported by number and skipped (or raise, ``strict``).

    Raises:
        assistant.evaluation.dataset.DatasetError: unreadable or empty file, no valid claim, or
            (``strict``) a malformed line.
    """
    claims, errors = load_rows(path, parse_claim, lambda c: c.id, strict, "claim")
    return ClaimSet(Path(path), claims, errors)


class SentenceVerifier(Protocol):
    """What claim scoring needs of the verifier (``GroundingVerifier.verify_sentence``)."""

    def verify_sentence(self, sentence: str, passages: list[Passage], index: int = 0):  # noqa: ANN201
        """Return a verdict with ``supported``, ``citations`` and ``reason``."""


def score_claim(claim: EvalClaim, passages: list[Passage], verifier: SentenceVerifier,
                latency_s: float = 0.0) -> ClaimResult:
    """Decide one claim with the verifier and grade the verdict against the label.

    Args:
        claim: The labelled claim.
        passages: The passages retrieved for the claim text.
        verifier: The product's verifier.
        latency_s: Seconds retrieval and verification took.

    Returns:
        The ``results.jsonl`` row: verdict, correctness, the supporting quote and offsets when
        supported, the reason when not, and the retrieved passages.
    """
    verdict = verifier.verify_sentence(claim.claim, passages)
    # a claim is supported only as a whole: a verdict that kept just a leading clause rejects the rest
    supported = bool(verdict.supported) and not getattr(verdict, "trimmed", False)
    cite = verdict.citations[0] if supported and verdict.citations else None
    match = None
    if supported and claim.label == SUPPORTED and claim.evidence:
        match = cite is not None and contains_evidence(cite.quote, claim.evidence)
    return ClaimResult(
        id=claim.id, claim=claim.claim, label=claim.label, type=claim.type, evidence=list(claim.evidence),
        supported=supported, correct=supported == (claim.label == SUPPORTED),
        passage_id=cite.passage_id if cite else None, source=cite.source if cite else None,
        start=cite.start if cite else None, end=cite.end if cite else None, quote=cite.quote if cite else None,
        evidence_match=match, reason="" if supported else (
            (f"only its leading clause is supported: {verdict.text!r}; " if getattr(verdict, "trimmed", False) else "")
            + (verdict.reason or "not supported")),
        retrieved=[RetrievedPassage(passage_id=p.passage_id, chunk_id=p.chunk_id, source=p.source, start=p.start,
                                    end=p.end, score=p.score, lexical_score=getattr(p, "lexical_score", None),
                                    hit=contains_evidence(p.text, claim.evidence) if claim.evidence else None)
                   for p in passages],
        latency_s=latency_s,
    )


class ClaimAssistant(Protocol):
    """What a claim run needs of :class:`assistant.service.Assistant`."""

    verifier: SentenceVerifier

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """Top-k passages for a text."""


def run_claims(assistant: ClaimAssistant, claims: list[EvalClaim],
               on_result: Callable[[ClaimResult], None] | None = None) -> list[ClaimResult]:
    """Retrieve passages for each claim text and let the assistant's verifier decide.

    Args:
        assistant: Built with :func:`assistant.composition.build_assistant`, index ready.
        claims: The claims, in order.
        on_result: Called with each row as soon as it is scored (progress display).

    Returns:
        One row per claim, in claim order.
    """
    rows = []
    for c in claims:
        t0 = time.perf_counter()
        passages = assistant.retrieve(c.claim)
        row = score_claim(c, passages, assistant.verifier)
        row.latency_s = time.perf_counter() - t0
        rows.append(row)
        if on_result is not None:
            on_result(row)
    return rows


def _rate(rows: list[ClaimResult]) -> MetricValue:
    return proportion(sum(r.correct for r in rows), len(rows))


def aggregate_claims(rows: list[ClaimResult]) -> dict[str, MetricValue]:
    """Every aggregate of a claim run (formulas in the module docstring).

    Returns:
        ``claim_catch_rate``, ``claim_acceptance_rate``, ``claim_evidence_match``, latency
        percentiles, then ``claim_catch_rate.type.<type>`` and ``claim_acceptance_rate.type.<type>``
        for each type present (sorted). A rate whose population is empty is None with n = 0.
    """
    unsupported = [r for r in rows if r.label == UNSUPPORTED]
    supported = [r for r in rows if r.label == SUPPORTED]
    matched = [r.evidence_match for r in supported if r.evidence_match is not None]
    latencies = [r.latency_s for r in rows]
    out: dict[str, MetricValue] = {
        "claim_catch_rate": _rate(unsupported),
        "claim_acceptance_rate": _rate(supported),
        "claim_evidence_match": proportion(sum(matched), len(matched)),
        "claim_latency_s.p50": bootstrapped(latencies, lambda a: percentile(a, 50)),
        "claim_latency_s.p95": bootstrapped(latencies, lambda a: percentile(a, 95)),
    }
    for prefix, population in ((CATCH_TYPE_PREFIX, unsupported), (ACCEPT_TYPE_PREFIX, supported)):
        for t in sorted({r.type for r in population}):
            out[prefix + t] = _rate([r for r in population if r.type == t])
    return {name: described(name, value) for name, value in out.items()}


def types_by_label(claims: list[EvalClaim]) -> dict[str, set[str]]:
    """The claim types of each label (which per-type gates a set can measure)."""
    out: dict[str, set[str]] = {SUPPORTED: set(), UNSUPPORTED: set()}
    for c in claims:
        out[c.label].add(c.type)
    return out
