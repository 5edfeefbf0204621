"""Aggregate metrics over ``results.jsonl`` rows, each with its n and a 95% interval.

Proportions get a Wilson interval (:func:`assistant.evaluation.stats.wilson_interval`); means and
percentiles a percentile bootstrap with a fixed seed (:func:`assistant.evaluation.stats.bootstrap_interval`).
A metric whose population is empty has ``value`` None and ``n`` 0. Rows with an ``error`` count as
failures in pass rates and are left out of every other metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pydantic import BaseModel

from assistant.evaluation.dataset import DECLINE_KINDS, must_abstain
from assistant.evaluation.records import QuestionResult
from assistant.evaluation.specs import ANSWER_KIND_PREFIX, PER_KIND_PREFIX, spec_for
from assistant.evaluation.stats import bootstrap_interval, percentile, wilson_interval


class MetricValue(BaseModel):
    """One aggregate.

    Attributes:
        value: The metric (None when nothing was measured).
        n: Size of the population it was computed over (questions, citations or sentences).
        ci95: 95% interval (low, high), None when n is 0.
        interval: ``wilson`` or ``bootstrap``.
        label: Human name.
        group: Metric group (see :mod:`assistant.evaluation.specs`).
        higher_is_better: Direction.
        unit: ``s`` for seconds, empty otherwise.
        judge: LLM-judged (informative, never a gate).
        count: For shares of a population (``answer_kind.<name>``, ``judge.error_rate``), how many
            items had it.
    """

    value: float | None
    n: int
    ci95: tuple[float, float] | None
    interval: str
    label: str = ""
    group: str = ""
    higher_is_better: bool = True
    unit: str = ""
    judge: bool = False
    count: int | None = None


def described(name: str, value: MetricValue) -> MetricValue:
    """``value`` with the label, group, unit and direction of metric ``name`` from the catalogue."""
    spec = spec_for(name)
    if spec is None:  # pragma: no cover - every name used below is in the catalogue
        raise KeyError(name)
    return value.model_copy(update={"label": spec.label, "group": spec.group, "unit": spec.unit,
                                    "higher_is_better": spec.higher_is_better, "judge": spec.judge})


def proportion(successes: int, n: int) -> MetricValue:
    """``successes / n`` with its Wilson interval (value None when n is 0)."""
    if n == 0:
        return MetricValue(value=None, n=0, ci95=None, interval="wilson")
    return MetricValue(value=successes / n, n=n, ci95=wilson_interval(successes, n), interval="wilson")


def bootstrapped(values: list[float], statistic: Callable[[np.ndarray], float] = np.mean) -> MetricValue:
    """``statistic(values)`` with its percentile-bootstrap interval (value None when empty)."""
    if not values:
        return MetricValue(value=None, n=0, ci95=None, interval="bootstrap")
    return MetricValue(value=float(statistic(np.asarray(values, dtype=float))), n=len(values),
                       ci95=bootstrap_interval(values, statistic), interval="bootstrap")


def _flags(rows: Iterable[Any], get: Callable[[Any], bool | None]) -> MetricValue:
    vals = [v for v in map(get, rows) if v is not None]
    return proportion(sum(vals), len(vals))


def _p(q: float) -> Callable[[np.ndarray], float]:
    return lambda a: percentile(a, q)


def _language_policy(r: QuestionResult) -> bool | None:
    """Whether an ``other_language`` row follows the language policy (see :func:`aggregate`)."""
    from assistant.models import DECLINE_LANGUAGE_TEXT

    if r.kind != "other_language":
        return None
    return bool(r.metrics.passed) or r.answer.strip() == DECLINE_LANGUAGE_TEXT


def aggregate(rows: list[QuestionResult]) -> dict[str, MetricValue]:
    """Every aggregate metric of a run.

    Formulas (population in brackets; "answered" = no error and not declined; "declined" = the
    fixed abstention or an ``answer_kind`` of ``abstained``/``declined``; proportions carry a Wilson
    1927 interval):

    - ``hit_rate@k`` = questions with a hit in the top k / questions [with evidence]. ``mrr@k`` = mean
      of 1/rank of the first hit, 0 when none [with evidence] (Voorhees, TREC-8 QA track, 1999).
    - ``citation_validity`` = valid citations / citations [all citations of all answers].
    - ``verifier_citation_recall``, ``verifier_citation_precision`` = mean over answered questions of
      ALCE's per-answer scores (Gao et al. 2023; :func:`assistant.evaluation.citations.alce_scores`)
      with the product's verifier as the NLI model. ``verifier_agreement`` = answer sentences the
      verifier supports from their cited passages / answer sentences [all sentences of answered
      questions]. All three are the verifier's agreement with its own decisions, not faithfulness:
      never gates. ``raw_citation_*`` = the ALCE scores on the model's unverified output
      [answerable questions the model was asked].
    - ``answer_accuracy`` = answered, every key fact present, and no shown sentence rejected by
      ``verify_sentence`` re-run on it against the answer's passages / questions [answerable, with
      key facts; every answerable kind: ``fact``, ``yes_no``, ``quantity``, ``other_language``...].
    - ``key_fact_accuracy`` = answered with every key fact / questions [answerable, with key facts].
    - ``correct_decline_rate`` = passed / questions [kinds ``unanswerable``, ``stated_unknown``,
      ``false_premise``, ``injection``; errors fail].
    - ``abstention_recall`` = declined / questions [answerable false, kind neither ``false_premise``
      nor ``stated_unknown``]. ``false_abstention_rate`` = declined / questions [answerable, every
      kind]. ``false_premise_pass_rate`` = passed / questions [false_premise]. ``pass_rate`` and
      ``pass_rate.<kind>`` = passed / questions [all; per kind].
    - ``language_policy_rate`` = questions whose answer follows the README's language policy /
      questions [kind ``other_language``]: answered with every key fact, or declined with
      :data:`assistant.models.DECLINE_LANGUAGE_TEXT` (the policy: answers are in English, the
      documents' language; a question in another language is declined with that message).
    - ``answer_kind.<name>`` = questions answered with ``Answer.answer_kind == name`` / questions
      [no error, the assistant records a kind], with the ``count``; informative only.
    - ``judge.faithfulness``, ``judge.answer_correctness`` = YES verdicts / readable verdicts [questions
      the judge ran on]. ``judge.error_rate`` = questions with a judge error (a reply neither YES nor
      NO, or a failed call) / questions the judge ran on, with the ``count``; informative only.
    - ``latency.*.p50``/``p95`` = percentiles of ``Answer.timings`` (seconds): ``retrieval_s``,
      ``first_token_s`` [questions where the model was called], ``total_s``.
      ``model_calls.mean`` = mean model calls per question.

    Args:
        rows: Scored questions (results.jsonl rows).

    Returns:
        Metric name -> value, in catalogue order, per-kind pass rates last.
    """
    ok = [r for r in rows if r.error is None]
    answered = [r for r in ok if not r.declined]
    timed = [r.timings for r in ok if r.timings is not None]
    first_tokens = [t.first_token_s for t in timed if t.first_token_s is not None]
    out: dict[str, MetricValue] = {
        "hit_rate@k": _flags(ok, lambda r: r.metrics.hit),
        "mrr@k": bootstrapped([r.metrics.reciprocal_rank for r in ok if r.metrics.reciprocal_rank is not None]),
        "citation_validity": proportion(sum(r.metrics.citations_valid for r in ok),
                                        sum(r.metrics.citations_total for r in ok)),
        "verifier_citation_recall": bootstrapped([r.metrics.verifier_citation_recall for r in answered
                                                  if r.metrics.verifier_citation_recall is not None]),
        "verifier_citation_precision": bootstrapped([r.metrics.verifier_citation_precision for r in answered
                                                     if r.metrics.verifier_citation_precision is not None]),
        "verifier_agreement": proportion(sum(r.metrics.sentences_supported for r in answered),
                                         sum(r.metrics.sentences_total for r in answered)),
        "raw_citation_recall": bootstrapped([r.metrics.raw_citation_recall for r in ok
                                             if r.metrics.raw_citation_recall is not None]),
        "raw_citation_precision": bootstrapped([r.metrics.raw_citation_precision for r in ok
                                                if r.metrics.raw_citation_precision is not None]),
        "answer_accuracy": _flags(ok, lambda r: r.metrics.answer_correct if r.answerable else None),
        "key_fact_accuracy": _flags(ok, lambda r: r.metrics.key_facts_found if r.answerable else None),
        "correct_decline_rate": _flags(rows, lambda r: bool(r.metrics.passed) if r.kind in DECLINE_KINDS else None),
        "language_policy_rate": _flags(rows, _language_policy),
        "abstention_recall": _flags(ok, lambda r: r.declined if must_abstain(r.answerable, r.kind) else None),
        "false_abstention_rate": _flags(ok, lambda r: r.declined if r.answerable else None),
        "false_premise_pass_rate": _flags(rows, lambda r: r.metrics.passed if r.kind == "false_premise" else None),
        "pass_rate": _flags(rows, lambda r: r.metrics.passed),
        "latency.retrieval_s.p50": bootstrapped([t.retrieval_s for t in timed], _p(50)),
        "latency.retrieval_s.p95": bootstrapped([t.retrieval_s for t in timed], _p(95)),
        "latency.time_to_first_token_s.p50": bootstrapped(first_tokens, _p(50)),
        "latency.time_to_first_token_s.p95": bootstrapped(first_tokens, _p(95)),
        "latency.total_s.p50": bootstrapped([t.total_s for t in timed], _p(50)),
        "latency.total_s.p95": bootstrapped([t.total_s for t in timed], _p(95)),
        "model_calls.mean": bootstrapped([float(t.model_calls) for t in timed]),
    }
    attempted = [r for r in ok if r.judge is not None or r.judge_errors]  # the judge ran on these
    if attempted:
        judged = [r.judge for r in attempted if r.judge]
        out["judge.faithfulness"] = _flags(judged, lambda j: j.get("faithful"))
        out["judge.answer_correctness"] = _flags(judged, lambda j: j.get("correct"))
        erred = sum(bool(r.judge_errors) for r in attempted)
        out["judge.error_rate"] = proportion(erred, len(attempted)).model_copy(update={"count": erred})
    for kind in sorted({r.kind for r in rows}):
        out[PER_KIND_PREFIX + kind] = _flags(rows, lambda r, k=kind: r.metrics.passed if r.kind == k else None)
    kinds = [r.answer_kind for r in ok if r.answer_kind]
    for kind in sorted(set(kinds)):
        share = proportion(kinds.count(kind), len(kinds))
        out[ANSWER_KIND_PREFIX + kind] = share.model_copy(update={"count": kinds.count(kind)})
    return {name: described(name, v) for name, v in out.items()}
