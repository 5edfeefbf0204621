"""Streams behind proxies and on disconnect (issue 9), over real HTTP on loopback.

Both streaming endpoints: proxy headers, a ``: ping`` heartbeat while the model works, exactly one
terminal event (``final``/``[DONE]`` or an ``error`` with a stable code and a user-safe message), and
a client that goes away stops the model within a token or two, leaving the generation queue free.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import ScriptedChatModel, extractive_reply
from assistant.sse import ERROR_CODES
from gated_model import GatedModel  # tests/gated_model.py
from live_server import live_server, parse_sse  # tests/live_server.py

Q = "Who is the junta's investment minister?"
ENDPOINTS = {"ask": ("/v1/ask/stream", {"question": Q}),
             "openai": ("/v1/chat/completions", {"messages": [{"role": "user", "content": Q}], "stream": True})}


class SlowModel(ScriptedChatModel):
    """Streams its reply token by token, sleeping ``delay_s`` before each token (and ``pause_s``
    before token ``pause_at``); counts the tokens emitted and can fail after ``fail_after`` tokens."""

    delay_s: float = 0.0
    pause_at: int = -1
    pause_s: float = 0.0
    emitted: int = 0
    fail_after: int | None = None
    failure: Exception | None = None

    def _stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        for i, chunk in enumerate(super()._stream(*args, **kwargs)):
            if self.fail_after is not None and i == self.fail_after:
                raise self.failure
            time.sleep(self.pause_s if i == self.pause_at else self.delay_s)
            self.emitted += 1
            yield chunk


def _serve(fake_settings, model: ScriptedChatModel, **update):  # noqa: ANN001, ANN202
    settings = fake_settings.model_copy(update=update)
    store = build_store(settings)
    ensure_indexed(settings, store)
    assistant = build_assistant(settings, store=store, llm=model)
    return assistant, live_server(create_app(assistant, store.count))


def _terminal_events(endpoint: str, text: str) -> tuple[list, list]:
    """``(events, terminal ones)`` of a stream body; an event is ``(kind, data)``."""
    if endpoint == "ask":
        events = parse_sse(text)
        return events, [e for e in events if e[0] in ("final", "error")]
    events = []
    for block in text.strip().split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: "):]
            events.append(("done", None) if data == "[DONE]" else
                          ("error" if "error" in json.loads(data) else "chunk", json.loads(data)))
    return events, [e for e in events if e[0] in ("done", "error")]


def _silent() -> SlowModel:  # silent for 1.6 s after its first token
    return SlowModel(pause_at=1, pause_s=1.6)


def _no_sentence_end() -> SlowModel:  # a token every 0.01 s for 2 s, none ending a sentence: nothing to show
    model = SlowModel(delay_s=0.01)
    model.reply_fn = lambda m: "and " * 200 + extractive_reply(m)
    return model


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("working", [_silent, _no_sentence_end])
def test_streams_carry_proxy_headers_and_a_heartbeat_while_the_model_works(fake_settings, endpoint, working) -> None:
    # the model works at least 1.6 s with nothing to show: a 0.5 s heartbeat sends at least 3 pings
    _, server = _serve(fake_settings, working(), sse_heartbeat_s=0.5)
    path, body = ENDPOINTS[endpoint]
    with server as url:
        r = httpx.post(url + path, json=body, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-cache" and r.headers["x-accel-buffering"] == "no"
    events, terminal = _terminal_events(endpoint, r.text)
    assert terminal[0][0] in ("final", "done"), r.text
    before_end = r.text[: r.text.rindex("final" if endpoint == "ask" else "[DONE]")]
    assert before_end.count(": ping\n\n") >= 3, r.text


def _failing(kind: str) -> SlowModel:
    if kind == "answer":
        return SlowModel()
    if kind == "failure":  # an internal error whose text holds a path: it must stay in the server log
        return SlowModel(fail_after=2, failure=KeyError("/srv/secret/internals.py"))
    return SlowModel(fail_after=2, failure=httpx.ReadTimeout("timed out"))  # the model server timed out


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("kind", "code"), [("answer", None), ("failure", "internal_error"),
                                            ("timeout", "model_timeout")])
def test_every_stream_ends_with_exactly_one_terminal_event(fake_settings, endpoint, kind, code) -> None:
    _, server = _serve(fake_settings, _failing(kind))
    path, body = ENDPOINTS[endpoint]
    with server as url:
        r = httpx.post(url + path, json=body, timeout=60)
    assert r.status_code == 200, r.text
    events, terminal = _terminal_events(endpoint, r.text)
    assert len(terminal) == 1 and events[-1] is terminal[0], r.text  # one terminal event, nothing after it
    assert not r.text.rstrip().endswith(": ping")
    if code is None:
        assert terminal[0][0] in ("final", "done"), r.text
        return
    data = terminal[0][1]
    error = data if endpoint == "ask" else data["error"]
    assert error["code"] == code and code in ERROR_CODES, data
    assert data["message"] and "Traceback" not in r.text and "/srv/secret" not in r.text and "File \"" not in r.text


def _open_stream(url: str, path: str, body: dict) -> socket.socket:
    """A raw HTTP/1.1 connection that posted ``body`` and read the response's status line and headers."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    payload = json.dumps(body).encode()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_client_that_goes_away_stops_the_model_within_two_tokens(fake_settings, endpoint) -> None:
    # a long reply without a sentence end: before, the model ran on to its end after a disconnect
    model = SlowModel(delay_s=0.1)
    model.reply_fn = lambda m: extractive_reply(m) + " and" * 200
    assistant, server = _serve(fake_settings, model)
    queue = assistant.generation_queue
    path, body = ENDPOINTS[endpoint]
    with server as url:
        sock = _open_stream(url, path, body)
        deadline = time.monotonic() + 30
        while model.emitted < 3:
            assert time.monotonic() < deadline, "the model never started"
            time.sleep(0.01)
        sock.close()
        at_close = model.emitted
        deadline = time.monotonic() + 30
        while queue.running:  # bounded: before the fix the model ran its 200 remaining tokens (20 s)
            assert time.monotonic() < deadline, f"the model kept going: {model.emitted - at_close} tokens"
            time.sleep(0.01)
        after = model.emitted - at_close
        assert after <= 2, f"{after} tokens after the client went away"
        snapshot = queue.snapshot()
        assert snapshot["running"] == 0 and snapshot["waiting"] == 0, snapshot
        model.delay_s, model.reply_fn = 0.0, extractive_reply  # the next question gets the model at once
        r = httpx.post(url + "/v1/ask", json={"question": Q}, timeout=30)
        assert r.status_code == 200 and "Kan Zaw" in r.json()["answer"], r.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_client_that_goes_away_while_waiting_leaves_the_models_line(fake_settings, endpoint) -> None:
    gate = GatedModel()
    model = ScriptedChatModel(reply_fn=gate)
    assistant, server = _serve(fake_settings, model)
    queue = assistant.generation_queue
    with server as url:
        first = threading.Thread(target=httpx.post, args=(url + "/v1/ask",), kwargs={"json": {"question": Q},
                                                                                    "timeout": 60})
        first.start()
        try:
            assert gate.entered.wait(20), "the first question never reached the model"
            sock = _open_stream(url, *ENDPOINTS[endpoint])  # the status line comes once it is in line
            assert queue.waiting == 1
            sock.close()
            deadline = time.monotonic() + 10
            while queue.waiting:  # before: it stayed in line until the model was free, then ran
                assert time.monotonic() < deadline, "the question of a client that went away still waits"
                time.sleep(0.02)
            assert queue.running == 1  # the first question still has the model
        finally:
            gate.release.set()
            first.join(60)
    assert len(model.calls) == 1  # the question whose client went away never reached the model
