"""The UI and API under a sub-path behind a real nginx (issue 9, ``root_path``).

nginx runs with the README's block (``docs/nginx.conf``, included in README verbatim) in a temporary
config on an unprivileged loopback port, in front of ``assistant ui --root-path /assistant`` (the UI
and the API) started as the README says. Without nginx the test is skipped, except in CI
(``CI=true``), where nginx-light is installed by ``.ci/run`` and its absence is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import ScriptedChatModel
from live_server import live_server

ROOT = Path(__file__).resolve().parent.parent
BLOCK = (ROOT / "docs" / "nginx.conf").read_text(encoding="utf-8")
UPSTREAM = "http://127.0.0.1:7860/"  # the address in the README's block, replaced by the test's port
Q = "Who is the junta's investment minister?"


def _nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        reason = "nginx is not installed (apt-get install -y nginx-light)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must have it (.ci/run installs it)")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen | None = None, bound_s: float = 180) -> None:
    deadline = time.monotonic() + bound_s
    while True:
        assert proc is None or proc.poll() is None, f"{url}: the process exited ({proc.returncode}; see its log)"
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.3)


def test_the_readme_includes_the_tested_nginx_block_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BLOCK.strip() in readme and UPSTREAM in BLOCK


@pytest.fixture
def nginx(tmp_path):
    """``start(upstreams) -> [proxy base URL]``: nginx with the README block in front of each upstream."""
    binary = _nginx()
    procs = []

    def start(upstreams: list[str]) -> list[str]:
        ports = [_free_port() for _ in upstreams]
        servers = "".join(f"server {{\n listen 127.0.0.1:{port};\n{BLOCK.replace(UPSTREAM, upstream + '/')}\n}}\n"
                          for port, upstream in zip(ports, upstreams))
        conf = tmp_path / "nginx.conf"
        conf.write_text(f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                        f"events {{ worker_connections 64; }}\nhttp {{\n access_log {tmp_path}/access.log;\n"
                        f" client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
                        f"{servers}}}\n", encoding="utf-8")
        procs.append(subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "err.log"),
                                       "-g", "daemon off;"]))
        for port in ports:
            _wait_http(f"http://127.0.0.1:{port}/assistant/v1/health", procs[-1], bound_s=30)
        return [f"http://127.0.0.1:{port}" for port in ports]

    yield start
    for p in procs:
        p.send_signal(signal.SIGQUIT)  # graceful stop of this nginx only
        p.wait(20)


def test_ui_and_api_work_under_a_sub_path_behind_nginx(nginx, tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = Path(sys.executable).parent / "assistant"  # the console script the README runs
    launcher = [str(command)] if command.exists() else [sys.executable, "-m", "assistant.cli"]
    data = ["--data-dir", str(tmp_path / "data"), "--embedding", "fake"]
    subprocess.run([*launcher, "index", *data], env=env, cwd=ROOT, check=True, capture_output=True)
    app = subprocess.Popen([*launcher, "ui", "--root-path", "/assistant", "--port", str(port), *data, "--llm", "fake"],
                           env=env, cwd=ROOT, stdout=open(tmp_path / "app.log", "w"), stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/v1/health", app)
        (proxy,) = nginx([f"http://127.0.0.1:{port}"])
        base = proxy + "/assistant"
        health = httpx.get(base + "/v1/health", timeout=30)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        answer = httpx.post(base + "/v1/ask", json={"question": Q}, timeout=60)
        assert answer.status_code == 200 and "Kan Zaw" in answer.json()["answer"], answer.text
        missing = httpx.get(base + "/v1/nothing", timeout=30)
        assert missing.status_code == 404 and missing.json()["message"], missing.text

        page = httpx.get(base + "/", timeout=60, follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower(), page.text[:300]
        assert str(page.url).startswith(base + "/")
        assets = {urljoin(str(page.url), u) for u in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)}
        assert assets, page.text[:2000]
        for url in assets:
            assert urlsplit(url).path.startswith("/assistant/"), url
            r = httpx.get(url, timeout=30)
            assert r.status_code == 200 and r.content, (url, r.status_code)
        config = httpx.get(base + "/config", timeout=30)
        assert config.status_code == 200 and "/assistant" in config.json()["root"], config.text[:300]
    finally:
        app.send_signal(signal.SIGINT)
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()


class _PausingModel(ScriptedChatModel):
    """Silent for ``pause_s`` after its first token; ``emitted`` counts the tokens streamed."""

    pause_s: float = 3.0
    emitted: int = 0

    def _stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        for i, chunk in enumerate(super()._stream(*args, **kwargs)):
            if i == 1:
                time.sleep(self.pause_s)
            self.emitted += 1
            yield chunk


def test_a_stream_arrives_through_nginx_while_the_model_still_works(nginx, fake_settings) -> None:
    settings = fake_settings.model_copy(update={"sse_heartbeat_s": 0.2, "root_path": "/assistant"})
    store = build_store(settings)
    ensure_indexed(settings, store)
    model = _PausingModel()
    app = create_app(build_assistant(settings, store=store, llm=model), store.count)
    with live_server(app, root_path="/assistant") as upstream:
        (proxy,) = nginx([upstream])
        with httpx.stream("POST", proxy + "/assistant/v1/ask/stream", json={"question": Q}, timeout=60) as r:
            assert r.status_code == 200
            chunks = r.iter_text()
            first = next(chunks)
            emitted_at_first_bytes = model.emitted
            rest = "".join(chunks)
    assert emitted_at_first_bytes <= 1, "nginx held the stream back until the model finished"
    assert first.startswith(": ping") or "event:" in first
    assert "event: final" in first + rest


def test_under_a_root_path_every_v1_request_still_needs_the_key(fake_settings) -> None:
    # uvicorn puts root_path in front of the forwarded path: the key check must see /v1/... all the same
    settings = fake_settings.model_copy(update={"api_keys": ["r" * 20], "root_path": "/assistant"})
    store = build_store(settings)
    ensure_indexed(settings, store)
    app = create_app(build_assistant(settings, store=store), store.count, store=store)
    with live_server(app, root_path="/assistant") as url:
        for method, path, body in (("POST", "/v1/ask", {"question": Q}), ("GET", "/v1/documents", None),
                                   ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": Q}]})):
            r = httpx.request(method, url + path, json=body, timeout=30)
            assert r.status_code == 401 and r.json()["message"], (path, r.status_code, r.text[:200])
        r = httpx.post(url + "/v1/ask", json={"question": Q}, headers={"Authorization": "Bearer " + "r" * 20},
                       timeout=30)
        assert r.status_code == 200 and "Kan Zaw" in r.json()["answer"], r.text
        assert httpx.get(url + "/v1/health", timeout=30).status_code == 200
