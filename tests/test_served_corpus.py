"""The wrong corpus is never served silently: only the default location gets the bundled article on its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.composition import build_store
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "myanmar-russia-visit.txt"


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args, env=None: runner.invoke(app, list(args), env=env or {})


def _chunks(data_dir: str, collection: str = "passages") -> int:
    return build_store(load_settings(data_dir=data_dir, collection=collection, embedding_backend="fake")).count()


@pytest.mark.parametrize("command", ["ask", "serve", "ui"])
def test_an_empty_index_elsewhere_is_an_error_naming_data_dir_and_collection(run, command: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--port", str(port)] if command != "ask" else ["Who invited him?"]
    r = run(command, "--llm", "fake", "--embedding", "fake", "--data-dir", "mydocs", *args)
    assert r.exit_code == 1, r.output
    assert r.stderr == (
        "Error: no documents are indexed in data dir 'mydocs', collection 'passages'. Check --data-dir and the "
        "collection name for a typo, or index your documents first: `assistant index FILE ... --data-dir mydocs` "
        "(without FILE it indexes the bundled article).\n")
    assert _chunks("mydocs") == 0  # the bundled article was not put there


@pytest.mark.parametrize("command", [["ask", "Who invited him?"], ["chat"], ["serve"], ["ui"]])
def test_a_mistyped_data_dir_is_not_created(run, tmp_path: Path, command: list[str]) -> None:
    r = run(command[0], "--llm", "fake", "--embedding", "fake", "--data-dir", "no/such/dir", *command[1:])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: no documents are indexed in data dir 'no/such/dir'")
    assert not (tmp_path / "no").exists()  # a failed command creates nothing


def test_a_new_collection_name_at_the_default_data_dir_is_not_filled_either(run) -> None:
    r = run("ask", "--llm", "fake", "--embedding", "fake", "Who invited him?", env={"ASSISTANT_COLLECTION": "mydocs"})
    assert r.exit_code == 1
    assert "data dir '.assistant', collection 'mydocs'" in r.stderr
    assert "`ASSISTANT_COLLECTION=mydocs assistant index FILE ... --data-dir .assistant`" in r.stderr
    assert _chunks(".assistant", "mydocs") == 0


def test_the_default_location_still_gets_the_bundled_article(run) -> None:
    r = run("ask", "--llm", "fake", "--embedding", "fake", "Who invited Min Aung Hlaing?")
    assert r.exit_code == 0, r.output
    assert r.stderr == "Note: the index in .assistant/chroma was empty; indexed the bundled article into it.\n"
    assert f"[1] {BUNDLED}:" in r.stdout


def test_a_data_dir_given_as_another_path_to_the_default_is_the_default(run, tmp_path: Path) -> None:
    r = run("ask", "--llm", "fake", "--embedding", "fake", "--data-dir", str(tmp_path / ".assistant"), "Who invited him?")
    assert r.exit_code == 0, r.output


def test_an_indexed_data_dir_answers_from_its_own_documents_only(run, tmp_path: Path) -> None:
    (tmp_path / "harbour.txt").write_text("The Quux harbour opened in 1999. It was built by Quux Ltd.\n", encoding="utf-8")
    assert run("index", "--embedding", "fake", "--data-dir", "mydocs", "harbour.txt").exit_code == 0
    r = run("ask", "--llm", "fake", "--embedding", "fake", "--data-dir", "mydocs", "Who built the Quux harbour?")
    assert r.exit_code == 0 and r.stderr == ""  # no note: nothing was auto-indexed
    assert BUNDLED not in r.stdout
    assert build_store(load_settings(data_dir="mydocs", embedding_backend="fake")).sources() == ["harbour.txt"]


@pytest.mark.parametrize("command", ["serve", "ui"])
def test_serve_and_ui_print_the_sources_they_serve(tmp_path: Path, read_until, command: str) -> None:
    data = tmp_path / "data"
    (tmp_path / "harbour.txt").write_text("The Quux harbour opened in 1999. It was built by Quux Ltd.\n", encoding="utf-8")
    cli = [sys.executable, "-m", "assistant.cli"]
    for files in ([], [str(tmp_path / "harbour.txt")]):
        subprocess.run([*cli, "index", "--embedding", "fake", "--data-dir", str(data), *files], check=True,
                       cwd=ROOT, capture_output=True, timeout=300)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*cli, command, "--llm", "fake", "--embedding", "fake", "--data-dir", str(data), "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        lines = read_until(proc, lambda line: line.startswith("Serving on"), 600)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert lines[-2] == f"Serving 2 sources, 8 chunks: harbour.txt (1 chunk), {BUNDLED} (7 chunks)"
