"""Quality gates: floors (``--fail-under``, ``[min]``) and ceilings (``--fail-over``, ``[max]``).

A thresholds file is TOML or JSON with two optional tables, each mapping metric name to a number::

    [min]                      # fail when the metric is below
    "hit_rate@k" = 0.9
    [max]                      # fail when the metric is above
    "latency.total_s.p95" = 30.0

A floor is only accepted on a metric where higher is better and a ceiling only where lower is better,
so a gate can never point the wrong way. Never gates: LLM-judged metrics, the counts of each kind
of answer, and the verifier's agreement with itself (``verifier_agreement``,
``verifier_citation_recall``, ``verifier_citation_precision``): they are computed by the verifier
that already kept only the sentences it supports, so they cannot fail. The names they had before
(``faithfulness``, ``citation_recall``, ``citation_precision``) are refused with that reason.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.specs import RENAMED, SELF_GRADED, SPECS, spec_for

Bound = Literal["min", "max"]


class ThresholdError(ValueError):
    """A threshold is malformed, names an unknown metric, or points the wrong way (usage error)."""


@dataclass(frozen=True)
class Threshold:
    """One gate.

    Attributes:
        metric: Metric name (see :mod:`assistant.evaluation.specs`).
        value: The bound.
        bound: ``min`` (fail when below) or ``max`` (fail when above).
        origin: Where it came from (flag or file), for messages.
    """

    metric: str
    value: float
    bound: Bound
    origin: str


def _make(metric: str, value: object, bound: Bound, origin: str) -> Threshold:
    metric = metric.strip()
    if metric in RENAMED:
        raise ThresholdError(f"{origin}: {metric} is now {RENAMED[metric]}: it is {SELF_GRADED}")
    spec = spec_for(metric)
    if spec is None:
        raise ThresholdError(f"{origin}: unknown metric {metric!r}; known: {', '.join(SPECS)}, pass_rate.<kind>, "
                             "claim_catch_rate.type.<type>, claim_acceptance_rate.type.<type>")
    if spec.judge:
        raise ThresholdError(f"{origin}: {metric} is LLM-judged and informative only; it cannot be a gate")
    if spec.not_a_gate:
        raise ThresholdError(f"{origin}: {metric} is {spec.not_a_gate}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ThresholdError(f"{origin}: {metric}: the threshold must be a finite number, got {value!r}")
    if spec.unit == "" and metric != "model_calls.mean" and not 0.0 <= value <= 1.0:
        raise ThresholdError(f"{origin}: {metric} is a proportion; its threshold must be between 0 and 1, got {value}")
    if value < 0:
        raise ThresholdError(f"{origin}: {metric}: the threshold cannot be negative, got {value}")
    if bound == "min" and not spec.higher_is_better:
        raise ThresholdError(f"{origin}: lower is better for {metric}; give it a maximum (--fail-over, [max])")
    if bound == "max" and spec.higher_is_better:
        raise ThresholdError(f"{origin}: higher is better for {metric}; give it a minimum (--fail-under, [min])")
    return Threshold(metric, float(value), bound, origin)


def parse_assignment(text: str, bound: Bound) -> Threshold:
    """Parse ``METRIC=VALUE`` from ``--fail-under`` (``bound="min"``) or ``--fail-over`` (``"max"``).

    Raises:
        ThresholdError: not ``name=number``, unknown metric, or wrong direction.
    """
    flag = "--fail-under" if bound == "min" else "--fail-over"
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ThresholdError(f"{flag} {text!r}: expected METRIC=VALUE, e.g. {flag} hit_rate@k=0.8")
    try:
        value = float(raw)
    except ValueError:
        raise ThresholdError(f"{flag} {text!r}: {raw!r} is not a number") from None
    return _make(name, value, bound, f"{flag} {text}")


def load_thresholds(path: str | Path) -> list[Threshold]:
    """Read a thresholds file (``.toml``, or ``.json``; layout in the module docstring).

    Raises:
        ThresholdError: missing or unreadable file, bad syntax, unknown table or metric, a value that
            is not a number, or a bound in the wrong direction.
    """
    p = Path(path)
    if not p.is_file():
        raise ThresholdError(f"{p}: no such thresholds file")
    try:
        text = p.read_text(encoding="utf-8")
        doc = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdError(f"{p}: cannot parse ({exc})") from None
    if not isinstance(doc, dict):
        raise ThresholdError(f"{p}: expected an object with \"min\" and/or \"max\" tables")
    extra = set(doc) - {"min", "max"}
    if extra:
        raise ThresholdError(f"{p}: unknown key(s) {sorted(extra)}; only [min] and [max] tables are allowed")
    out = []
    for bound in ("min", "max"):
        table = doc.get(bound, {})
        if not isinstance(table, dict):
            raise ThresholdError(f"{p}: [{bound}] must be a table of metric = number")
        out += [_make(k, v, bound, f"{p} [{bound}]") for k, v in table.items()]
    return out


def violations(thresholds: list[Threshold], metrics: dict[str, MetricValue]) -> list[str]:
    """The gates a run fails, as messages; empty when it passes them all.

    A gated metric that was not measured (absent, or n = 0) fails: a gate must never pass silently.
    """
    out = []
    for t in thresholds:
        m = metrics.get(t.metric)
        if m is None or m.value is None:
            out.append(f"{t.metric}: not measured (no question it applies to); gate {t.bound} {t.value:g}")
        elif t.bound == "min" and m.value < t.value:
            out.append(f"{t.metric} = {m.value:.4g} is below the minimum {t.value:g} (n={m.n}; {t.origin})")
        elif t.bound == "max" and m.value > t.value:
            out.append(f"{t.metric} = {m.value:.4g} is above the maximum {t.value:g} (n={m.n}; {t.origin})")
    return out
