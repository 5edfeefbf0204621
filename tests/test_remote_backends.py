"""Remote model servers that stall or are down (issue 13, item 7), against real sockets on loopback.

A stalled server accepts connections and never answers. With ``backend_read_timeout_s`` the request
fails with a JSON 504 that says what to do, the model's lock is released, a second question is not
held behind the first for longer than the timeout, and ``/v1/health`` reports the failure. The model
clients are the real ``openai`` SDK and httpx (see tests/remote_stubs.py when the extras are absent).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import remote_stubs  # tests/remote_stubs.py
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed

LOCAL = "http://127.0.0.1"  # a Host the API accepts by default (assistant.security)

TIMEOUT_S = 1.0
#: A stalled request must fail long before this (without a timeout it hangs for the SDK's 600 s).
BOUND_S = 20.0
Q = "Who is the junta's investment minister?"


class StalledServer:
    """A loopback socket that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.accepted:
            c.close()


@pytest.fixture
def stalled():
    server = StalledServer()
    yield server
    server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def _app(fake_settings, monkeypatch, backend: str, base_url: str, retries: int = 0):  # noqa: ANN001, ANN202
    remote_stubs.install(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = fake_settings.model_copy(update={
        "llm_backend": backend, "base_url": base_url, "model_name": "stalled",
        "backend_read_timeout_s": TIMEOUT_S, "backend_connect_timeout_s": TIMEOUT_S, "backend_max_retries": retries})
    store = build_store(settings)
    ensure_indexed(settings, store)
    assistant = build_assistant(settings, store=store)  # the model from build_llm, as `assistant serve` builds it
    return TestClient(create_app(assistant, store.count), base_url=LOCAL), assistant


@pytest.mark.parametrize("backend,path", [("openai", "/v1"), ("ollama", "")])
def test_a_stalled_server_fails_within_the_timeout_and_frees_the_model(fake_settings, monkeypatch, stalled,
                                                                      backend, path) -> None:
    client, assistant = _app(fake_settings, monkeypatch, backend, f"http://127.0.0.1:{stalled.port}{path}")
    assert client.get("/v1/health").json()["status"] == "ok"  # nothing has failed yet
    results: dict[int, tuple[float, object]] = {}

    def ask(i: int) -> None:
        t0 = time.monotonic()
        r = client.post("/v1/ask", json={"question": Q})
        results[i] = (time.monotonic() - t0, r)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND_S * 3)
    assert len(results) == 2, "a request still hangs"
    for elapsed, r in results.values():
        assert r.status_code == 504, r.text
        body = r.json()
        assert f"did not answer within {TIMEOUT_S:g} s" in body["message"] and "backend_read_timeout_s" in body["message"]
        assert str(stalled.port) in body["message"]
        assert elapsed < BOUND_S
    first, second = sorted(e for e, _ in results.values())
    # the second waited for the first's timeout at most, then timed out itself: never held indefinitely
    assert second < first + BOUND_S
    queue = assistant.generation_queue.snapshot()
    assert queue["running"] == 0 and queue["waiting"] == 0  # the lock is released

    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    b = health["backend"]
    assert b["kind"] == backend and b["reachable"] is True and b["failures"] == 2
    assert "Timeout" in b["last_error"] and b["last_error_at"]


def test_retries_follow_the_setting(fake_settings, monkeypatch, stalled) -> None:
    client, _ = _app(fake_settings, monkeypatch, "openai", f"http://127.0.0.1:{stalled.port}/v1", retries=1)
    r = client.post("/v1/ask", json={"question": Q})
    assert r.status_code == 504 and "after 1 retry" in r.json()["message"]
    assert len(stalled.accepted) == 2  # the request and one retry


@pytest.mark.parametrize("backend,path", [("openai", "/v1"), ("ollama", "")])
def test_a_server_that_is_down_is_a_503_and_unreachable_in_health(fake_settings, monkeypatch, backend, path) -> None:
    client, _ = _app(fake_settings, monkeypatch, backend, f"http://127.0.0.1:{_closed_port()}{path}")
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded" and health["backend"]["reachable"] is False
    r = client.post("/v1/ask", json={"question": Q})
    assert r.status_code == 503, r.text
    assert "cannot be reached" in r.json()["message"] and "base_url" in r.json()["message"]


def test_the_chat_explains_a_stalled_server(fake_settings, monkeypatch, stalled) -> None:
    from assistant.feedback.store import FeedbackStore
    from ui.chat import ChatController

    _, assistant = _app(fake_settings, monkeypatch, "ollama", f"http://127.0.0.1:{stalled.port}")
    ctl = ChatController(assistant, FeedbackStore.for_data_dir(assistant.settings.data_dir))
    outputs = list(ctl.respond(Q, []))
    last = outputs[-1][0]["value"][-1]["content"]
    assert f"did not answer within {TIMEOUT_S:g} s" in last and "Traceback" not in last


def test_health_names_a_missing_extra_instead_of_failing(fake_settings, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import fails as when the extra is absent
    settings = fake_settings.model_copy(update={"llm_backend": "openai", "base_url": "http://127.0.0.1:9/v1"})
    store = build_store(settings)
    client = TestClient(create_app(build_assistant(settings, store=store), store.count), base_url=LOCAL)
    health = client.get("/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert "grounded-assistant[openai]" in health.json()["backend"]["last_error"]


def test_an_openai_compatible_server_needs_no_key(fake_settings, monkeypatch) -> None:
    """A local server (llama_cpp.server, vLLM) has no keys; the ``openai`` client refuses to start without one."""
    from assistant.llm import NO_KEY, build_llm

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = build_llm(fake_settings.model_copy(update={"llm_backend": "openai", "base_url": "http://127.0.0.1:9/v1"}))
    assert model.openai_api_key.get_secret_value() == NO_KEY


def test_the_openai_key_setting_wins_and_openai_itself_needs_one(fake_settings, monkeypatch) -> None:
    from pydantic import SecretStr

    from assistant.llm import ModelUnavailableError, build_llm

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    settings = fake_settings.model_copy(update={"llm_backend": "openai", "base_url": "http://127.0.0.1:9/v1"})
    assert build_llm(settings).openai_api_key.get_secret_value() == "sk-from-env"
    keyed = settings.model_copy(update={"backend_api_key": SecretStr("sk-setting")})
    assert build_llm(keyed).openai_api_key.get_secret_value() == "sk-setting"
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ModelUnavailableError, match="set ASSISTANT_BACKEND_API_KEY .* or set ASSISTANT_BASE_URL"):
        build_llm(settings.model_copy(update={"base_url": None}))
