"""The metric catalogue: names, labels, groups and directions (higher or lower is better).

Reports, ``--compare`` and thresholds all look metrics up here, so a name means one thing everywhere.
Formulas and sources are in :mod:`assistant.evaluation.aggregate` and ``docs/evaluation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Prefix of the per-kind pass rates (``pass_rate.fact``, ``pass_rate.unanswerable``, ...).
PER_KIND_PREFIX = "pass_rate."
#: Prefix of the shares of each kind of answer given (``answer_kind.extractive``, ...).
ANSWER_KIND_PREFIX = "answer_kind."
#: Prefixes of the per-type claim rates (``claim_catch_rate.type.role_swap``, ...).
CATCH_TYPE_PREFIX = "claim_catch_rate.type."
ACCEPT_TYPE_PREFIX = "claim_acceptance_rate.type."

#: Why the verifier's agreement with itself is never a gate (thresholds refuse it with this reason).
SELF_GRADED = ("computed by the product's own verifier on sentences that verifier already kept, so it is "
               "agreement with the verifier, not faithfulness, and cannot fail; it is informative only and "
               "cannot be a gate (gate claim_catch_rate / claim_acceptance_rate on a claim set, and "
               "answer_accuracy, instead)")

#: Metric names used before the verifier-agreement metrics were named for what they are.
RENAMED = {"faithfulness": "verifier_agreement", "citation_recall": "verifier_citation_recall",
           "citation_precision": "verifier_citation_precision"}


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is.

    Attributes:
        name: Key in ``metrics.json`` (and in thresholds).
        label: Human name for reports.
        group: ``answers``, ``retrieval``, ``citations``, ``latency``, ``judge`` (question sets) or
            ``claims`` (claim sets).
        higher_is_better: Direction; False for latencies, model calls and false abstentions.
        unit: ``""`` for rates and counts, ``"s"`` for seconds.
        judge: LLM-judged: informative only, never a threshold.
        not_a_gate: Why the metric can never be a threshold (empty when it can be one).
        applies_to: ``questions`` or ``claims``: the kind of set the metric is measured on.
    """

    name: str
    label: str
    group: str
    higher_is_better: bool = True
    unit: str = ""
    judge: bool = False
    not_a_gate: str = ""
    applies_to: str = "questions"


_SPECS = [
    MetricSpec("hit_rate@k", "Hit rate@k", "retrieval"),
    MetricSpec("mrr@k", "MRR@k", "retrieval"),
    MetricSpec("citation_validity", "Citation validity", "citations"),
    MetricSpec("verifier_citation_recall", "Verifier citation recall (ALCE form; agreement with the verifier)",
               "citations", not_a_gate=SELF_GRADED),
    MetricSpec("verifier_citation_precision", "Verifier citation precision (ALCE form; agreement with the verifier)",
               "citations", not_a_gate=SELF_GRADED),
    MetricSpec("verifier_agreement", "Verifier agreement (shown sentences the verifier supports; not faithfulness)",
               "citations", not_a_gate=SELF_GRADED),
    MetricSpec("raw_citation_recall", "Raw-output citation recall (ALCE, verifier proxy)", "citations"),
    MetricSpec("raw_citation_precision", "Raw-output citation precision (ALCE, verifier proxy)", "citations"),
    MetricSpec("answer_accuracy", "Answer accuracy (answered, key facts, no sentence rejected)", "answers"),
    MetricSpec("key_fact_accuracy", "Key-fact accuracy (answerable)", "answers"),
    MetricSpec("correct_decline_rate", "Correct declines (unanswerable, stated unknown, false premise, injection)",
               "answers"),
    MetricSpec("language_policy_rate", "Language policy followed (other_language: answered, or declined as the "
               "README says)", "answers"),
    MetricSpec("abstention_recall", "Abstention recall (unanswerable)", "answers"),
    MetricSpec("false_abstention_rate", "False-abstention rate (answerable)", "answers", higher_is_better=False),
    MetricSpec("false_premise_pass_rate", "False-premise pass rate", "answers"),
    MetricSpec("pass_rate", "Pass rate (all questions)", "answers"),
    MetricSpec("latency.retrieval_s.p50", "Retrieval latency p50", "latency", False, "s"),
    MetricSpec("latency.retrieval_s.p95", "Retrieval latency p95", "latency", False, "s"),
    MetricSpec("latency.time_to_first_token_s.p50", "Time to first token p50", "latency", False, "s"),
    MetricSpec("latency.time_to_first_token_s.p95", "Time to first token p95", "latency", False, "s"),
    MetricSpec("latency.total_s.p50", "Total answer time p50", "latency", False, "s"),
    MetricSpec("latency.total_s.p95", "Total answer time p95", "latency", False, "s"),
    MetricSpec("model_calls.mean", "Model calls per question", "latency", False),
    MetricSpec("judge.faithfulness", "LLM-judged faithfulness [judge]", "judge", judge=True),
    MetricSpec("judge.answer_correctness", "LLM-judged answer correctness [judge]", "judge", judge=True),
    MetricSpec("judge.error_rate", "Questions with a judge error (unreadable reply or failed call) [judge]", "judge",
               higher_is_better=False, judge=True),
    MetricSpec("claim_catch_rate", "Claim catch rate (unsupported claims rejected)", "claims", applies_to="claims"),
    MetricSpec("claim_acceptance_rate", "Claim acceptance rate (supported claims accepted)", "claims",
               applies_to="claims"),
    MetricSpec("claim_evidence_match", "Evidence match of accepted supported claims (quote holds an evidence span)",
               "claims", applies_to="claims"),
    MetricSpec("claim_latency_s.p50", "Claim retrieval + verification time p50", "latency", False, "s",
               applies_to="claims"),
    MetricSpec("claim_latency_s.p95", "Claim retrieval + verification time p95", "latency", False, "s",
               applies_to="claims"),
]
SPECS: dict[str, MetricSpec] = {s.name: s for s in _SPECS}
GROUPS = ["claims", "answers", "retrieval", "citations", "latency", "judge"]

_NO_DIRECTION = "a count of which kind of answer was given, with no better direction; informative only, it cannot be a gate"


def spec_for(name: str) -> MetricSpec | None:
    """The spec of a metric name, including the per-kind and per-type families; None when unknown.

    Families: ``pass_rate.<kind>``, ``answer_kind.<name>`` (informative, never a gate),
    ``claim_catch_rate.type.<type>`` and ``claim_acceptance_rate.type.<type>``.
    """
    if name in SPECS:
        return SPECS[name]
    for prefix, label, group, extra in (
        (PER_KIND_PREFIX, "Pass rate, kind {}", "answers", {}),
        (ANSWER_KIND_PREFIX, "Answers of kind {} (share of questions)", "answers", {"not_a_gate": _NO_DIRECTION}),
        (CATCH_TYPE_PREFIX, "Catch rate, type {}", "claims", {"applies_to": "claims"}),
        (ACCEPT_TYPE_PREFIX, "Acceptance rate, type {}", "claims", {"applies_to": "claims"}),
    ):
        if name.startswith(prefix) and len(name) > len(prefix):
            return MetricSpec(name, label.format(name[len(prefix):]), group, **extra)
    return None
