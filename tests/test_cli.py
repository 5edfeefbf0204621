"""The ``assistant`` command: exact output shapes, exit codes, and bad input that loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def _run(*args: str, env: dict | None = None):
        return runner.invoke(app, list(args), env=env or {})

    return _run


FAKE = ("--llm", "fake")  # the default data dir (.assistant in the test's working directory)


def test_ask_json_has_the_documented_fields(run) -> None:
    r = run("ask", "--json", *FAKE, "--embedding", "minilm", "Who invited Min Aung Hlaing to Russia?")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert isinstance(out["answer"], str) and isinstance(out["abstained"], bool)
    assert out["passages"] and set(out["passages"][0]) >= {"passage_id", "source", "start", "end", "score", "text"}
    assert not out["abstained"]
    c = out["citations"][0]
    assert set(c) >= {"passage_id", "source", "start", "end", "quote"}
    from assistant.settings import bundled_corpus

    assert bundled_corpus().read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


def test_ask_prints_the_answer_then_numbered_sources(run) -> None:
    r = run("ask", *FAKE, "--embedding", "minilm", "Who invited Min Aung Hlaing to Russia?")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "[1]" in lines[0]
    assert lines[2] == "Sources (quoted from the documents):"
    assert lines[3].startswith("[1] myanmar-russia-visit.txt:")


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_exits_2_without_a_model_call(run, question: str) -> None:
    r = run("ask", *FAKE, "--embedding", "fake", question)
    assert r.exit_code == 2
    assert "question is empty" in r.stderr
    assert not Path(".assistant/chroma").exists()  # nothing was even indexed


def test_a_1mb_question_is_refused_with_the_limit(run) -> None:
    r = run("ask", *FAKE, "--embedding", "fake", "why " * 250_000)
    assert r.exit_code == 2
    assert "limit is 2,000" in r.stderr and "max_question_chars" in r.stderr


def test_wrong_config_value_names_the_setting(run) -> None:
    r = run("ask", *FAKE, "q?", env={"ASSISTANT_TOP_K": "lots"})
    assert r.exit_code == 2
    assert "top_k" in r.stderr and "lots" in r.stderr
    r = run("ask", "--llm", "gpt5", "q?")
    assert r.exit_code == 2 and "llm_backend" in r.stderr


def test_missing_model_file_says_what_to_do(run, tmp_path: Path) -> None:
    assert run("index", "--data-dir", "data", "--embedding", "fake").exit_code == 0  # (an empty one is reported first)
    r = run("ask", "--data-dir", "data", "--embedding", "fake", "Who?", env={"ASSISTANT_MODEL_PATH": str(tmp_path / "none.gguf")})
    assert r.exit_code == 1
    assert "model file not found" in r.stderr and "ASSISTANT_MODEL_PATH" in r.stderr


def test_index_is_idempotent_and_bad_files_leave_it_unchanged(run, tmp_path: Path) -> None:
    r = run("index", "--data-dir", "data", "--embedding", "fake")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "myanmar-russia-visit.txt: 7 added, 0 unchanged, 0 removed"
    r = run("index", "--data-dir", "data", "--embedding", "fake")
    assert r.stdout.splitlines()[0] == "1 unchanged file(s) left as they were"  # matched by content hash
    (tmp_path / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "good.txt").write_text("A good file.", encoding="utf-8")
    r = run("index", "--data-dir", "data", "--embedding", "fake", "--strict", "good.txt", "bad.txt")
    assert r.exit_code == 1
    assert "bad.txt" in r.stderr and "binary" in r.stderr
    r = run("index", "--data-dir", "data", "--embedding", "fake")
    assert r.stdout.splitlines()[-1].startswith("7 chunks")


def test_embedding_mismatch_is_a_clear_error(run) -> None:
    assert run("index", "--data-dir", "data", "--embedding", "fake").exit_code == 0
    r = run("ask", *FAKE, "--data-dir", "data", "--embedding", "minilm", "Who invited him?")
    assert r.exit_code == 1
    assert "--rebuild" in r.stderr
    r = run("index", "--rebuild", "--data-dir", "data", "--embedding", "minilm")
    assert r.exit_code == 0 and "7 chunks" in r.stdout


@pytest.mark.parametrize("question", ["\udcff\udcfe bad", "\u200b\ufeff"])
def test_invalid_or_invisible_question_is_a_usage_error(run, question: str) -> None:
    r = run("ask", *FAKE, "--embedding", "fake", question)
    assert r.exit_code == 2
    assert "question" in r.stderr and "Traceback" not in r.output


def test_a_data_dir_that_is_a_file_is_a_clear_error(run, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for args in (("index", "--data-dir", "afile", "--embedding", "fake"),
                 ("ask", "--data-dir", "afile", "--embedding", "fake", "--llm", "fake", "Who?")):
        r = run(*args)
        assert r.exit_code == 1, r.output
        assert "data_dir 'afile' cannot be used" in r.stderr


def test_two_files_with_the_same_name_are_different_documents(run, tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "doc.txt").write_text(f"Document {d} text.", encoding="utf-8")
    r = run("index", "--data-dir", "data", "--embedding", "fake", "a/doc.txt", "b/doc.txt")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[:2] == ["a/doc.txt: 1 added, 0 unchanged, 0 removed",
                                         "b/doc.txt: 1 added, 0 unchanged, 0 removed"]


def test_auto_indexing_an_empty_index_is_announced(run) -> None:
    r = run("ask", *FAKE, "--embedding", "minilm", "Who invited Min Aung Hlaing to Russia?")
    assert r.exit_code == 0
    assert "was empty; indexed the bundled article" in r.stderr
    r = run("ask", *FAKE, "--embedding", "minilm", "Who invited Min Aung Hlaing to Russia?")
    assert "indexed the bundled article" not in r.stderr


def test_serving_on_a_port_in_use_is_a_clear_error(run) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("serve", "--llm", "fake", "--embedding", "fake", "--data-dir", "data", "--port", str(port))
    assert r.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_chat_reads_a_follow_up_in_the_conversation_and_new_forgets_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = ["Who is Maxim Reshetnikov?", "Who did he sign an agreement with?", "", "/new",
             "Who did he sign an agreement with?", "/quit", "Who is Kan Zaw?"]
    r = CliRunner().invoke(app, ["chat", *FAKE, "--embedding", "minilm"], input="\n".join(lines) + "\n")
    assert r.exit_code == 0, r.output
    read_as = [line for line in r.stdout.splitlines() if line.startswith("(read as: ")]
    assert len(read_as) == 1 and "Reshetnikov" in read_as[0]  # the follow-up, not the same words after /new
    assert r.stdout.count("Sources (") == 3  # three questions answered; nothing read after /quit
    assert "(new conversation)" in r.stdout


def test_chat_reports_a_bad_question_and_goes_on(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["chat", *FAKE, "--embedding", "fake"],
                           input="why " * 1000 + "\nWho invited Min Aung Hlaing to Russia?\n")
    assert r.exit_code == 0, r.output
    assert "Error:" in r.stderr and "characters" in r.stderr
    assert "Sources (" in r.stdout


def test_chat_does_not_splice_a_new_person_into_the_previous_question(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # new-user trial: "What about Kan Zaw?" became "When did he overthrow Kan Zaw?"
    lines = ["Who invited Min Aung Hlaing to Russia?", "When did he overthrow the government?", "What about Kan Zaw?"]
    r = CliRunner().invoke(app, ["chat", *FAKE, "--embedding", "minilm"], input="\n".join(lines) + "\n")
    assert r.exit_code == 0, r.output
    last = r.stdout.split("\n\n")[-3:]
    assert "overthrow Kan Zaw" not in r.stdout
    assert any("Kan Zaw, the junta’s investment minister" in part for part in last)
