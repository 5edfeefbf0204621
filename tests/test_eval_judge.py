"""The optional LLM judge: verdict parsing, what is judged, skipping cleanly when unavailable."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.evaluation import judge
from assistant.evaluation.judge import JudgeConfig, judge_rows, parse_verdict
from assistant.evaluation.records import CheckedCitation, QuestionResult
from assistant.llm import ScriptedChatModel

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev-questions.jsonl"


@pytest.mark.parametrize(("reply", "verdict"), [("YES", True), ("yes.", True), ("**No**", False),
                                                ("No, it is not.", False), ("Maybe", None), ("", None)])
def test_parse_verdict(reply: str, verdict: bool | None) -> None:
    assert parse_verdict(reply) is verdict


def _row(rid: str, abstained: bool, error: str | None = None) -> QuestionResult:
    cites = [] if abstained else [CheckedCitation(passage_id=1, source="s", start=0, end=5, quote="Putin",
                                                  sentence_index=0, valid=True)]
    return QuestionResult(id=rid, kind="fact", answerable=True, question="Who?", reference_answer="Putin.",
                          answer="x" if not abstained else "no", abstained=abstained, citations=cites, error=error)


def test_answered_rows_get_both_verdicts_abstained_rows_only_correctness_errors_none() -> None:
    model = ScriptedChatModel(replies=["YES", "NO", "YES"])
    rows = [_row("a", False), _row("b", True), _row("c", False, error="QuestionError: empty")]
    judge_rows(model, rows, on_error=lambda r, e: pytest.fail(str(e)))
    assert rows[0].judge == {"faithful": True, "correct": False}
    assert rows[1].judge == {"faithful": None, "correct": True}
    assert rows[2].judge is None
    assert len(model.calls) == 3
    assert "Putin" in str(model.calls[0][-1].content)  # the cited quote is shown to the judge


def test_a_failing_judge_call_is_reported_and_the_rest_go_on() -> None:
    class Broken:
        def invoke(self, prompt: str):  # noqa: ANN201
            raise ConnectionError("server down")

    errors: list[str] = []
    rows = [_row("a", False), _row("b", False)]
    judge_rows(Broken(), rows, on_error=lambda r, e: errors.append(r.id))
    assert errors == ["a", "b"] and all(r.judge is None for r in rows)


def test_config_comes_from_flags_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_EVAL_JUDGE_MODEL", raising=False)
    assert JudgeConfig.resolve(None, None) is None
    monkeypatch.setenv("ASSISTANT_EVAL_JUDGE_MODEL", "judge-1")
    monkeypatch.setenv("ASSISTANT_EVAL_JUDGE_BASE_URL", "http://127.0.0.1:9")
    assert JudgeConfig.resolve(None, None) == JudgeConfig("judge-1", "http://127.0.0.1:9")
    assert JudgeConfig.resolve("judge-2", None).model == "judge-2"


def _eval(tmp_path: Path, *extra: str):  # noqa: ANN202
    small = tmp_path / "q.jsonl"
    small.write_text(DEV.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    return CliRunner().invoke(app, ["eval", str(small), "--out", str(tmp_path / "out"), "--llm", "fake",
                                    "--embedding", "fake", "--data-dir", str(tmp_path / "data"), *extra])


def test_without_the_extra_the_judge_is_skipped_and_the_run_succeeds(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import fails as when not installed
    result = _eval(tmp_path, "--judge-model", "judge-1")
    assert result.exit_code == 0, result.output
    assert "LLM judge skipped" in result.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    assert not any(k.startswith("judge.") for k in metrics)


def test_a_configured_judge_adds_marked_metrics(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(judge.JudgeConfig, "build", lambda self: ScriptedChatModel(reply_fn=lambda m: "YES"))
    result = _eval(tmp_path, "--judge-model", "judge-1")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["judge_model"] == "judge-1"
    assert doc["metrics"]["judge.answer_correctness"]["judge"] is True
    assert doc["metrics"]["judge.answer_correctness"]["value"] == 1.0
    assert "[judge]" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_unreadable_judge_replies_are_judge_errors_not_silent_gaps() -> None:
    from assistant.evaluation.aggregate import aggregate

    model = ScriptedChatModel(replies=["Maybe", "YES", "NO", "I cannot tell."])
    rows = [_row("a", False), _row("b", False)]
    failed: list[str] = []
    judge_rows(model, rows, on_error=lambda r, e: failed.append(r.id))
    assert rows[0].judge == {"faithful": None, "correct": True}
    assert rows[1].judge == {"faithful": False, "correct": None}
    assert rows[0].judge_errors == ["faithful: unreadable reply 'Maybe' (neither YES nor NO)"]
    assert rows[1].judge_errors == ["correct: unreadable reply 'I cannot tell.' (neither YES nor NO)"]
    assert failed == ["a", "b"]  # reported as they happen, like a failed call
    m = aggregate(rows)["judge.error_rate"]
    assert (m.value, m.n, m.count, m.judge, m.higher_is_better) == (1.0, 2, 2, True, False)


def test_judge_errors_reach_metrics_report_and_results(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(judge.JudgeConfig, "build", lambda self: ScriptedChatModel(reply_fn=lambda m: "Possibly."))
    result = _eval(tmp_path, "--judge-model", "judge-1")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert doc["metrics"]["judge.error_rate"]["value"] == 1.0 and doc["run"]["judge_errors"] >= 1
    assert doc["metrics"]["judge.answer_correctness"]["n"] == 0  # nothing readable was counted as a verdict
    row = json.loads((tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert any("unreadable reply 'Possibly.'" in e for e in row["judge_errors"])
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Judge errors" in report and "unreadable reply 'Possibly.'" in report
    assert "unreadable reply" in result.stderr
