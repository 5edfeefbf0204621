"""Every expected failure of every command is one ``Error:`` line saying what to do, and a non-zero exit.

A traceback is shown only with ``assistant --debug``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant import cli
from assistant.cli import app

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev-questions.jsonl"
BAD_TOP_K = {"ASSISTANT_TOP_K": "lots"}
NO_MODEL = {"ASSISTANT_MODEL_PATH": "/nonexistent/none.gguf"}
FAKE = ["--llm", "fake", "--embedding", "fake"]

CASES = [  # (args, env, exit code, the start of the message)
    (["ask", "Who?"], BAD_TOP_K, 2, "Error: invalid settings: top_k:"),
    (["index"], BAD_TOP_K, 2, "Error: invalid settings: top_k:"),
    (["serve"], {"ASSISTANT_PORT": "lots"}, 2, "Error: invalid settings: port:"),
    (["ui"], {"ASSISTANT_PORT": "0"}, 2, "Error: invalid settings: port:"),
    (["doctor"], BAD_TOP_K, 2, "Error: invalid settings: top_k:"),
    (["eval", str(DEV)], BAD_TOP_K, 2, "Error: invalid settings: top_k:"),
    (["feedback", "export", "--out", "x.jsonl"], BAD_TOP_K, 2, "Error: invalid settings: top_k:"),
    (["ask", "--profile", "nope", "Who?"], {}, 2, "Error: profile 'nope': settings-nope.toml not found."),
    (["ask", "--embedding", "fake", "Who?"], NO_MODEL, 1, "Error: model file not found: /nonexistent/none.gguf."),
    (["serve", "--embedding", "fake"], NO_MODEL, 1, "Error: model file not found: /nonexistent/none.gguf."),
    (["ui", "--embedding", "fake"], NO_MODEL, 1, "Error: model file not found: /nonexistent/none.gguf."),
    (["eval", str(DEV), "--embedding", "fake"], NO_MODEL, 1, "Error: model file not found: /nonexistent/none.gguf."),
    (["ask", *FAKE, " \n "], {}, 2, "Error: The question is empty. Type a question about the documents."),
    (["ask", *FAKE, "\udcff bad"], {}, 2, "Error: The question"),
    (["index", "--embedding", "fake", "missing.txt"], {}, 1, "Error: missing.txt: no such file or folder."),
    (["index", "--embedding", "fake", "."], {}, 1, "Error: no file to index"),
    (["eval", "missing.jsonl", *FAKE], {}, 2, "Error: missing.jsonl: no such file."),
    (["ask", *FAKE, "--data-dir", "/proc/none", "Who?"], {}, 1, "Error: data_dir '/proc/none' cannot be used"),
    (["index", "--embedding", "fake", "--data-dir", "/proc/none"], {}, 1, "Error: data_dir '/proc/none' cannot be used"),
    (["eval", str(DEV), *FAKE, "--data-dir", "/proc/none"], {}, 1,
     "Error: the index directory /proc/none/chroma cannot be used"),
]


@pytest.mark.parametrize("args,env,code,message", CASES, ids=[" ".join(c[0][:2]) + f"-{i}" for i, c in enumerate(CASES)])
def test_an_expected_failure_is_one_line_and_a_non_zero_exit(tmp_path: Path, monkeypatch, args: list[str],
                                                             env: dict, code: int, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, args, env=env)
    assert r.exit_code == code, r.output
    assert isinstance(r.exception, SystemExit)  # ended on purpose, not by an exception escaping
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.output, r.stderr


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    def broken(settings):  # noqa: ANN001, ANN202
        raise RuntimeError("a bug nobody expected")

    monkeypatch.setattr("assistant.composition.build_store", broken)
    monkeypatch.setattr(sys, "argv", ["assistant", *args, "index", "--embedding", "fake", "--data-dir", "data"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return done.value.code, capsys.readouterr().err


def test_an_unexpected_failure_is_one_line_pointing_to_debug(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = _main(monkeypatch, capsys)
    assert code == 1
    assert err == ("Error: unexpected RuntimeError: a bug nobody expected. Run the command again with "
                   "`assistant --debug ...` to see where it failed, and report it.\n")


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_DEBUG", {"on": False})
    with pytest.raises(RuntimeError, match="a bug nobody expected"):
        _main(monkeypatch, capsys, "--debug")


def test_debug_prints_the_traceback_of_an_expected_failure_too(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_DEBUG", {"on": False})
    r = CliRunner().invoke(app, ["--debug", "index", "--embedding", "fake", "missing.txt"])
    assert r.exit_code == 1
    assert r.stderr.startswith("Traceback (most recent call last):")
    assert r.stderr.splitlines()[-1] == "Error: missing.txt: no such file or folder. Check the path and try again."
