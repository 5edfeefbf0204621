"""Feedback storage (SQLite under data_dir) and ``assistant feedback export`` as evaluation cases."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.evaluation.dataset import parse_line
from assistant.feedback.export import export_lines, to_question_row
from assistant.feedback.store import FILE_NAME, FeedbackError, FeedbackStore
from assistant.models import Answer, Citation, Passage

SETTINGS = {"top_k": 4, "llm_backend": "fake", "model_name": "SmolLM2-135M-Instruct"}


def _answer(question: str = "What did he sign?", standalone: str = "What did Kan Zaw sign?", abstained=False) -> Answer:
    return Answer(
        question=question, standalone_question=standalone, abstained=abstained, model="scripted-fake",
        answer="The documents do not contain the answer to this question." if abstained else "An agreement [1].",
        sentences=[] if abstained else ["An agreement."],
        citations=[] if abstained else [Citation(passage_id=1, source="a.txt", start=5, end=17, quote="an agreement")],
        passages=[Passage(passage_id=1, chunk_id="a:0", source="a.txt", start=0, end=30, score=0.5,
                          text="Kan signed an agreement today.")],
    )


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore.for_data_dir(tmp_path / "data")


def test_feedback_is_stored_durably_with_answer_citations_and_settings(store, tmp_path):
    fid = store.add("down", _answer(), SETTINGS, reason="wrong", comment="It was a port deal.")
    reopened = FeedbackStore(tmp_path / "data" / FILE_NAME)  # a new process would see the same
    rec = reopened.get(fid)
    assert (rec.rating, rec.reason, rec.comment) == ("down", "wrong", "It was a port deal.")
    assert rec.answer == _answer() and rec.answer.citations[0].quote == "an agreement"
    assert rec.settings == SETTINGS
    row = sqlite3.connect(tmp_path / "data" / FILE_NAME).execute(
        "SELECT question, standalone_question, answer_text, model FROM feedback").fetchone()
    assert row == ("What did he sign?", "What did Kan Zaw sign?", "An agreement [1].", "scripted-fake")


def test_update_and_delete(store):
    fid = store.add("down", _answer(), SETTINGS)
    store.update(fid, comment="better", reason="missed")
    assert (store.get(fid).comment, store.get(fid).reason) == ("better", "missed")
    store.update(fid, rating="up", clear_reason=True)
    assert (store.get(fid).rating, store.get(fid).reason, store.get(fid).comment) == ("up", None, "better")
    store.delete(fid)
    assert store.get(fid) is None and store.records() == []
    store.delete(fid)  # already gone: not an error


@pytest.mark.parametrize("call", [
    lambda s: s.add("meh", _answer(), SETTINGS),
    lambda s: s.add("down", _answer(), SETTINGS, reason="because"),
    lambda s: s.update(12345, comment="x"),
    lambda s: s.records("sideways"),
])
def test_bad_values_are_refused(store, call):
    with pytest.raises(FeedbackError):
        call(store)


def test_concurrent_writers_all_land(store):
    def write(i: int) -> None:
        for _ in range(10):
            store.add("down" if i % 2 else "up", _answer(question=f"q{i}?"), SETTINGS)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.records()) == 40 and len(store.records("down")) == 20


def test_export_row_is_a_valid_question_set_row():
    fid_row = to_question_row(_record(reason=None, comment="  It was a port deal. "))
    assert fid_row == {"id": "feedback-7", "question": "What did Kan Zaw sign?", "answerable": True,
                       "reference_answer": "It was a port deal.", "key_facts": [], "evidence": [], "kind": "feedback"}
    parsed = parse_line(json.dumps(fid_row), 1)
    assert parsed.id == "feedback-7" and parsed.answerable and parsed.kind == "feedback"


def test_reason_not_in_documents_makes_the_case_unanswerable():
    assert to_question_row(_record(reason="not_in_documents"))["answerable"] is False
    assert to_question_row(_record(reason="missed", abstained=True))["answerable"] is True


def test_only_thumbs_down_are_exported_in_order(store):
    store.add("up", _answer(question="liked?", standalone="liked?"), SETTINGS)
    first = store.add("down", _answer(question="first?", standalone="first?"), SETTINGS)
    second = store.add("down", _answer(question="second?", standalone="second?"), SETTINGS)
    lines = export_lines(store.records())
    assert [json.loads(line)["id"] for line in lines] == [f"feedback-{first}", f"feedback-{second}"]


def test_cli_export_writes_the_file_or_stdout(store, tmp_path):
    fid = store.add("down", _answer(), SETTINGS, reason="not_in_documents", comment="Not in the article.")
    store.add("up", _answer(question="ok?", standalone="ok?"), SETTINGS)
    runner = CliRunner()
    out = tmp_path / "cases" / "feedback.jsonl"
    result = runner.invoke(app, ["feedback", "export", "--data-dir", str(tmp_path / "data"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"id": f"feedback-{fid}", "question": "What did Kan Zaw sign?", "answerable": False,
                     "reference_answer": "Not in the article.", "key_facts": [], "evidence": [], "kind": "feedback"}]
    printed = runner.invoke(app, ["feedback", "export", "--data-dir", str(tmp_path / "data")])
    assert printed.exit_code == 0 and json.loads(printed.stdout.splitlines()[0]) == rows[0]
    assert "1 thumbs-down answer(s) exported" in printed.stderr


def test_cli_export_without_feedback_is_empty_and_creates_nothing(tmp_path):
    result = CliRunner().invoke(app, ["feedback", "export", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 0 and result.stdout == ""
    assert not (tmp_path / "none").exists()


def test_cli_export_to_an_unwritable_place_is_a_usage_error(store, tmp_path):
    store.add("down", _answer(), SETTINGS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["feedback", "export", "--data-dir", str(tmp_path / "data"),
                                      "--out", str(blocker / "sub" / "x.jsonl")])
    assert result.exit_code == 2 and "cannot write" in result.stderr


def _record(reason, comment: str = "", abstained: bool = False):  # noqa: ANN001, ANN202
    from assistant.feedback.store import FeedbackRecord

    return FeedbackRecord(id=7, created_at="t", updated_at="t", rating="down", reason=reason, comment=comment,
                          answer=_answer(abstained=abstained), settings=SETTINGS)
