"""Thresholds: parsing flags and files, direction checks, and which gates a run fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.thresholds import ThresholdError, load_thresholds, parse_assignment, violations

COMMITTED = Path(__file__).resolve().parent.parent / "assistant" / "evaluation" / "thresholds.toml"


def _m(value: float | None, n: int = 10) -> MetricValue:
    return MetricValue(value=value, n=n if value is not None else 0, ci95=None, interval="wilson")


def test_flags_parse_into_floors_and_ceilings() -> None:
    t = parse_assignment("hit_rate@k=0.8", "min")
    assert (t.metric, t.value, t.bound) == ("hit_rate@k", 0.8, "min")
    assert parse_assignment("latency.total_s.p95=12", "max").value == 12.0
    assert parse_assignment("pass_rate.fact=0.5", "min").metric == "pass_rate.fact"


@pytest.mark.parametrize(("text", "bound", "message"), [
    ("hit_rate@k", "min", "METRIC=VALUE"),
    ("hit_rate@k=high", "min", "not a number"),
    ("recall=0.5", "min", "unknown metric"),
    ("false_abstention_rate=0.2", "min", "lower is better"),
    ("key_fact_accuracy=0.5", "max", "higher is better"),
    ("judge.faithfulness=0.5", "min", "never|cannot be a gate"),
])
def test_bad_flags_are_usage_errors(text: str, bound: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        parse_assignment(text, bound)


def test_toml_and_json_files_give_the_same_gates(tmp_path: Path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text('[min]\n"hit_rate@k" = 0.9\n[max]\nfalse_abstention_rate = 0.25\n', encoding="utf-8")
    js = tmp_path / "t.json"
    js.write_text(json.dumps({"min": {"hit_rate@k": 0.9}, "max": {"false_abstention_rate": 0.25}}), encoding="utf-8")
    a, b = load_thresholds(toml), load_thresholds(js)
    assert [(t.metric, t.value, t.bound) for t in a] == [(t.metric, t.value, t.bound) for t in b] == [
        ("hit_rate@k", 0.9, "min"), ("false_abstention_rate", 0.25, "max")]


@pytest.mark.parametrize(("content", "message"), [
    ("[minimum]\nx = 1\n", "unknown key"),
    ("[min]\nhit_rate@k = 0.9\n", "cannot parse"),  # bare key with @ is not TOML
    ('[min]\n"hit_rate@k" = "high"\n', "finite number"),
    ('[min]\n"hit_rate@k" = true\n', "finite number"),
    ('[max]\n"hit_rate@k" = 0.5\n', "higher is better"),
])
def test_bad_threshold_files_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "t.toml"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ThresholdError, match=message):
        load_thresholds(p)
    with pytest.raises(ThresholdError, match="no such"):
        load_thresholds(tmp_path / "missing.toml")


def test_violations_name_each_failed_gate_and_unmeasured_metrics_fail() -> None:
    gates = [parse_assignment("hit_rate@k=0.9", "min"), parse_assignment("mrr@k=0.5", "min"),
             parse_assignment("latency.total_s.p95=10", "max"), parse_assignment("pass_rate.fact=0.5", "min"),
             parse_assignment("false_premise_pass_rate=0.5", "min")]
    metrics = {"hit_rate@k": _m(0.85), "mrr@k": _m(0.5), "latency.total_s.p95": _m(12.5),
               "pass_rate.fact": _m(0.75), "false_premise_pass_rate": _m(None)}
    got = violations(gates, metrics)
    assert len(got) == 3
    assert got[0].startswith("hit_rate@k = 0.85 is below the minimum 0.9")
    assert got[1].startswith("latency.total_s.p95 = 12.5 is above the maximum 10")
    assert got[2].startswith("false_premise_pass_rate: not measured")
    assert violations(gates[1:2], metrics) == []  # equal to the floor passes


def test_the_committed_thresholds_file_is_valid_and_gates_both_ways() -> None:
    gates = load_thresholds(COMMITTED)
    bounds = {t.bound for t in gates}
    assert bounds == {"min", "max"}
    names = {t.metric for t in gates}
    assert {"hit_rate@k", "key_fact_accuracy", "abstention_recall", "citation_validity"} <= names


@pytest.mark.parametrize("text", ["pass_rate=1.5", "key_fact_accuracy=-0.1", "hit_rate@k=2"])
def test_a_proportion_threshold_outside_0_1_is_refused(text: str) -> None:
    from assistant.evaluation.thresholds import ThresholdError, parse_assignment

    with pytest.raises(ThresholdError, match="between 0 and 1"):
        parse_assignment(text, "min")


@pytest.mark.parametrize("name", ["verifier_agreement", "verifier_citation_recall", "verifier_citation_precision"])
def test_the_verifier_agreement_metrics_are_refused_as_gates_saying_why(tmp_path: Path, name: str) -> None:
    p = tmp_path / "t.toml"
    p.write_text(f'[min]\n{name} = 0.99\n', encoding="utf-8")
    with pytest.raises(ThresholdError, match=f"{name} is computed by the product's own verifier.*not faithfulness"):
        load_thresholds(p)
    with pytest.raises(ThresholdError, match="cannot be a gate"):
        parse_assignment(f"{name}=0.5", "min")


@pytest.mark.parametrize(("old", "new"), [("faithfulness", "verifier_agreement"),
                                          ("citation_recall", "verifier_citation_recall"),
                                          ("citation_precision", "verifier_citation_precision")])
def test_the_old_names_are_refused_with_the_new_name_and_the_reason(tmp_path: Path, old: str, new: str) -> None:
    p = tmp_path / "t.toml"
    p.write_text(f'[min]\n{old} = 0.99\n', encoding="utf-8")
    with pytest.raises(ThresholdError, match=f"{old} is now {new}: .*cannot be a gate"):
        load_thresholds(p)


def test_claim_and_accuracy_metrics_can_be_gated_but_answer_kind_counts_cannot() -> None:
    for text in ("claim_catch_rate=0.9", "claim_acceptance_rate=0.9", "claim_evidence_match=0.5",
                 "claim_catch_rate.type.role_swap=0.9", "claim_acceptance_rate.type.paraphrase=0.9",
                 "answer_accuracy=0.5", "correct_decline_rate=0.9"):
        assert parse_assignment(text, "min").bound == "min"
    with pytest.raises(ThresholdError, match="higher is better"):
        parse_assignment("claim_catch_rate=0.9", "max")
    with pytest.raises(ThresholdError, match="no better direction"):
        parse_assignment("answer_kind.extractive=0.5", "min")


def test_the_committed_file_gates_nothing_the_verifier_grades_itself() -> None:
    from assistant.evaluation.specs import spec_for

    for t in load_thresholds(COMMITTED):
        spec = spec_for(t.metric)
        assert spec is not None and not spec.not_a_gate and not spec.judge, t.metric
