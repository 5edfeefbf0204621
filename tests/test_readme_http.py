"""Every ``curl`` command and the ``openai`` client example of README.md, run against a live server.

The commands are taken from the README's ``bash`` blocks as written (continuation lines joined);
only the address is adapted to the test server's (``http://127.0.0.1:7860`` and the example host).
The server requires a key, as beyond loopback, and ``KEY`` holds it. Each command must succeed
(``--fail-with-body``), and together they must cover every HTTP endpoint.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from live_server import live_server  # tests/live_server.py

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
ADDRESSES = ("http://127.0.0.1:7860", "http://assistant.example.com:7860")
KEY = "k" * 24
ENDPOINTS = {("GET", "/v1/health"), ("GET", "/v1/models"), ("POST", "/v1/ask"), ("POST", "/v1/ask/stream"),
             ("POST", "/v1/chat/completions"), ("POST", "/v1/chat/completions stream"), ("GET", "/v1/documents"),
             ("POST", "/v1/documents"), ("DELETE", "/v1/documents/{source}")}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def curl_commands() -> list[str]:
    """The README's curl commands in order, each on one line."""
    commands = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("curl "):
                commands.append(line.strip())
    return commands


def _endpoint(command: str) -> tuple[str, str]:
    url = re.search(r"https?://\S+", command).group(0)
    path = re.sub(r"^https?://[^/]+", "", url)
    method = "DELETE" if "-X DELETE" in command else "POST" if " -d " in command else "GET"
    if path.startswith("/v1/documents/"):
        path = "/v1/documents/{source}"
    if path == "/v1/chat/completions" and '"stream": true' in command:
        path += " stream"
    return method, path


@pytest.fixture
def served(fake_settings):
    settings = fake_settings.model_copy(update={"api_keys": [KEY], "allowed_hosts": ["assistant.example.com"]})
    store = build_store(settings)
    ensure_indexed(settings, store)
    with live_server(create_app(build_assistant(settings, store=store), store.count, store=store)) as url:
        yield url


def test_the_readme_has_a_curl_example_for_every_endpoint() -> None:
    assert ENDPOINTS <= {_endpoint(c) for c in curl_commands()}, {_endpoint(c) for c in curl_commands()}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_readme_curl_command_works_against_a_live_server(served, tmp_path) -> None:
    commands = curl_commands()
    assert len(commands) >= len(ENDPOINTS)
    for command in commands:
        run = command.replace("curl ", "curl --fail-with-body -sS ", 1)
        for address in ADDRESSES:
            run = run.replace(address, served)
        done = subprocess.run(["bash", "-c", run], env={"KEY": KEY, "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert done.stdout.strip(), command
        if "/stream" in command or '"stream": true' in command:
            assert "event: final" in done.stdout or "data: [DONE]" in done.stdout, done.stdout


def test_the_readme_openai_client_example_works_against_a_live_server(served, capsys) -> None:
    (snippet,) = [b for b in _blocks("python") if "from openai import OpenAI" in b]
    exec(snippet.replace(ADDRESSES[0], served), {"KEY": KEY})  # noqa: S102 - the README's own example
    out = capsys.readouterr().out
    assert "Kan Zaw" in out and "[1]" in out and "'quote':" in out, out
