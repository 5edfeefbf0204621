"""``assistant eval`` end to end with the fake backends: output files, exit codes, --compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev-questions.jsonl"
FAKE = ["--llm", "fake", "--embedding", "fake"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval-index")


def _eval(data_dir: Path, *args: str):  # noqa: ANN202
    return runner.invoke(app, ["eval", *args, *FAKE, "--data-dir", str(data_dir)])


@pytest.fixture(scope="module")
def dev_run(data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "dev"
    result = _eval(data_dir, str(DEV), "--out", str(out), "-k", "3")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    p = tmp_path / "small.jsonl"
    p.write_text("\n".join([lines[0], lines[12]]) + "\n", encoding="utf-8")  # one fact, one unanswerable
    return p


def test_results_have_one_row_per_question_with_answer_citations_passages_metrics_latency(dev_run: Path) -> None:
    rows = [json.loads(line) for line in (dev_run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [r["id"] for r in rows] == [q["id"] for q in questions]
    for r in rows:
        assert {"question", "answer", "abstained", "citations", "retrieved", "metrics", "timings", "latency_s"} <= set(r)
        # -k 3; a request the assistant declines before retrieval (e.g. not in English) retrieves nothing
        assert len(r["retrieved"]) == 3 or (r["answer_kind"] == "declined" and not r["retrieved"]), r["id"]
        assert all({"chunk_id", "score", "hit"} <= set(p) for p in r["retrieved"])
        assert r["timings"]["total_s"] > 0 and "passed" in r["metrics"]


def test_metrics_json_has_every_aggregate_with_n_and_interval(dev_run: Path) -> None:
    doc = json.loads((dev_run / "metrics.json").read_text(encoding="utf-8"))
    questions = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert doc["run"]["k"] == 3 and doc["run"]["questions"] == len(questions) and doc["run"]["llm_backend"] == "fake"
    assert doc["run"]["set_kind"] == "questions"
    m = doc["metrics"]
    for name in ("hit_rate@k", "mrr@k", "citation_validity", "verifier_citation_recall", "verifier_citation_precision",
                 "verifier_agreement", "answer_accuracy", "correct_decline_rate",
                 "key_fact_accuracy", "abstention_recall", "false_abstention_rate", "false_premise_pass_rate",
                 "latency.retrieval_s.p95", "latency.total_s.p95",
                 "model_calls.mean", "pass_rate.fact", "pass_rate.unanswerable"):
        assert m[name]["n"] > 0 and len(m[name]["ci95"]) == 2, name
        assert m[name]["ci95"][0] <= m[name]["value"] <= m[name]["ci95"][1], name
    # time to first token exists only for answers the model wrote (an extractive answer calls no model)
    first = m["latency.time_to_first_token_s.p50"]
    assert first["n"] == sum(r["timings"]["first_token_s"] is not None for r in
                             map(json.loads, (dev_run / "results.jsonl").read_text(encoding="utf-8").splitlines()))
    must_decline = [q for q in questions if not q["answerable"] and q["kind"] not in ("false_premise", "stated_unknown")]
    answerable = [q for q in questions if q["answerable"] and q["key_facts"]]
    declines = [q for q in questions if q["kind"] in ("unanswerable", "stated_unknown", "false_premise", "injection")]
    assert m["abstention_recall"]["n"] == len(must_decline)
    # every answerable kind (fact, yes_no, quantity, other_language) counts, not only fact
    assert m["key_fact_accuracy"]["n"] == m["answer_accuracy"]["n"] == len(answerable)
    assert {q["kind"] for q in answerable} > {"fact"}
    assert m["false_abstention_rate"]["n"] == sum(q["answerable"] for q in questions)
    assert m["correct_decline_rate"]["n"] == len(declines)
    for name in ("faithfulness", "citation_recall", "citation_precision"):
        assert name not in m  # renamed: the verifier's agreement with itself is not faithfulness
    # the fake model's answers are verified passage sentences: every citation checks out against the file
    assert m["citation_validity"]["value"] == 1.0


def test_report_lists_failing_questions_first_and_embeds_the_plots(dev_run: Path) -> None:
    report = (dev_run / "report.md").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in (dev_run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    failing = [r["id"] for r in rows if not r["metrics"]["passed"]]
    assert failing, "the fake model fails some dev questions; the ordering check needs one"
    table = report.split("## Questions (failing first)")[1].split("## Failing questions in detail")[0]
    results = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "| d" in line]
    assert results == ["**FAIL**"] * len(failing) + ["pass"] * (len(rows) - len(failing))
    assert "| Hit rate@k (`hit_rate@k`) |" in report
    for png in ("pass_rates.png", "latency.png"):
        assert f"]({png})" in report
        data = (dev_run / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_fail_under_exits_1_and_names_the_metric(data_dir: Path, small_set: Path, tmp_path: Path) -> None:
    ok = _eval(data_dir, str(small_set), "--out", str(tmp_path / "a"), "--fail-under", "pass_rate=0.0")
    assert ok.exit_code == 0, ok.output
    impossible = json.dumps({"id": "zz", "question": "Who invited Min Aung Hlaing to Russia?", "answerable": True,
                             "key_facts": ["a fact no answer holds qxz"], "kind": "fact"})
    failing = tmp_path / "failing.jsonl"
    failing.write_text(small_set.read_text(encoding="utf-8") + impossible + "\n", encoding="utf-8")
    bad = _eval(data_dir, str(failing), "--out", str(tmp_path / "b"), "--fail-under", "pass_rate=1.0",
                "--fail-under", "hit_rate@k=0")
    assert bad.exit_code == 1
    assert "pass_rate" in bad.stderr and "below the minimum 1 " in bad.stderr and "hit_rate@k" not in bad.stderr


def test_fail_over_and_threshold_files(data_dir: Path, small_set: Path, tmp_path: Path) -> None:
    over = _eval(data_dir, str(small_set), "--out", str(tmp_path / "a"), "--fail-over", "latency.total_s.p95=0")
    assert over.exit_code == 1 and "above the maximum" in over.stderr
    gates = tmp_path / "gates.toml"
    gates.write_text('[min]\n"hit_rate@k" = 0.0\n[max]\n"latency.total_s.p95" = 600\n', encoding="utf-8")
    assert _eval(data_dir, str(small_set), "--out", str(tmp_path / "b"), "--thresholds", str(gates)).exit_code == 0
    gates.write_text('[max]\n"hit_rate@k" = 0.5\n', encoding="utf-8")
    wrong_way = _eval(data_dir, str(small_set), "--out", str(tmp_path / "c"), "--thresholds", str(gates))
    assert wrong_way.exit_code == 2 and "higher is better" in wrong_way.stderr
    assert not (tmp_path / "c").exists()  # usage errors are caught before anything runs


def test_malformed_lines_are_reported_by_number_and_strict_stops(data_dir: Path, tmp_path: Path) -> None:
    good = DEV.read_text(encoding="utf-8").splitlines()[0]
    p = tmp_path / "mixed.jsonl"
    p.write_text(f'{good}\n{{"id": "x"\n{json.dumps({"id": "y", "question": "?"})}\n', encoding="utf-8")
    result = _eval(data_dir, str(p), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert f"{p}:2:" in result.stderr and f"{p}:3:" in result.stderr
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert [e["line"] for e in doc["run"]["malformed_lines"]] == [2, 3] and doc["run"]["questions"] == 1
    assert "line 2:" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    strict = _eval(data_dir, str(p), "--out", str(tmp_path / "strict"), "--strict")
    assert strict.exit_code == 2 and "line 2" in strict.stderr


def test_an_out_path_that_is_a_file_is_a_usage_error(data_dir: Path, small_set: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = _eval(data_dir, str(small_set), "--out", str(blocker))
    assert result.exit_code == 2 and "--out" in result.stderr


@pytest.mark.parametrize("content", [None, b"", b"\xff\xfe{}\n"])
def test_unusable_question_files_exit_2(data_dir: Path, tmp_path: Path, content: bytes | None) -> None:
    p = tmp_path / "q.jsonl"
    if content is not None:
        p.write_bytes(content)
    result = _eval(data_dir, str(p), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and str(p) in result.stderr


def test_usage_errors_exit_2(data_dir: Path) -> None:
    assert _eval(data_dir).exit_code == 2
    assert _eval(data_dir, str(DEV), "--fail-under", "nonsense=1").exit_code == 2
    bad_backend = runner.invoke(app, ["eval", str(DEV), "--llm", "gpt-9", "--data-dir", str(data_dir)])
    assert bad_backend.exit_code == 2 and "llm_backend" in bad_backend.stderr


def test_compare_prints_each_metric_with_both_values_and_the_difference(dev_run: Path, tmp_path: Path) -> None:
    doc = json.loads((dev_run / "metrics.json").read_text(encoding="utf-8"))
    a = doc["metrics"]["key_fact_accuracy"]["value"]
    doc["metrics"]["key_fact_accuracy"]["value"] = a + 0.25
    doc["metrics"]["false_abstention_rate"]["value"] += 0.5
    doc["run"]["model"] = "other-model"
    other = tmp_path / "b.json"
    other.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--compare", str(dev_run / "metrics.json"), str(other)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "key_fact_accuracy" in x)
    assert f"{a:.3f}" in line and f"{a + 0.25:.3f}" in line and "+0.250" in line and "better" in line
    worse = next(x for x in result.stdout.splitlines() if "false_abstention_rate" in x)
    assert "+0.500" in worse and "worse" in worse
    assert "model: A='scripted-fake' B='other-model'" in result.stdout
    missing = runner.invoke(app, ["eval", "--compare", str(dev_run / "metrics.json"), str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_a_gate_on_a_kind_the_set_lacks_is_a_usage_error_before_the_run(data_dir: Path, small_set: Path,
                                                                         tmp_path: Path) -> None:
    r = _eval(data_dir, str(small_set), "--out", str(tmp_path / "k"), "--fail-under", "pass_rate.nosuchkind=0.5")
    assert r.exit_code == 2
    assert "no question of kind 'nosuchkind'" in r.stderr
    assert not (tmp_path / "k" / "results.jsonl").exists()
