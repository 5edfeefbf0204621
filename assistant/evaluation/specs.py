"""The metric catalogue: names, labels, groups and directions (higher or lower is better).

Reports, ``--compare`` and thresholds all look metrics up here, so a name means one thing everywhere.
Formulas and sources are in :mod:`assistant.evaluation.aggregate` and ``docs/evaluation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Prefix of the per-kind pass rates (``pass_rate.fact``, ``pass_rate.unanswerable``, ...).
PER_KIND_PREFIX = "pass_rate."


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is.

    Attributes:
        name: Key in ``metrics.json`` (and in thresholds).
        label: Human name for reports.
        group: ``retrieval``, ``citations``, ``answers``, ``latency`` or ``judge``.
        higher_is_better: Direction; False for latencies, model calls and false abstentions.
        unit: ``""`` for rates and counts, ``"s"`` for seconds.
        judge: LLM-judged: informative only, never a threshold.
    """

    name: str
    label: str
    group: str
    higher_is_better: bool = True
    unit: str = ""
    judge: bool = False


_SPECS = [
    MetricSpec("hit_rate@k", "Hit rate@k", "retrieval"),
    MetricSpec("mrr@k", "MRR@k", "retrieval"),
    MetricSpec("citation_validity", "Citation validity", "citations"),
    MetricSpec("citation_recall", "Citation recall (ALCE, verifier proxy)", "citations"),
    MetricSpec("citation_precision", "Citation precision (ALCE, verifier proxy)", "citations"),
    MetricSpec("faithfulness", "Faithfulness (verifier proxy)", "citations"),
    MetricSpec("raw_citation_recall", "Raw-output citation recall (ALCE, verifier proxy)", "citations"),
    MetricSpec("raw_citation_precision", "Raw-output citation precision (ALCE, verifier proxy)", "citations"),
    MetricSpec("key_fact_accuracy", "Key-fact accuracy (answerable)", "answers"),
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
]
SPECS: dict[str, MetricSpec] = {s.name: s for s in _SPECS}
GROUPS = ["answers", "retrieval", "citations", "latency", "judge"]


def spec_for(name: str) -> MetricSpec | None:
    """The spec of a metric name, including per-kind ``pass_rate.<kind>``; None when unknown."""
    if name in SPECS:
        return SPECS[name]
    if name.startswith(PER_KIND_PREFIX) and len(name) > len(PER_KIND_PREFIX):
        kind = name[len(PER_KIND_PREFIX):]
        return MetricSpec(name, f"Pass rate, kind {kind}", "answers")
    return None
