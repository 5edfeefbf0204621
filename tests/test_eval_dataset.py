"""Question-set loading: valid rows, malformed lines with their line numbers, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.dataset import DatasetError, load_questions

GOOD = {"id": "a", "question": "Who invited him?", "answerable": True, "key_facts": ["Putin"],
        "evidence": ["invitation of President Vladimir Putin"], "kind": "fact"}


def _write(tmp_path: Path, lines: list[str], name: str = "q.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_the_shared_dev_set_loads_completely(dev_questions: list[dict]) -> None:
    qs = load_questions(Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev-questions.jsonl")
    assert qs.errors == [] and len(qs.questions) == len(dev_questions)
    assert {q.kind for q in qs.questions} >= {"fact", "unanswerable", "false_premise"}
    assert qs.questions[0].line == 1


def test_malformed_lines_are_reported_with_their_line_numbers_and_skipped(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD),                                           # 1 ok
        "",                                                         # 2 blank: ignored
        "{not json",                                                # 3
        json.dumps(GOOD | {"id": "b", "answerable": "yes"}),        # 4 wrong type
        json.dumps({"id": "c", "answerable": True}),                # 5 no question
        json.dumps(GOOD),                                           # 6 duplicate id
        json.dumps(GOOD | {"id": "d", "key_facts": ["Putin|"]}),    # 7 empty alternative
        "[1, 2]",                                                   # 8 not an object
        json.dumps(GOOD | {"id": "e", "question": "   "}),          # 9 blank question
        json.dumps(GOOD | {"id": "f", "extra": 1}),                 # 10 ok: unknown fields ignored
    ]
    qs = load_questions(_write(tmp_path, lines))
    assert [q.id for q in qs.questions] == ["a", "f"]
    assert [e.line for e in qs.errors] == [3, 4, 5, 6, 7, 8, 9]
    messages = {e.line: e.message for e in qs.errors}
    assert "not valid JSON" in messages[3]
    assert "answerable" in messages[4]
    assert "question" in messages[5] and "missing" in messages[5]
    assert "already used on line 1" in messages[6]
    assert "empty" in messages[7]
    assert "object" in messages[8]


def test_strict_stops_at_the_first_malformed_line(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps(GOOD), "{bad", "{worse"])
    with pytest.raises(DatasetError, match=r"line 2: not valid JSON"):
        load_questions(p, strict=True)


def test_kind_defaults_from_answerable(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps({"id": "u", "question": "Population?", "answerable": False})])
    q = load_questions(p).questions[0]
    assert q.kind == "unanswerable" and q.is_unanswerable and not q.is_false_premise


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"", "empty"),
    (b"\n  \n", "empty"),
    (json.dumps(GOOD).encode() + b"\n{\"id\": \"caf\xe9\"}\n", "line 2: not valid UTF-8"),
    (b"{bad\n{worse\n", "no valid question"),
])
def test_unusable_files_raise_a_clear_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    p = tmp_path / "q.jsonl"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        load_questions(p)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "q.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    assert load_questions(p).questions[0].id == "a"
