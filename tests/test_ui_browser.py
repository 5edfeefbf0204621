"""End-to-end tests: start the real UI server (``assistant ui``) and drive it in headless Chromium.

The browser steps are the Node scripts in ``tests/e2e/`` (playwright-core); each test here starts a
server on a free port of 127.0.0.1 with its own temporary ``--data-dir``, runs one script against it
with ``node --test``, and checks what the server stored. Screenshots go to ``artifacts/screenshots/``.

These tests are skipped only when ``ASSISTANT_SKIP_BROWSER_TESTS=1``. Without Node, the e2e packages
or Chromium they fail and say to run ``scripts/install-browser``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("ASSISTANT_SKIP_BROWSER_TESTS") == "1",
                       reason="browser tests disabled by ASSISTANT_SKIP_BROWSER_TESTS=1"),
]

MARKUP_DOC = """The harbour report shows <img src=x onerror=alert(1)> as its logo.
Its appendix quotes <script>window.__xss = 1</script> and the strings ${alert(3)} and {{value}} verbatim.
The Dawei harbour report was written in 2013 for the port authority.
"""


@pytest.fixture(scope="module", autouse=True)
def browser_prerequisites() -> None:
    """Fail (never skip) when the browser tooling is missing."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not (E2E / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append("tests/e2e/node_modules/playwright-core")
    if not Path(CHROMIUM).is_file():
        missing.append(CHROMIUM)
    if missing:
        pytest.fail(f"browser test tooling missing ({', '.join(missing)}): run scripts/install-browser "
                    "(or set ASSISTANT_SKIP_BROWSER_TESTS=1 to skip these tests on purpose)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@contextmanager
def ui_server(data_dir: Path, *args: str, answer_mode: str = "generative", command: str = "ui",
              env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``assistant ui`` (or ``command``: ``serve``) on a free port until the block ends; yields its URL.

    A ``data_dir`` that does not exist yet is filled with the bundled article first.

    ``answer_mode`` defaults to ``generative`` so that the scripted model streams its answers (the
    product's default, ``extractive``, answers without a model: ``test_default_configuration...``).
    ``env``: more environment variables (``ASSISTANT_*`` settings) for the server.
    """
    if not data_dir.exists():  # only the default location gets the bundled article on its own
        indexed = _cli("index", "--data-dir", str(data_dir))
        assert indexed.returncode == 0, indexed.stderr
    port = _free_port()
    log_path = data_dir.parent / f"ui-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", command, "--host", "127.0.0.1",
                                 "--port", str(port), "--data-dir", str(data_dir), *args],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, ASSISTANT_ANSWER_MODE=answer_mode, **(env or {})))
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"assistant {command} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"assistant {command} did not start in 180 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_spec(spec: str, url: str, answer_timeout_s: float = 60, timeout: float = 600, **env_vars: str) -> str:
    """Run one Node browser script against ``url`` (more environment for it in ``env_vars``); fails the
    test with its output when it fails."""
    env = dict(os.environ, UI_URL=url, SCREENSHOT_DIR=str(SCREENSHOTS), CHROMIUM_PATH=CHROMIUM,
               ANSWER_TIMEOUT_MS=str(int(answer_timeout_s * 1000)), **env_vars)
    proc = subprocess.run(["node", "--test", "--test-reporter=spec", spec], cwd=E2E, env=env,
                          capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{spec} failed:\n{output[-8000:]}")
    return output


def test_chat_answer_sources_follow_up_feedback_abstention(tmp_path):
    data = tmp_path / "data"
    with ui_server(data, "--llm", "fake") as url:
        run_spec("chat.spec.mjs", url)
    export = _cli("feedback", "export", "--data-dir", str(data), "--out", str(tmp_path / "cases.jsonl"))
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert rows == [{
        "id": rows[0]["id"], "question": "Who is the junta's investment minister?", "answerable": True,
        "reference_answer": "It should name Kan Zaw.", "key_facts": [], "evidence": [], "kind": "feedback",
    }]


def test_two_sessions_at_once(tmp_path):
    with ui_server(tmp_path / "data", "--llm", "fake") as url:
        run_spec("sessions.spec.mjs", url)


def test_markup_in_documents_is_shown_as_text(tmp_path):
    doc = tmp_path / "harbour-report.txt"
    doc.write_text(MARKUP_DOC, encoding="utf-8")
    data = tmp_path / "data"
    indexed = _cli("index", str(doc), "--data-dir", str(data))
    assert indexed.returncode == 0, indexed.stderr
    with ui_server(data, "--llm", "fake") as url:
        run_spec("markup.spec.mjs", url)


@pytest.mark.model
def test_real_model_through_the_ui(tmp_path):
    """The real SmolLM2 writing answers (``auto``: a quote when its answer fails the check)."""
    with ui_server(tmp_path / "data", answer_mode="auto") as url:
        run_spec("model.spec.mjs", url, answer_timeout_s=420, timeout=900)


def test_default_configuration_quotes_evidence_through_the_ui(tmp_path):
    """The default configuration (extractive answers from MiniLM-ranked evidence), as a user starts it."""
    with ui_server(tmp_path / "data", answer_mode="extractive") as url:
        run_spec("default.spec.mjs", url, answer_timeout_s=120, timeout=600)
