"""Overload (issue 12, item 1): a bounded line in front of the model, served for real on loopback.

A scripted model that holds each call until the test lets it go makes the order deterministic: one
question is in the model, ``max_queue`` wait (told their place), and every question beyond is refused
at once with a JSON 503 and ``Retry-After``; the others are then answered, each with its own answer.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import ScriptedChatModel
from gated_model import GatedModel  # tests/gated_model.py
from live_server import live_server, parse_sse  # tests/live_server.py

QUESTIONS = [
    "Who is the junta's investment minister?",
    "What did Min Aung Hlaing praise Putin for?",
    "How did the Global New Light of Myanmar describe the trip?",
]
REFUSED = "What did Putin's office say the two sides planned to adopt?"
MAX_QUEUE = 2



def _wait_until(predicate, what: str, bound_s: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + bound_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.fixture
def served(fake_settings):
    """``(base_url, assistant, gate)``: the API with a gated model, on a free loopback port."""
    settings = fake_settings.model_copy(update={"max_queue": MAX_QUEUE})
    store = build_store(settings)
    ensure_indexed(settings, store)
    gate = GatedModel()
    assistant = build_assistant(settings, store=store, llm=ScriptedChatModel(reply_fn=gate))
    with live_server(create_app(assistant, store.count)) as base_url:
        try:
            yield base_url, assistant, gate
        finally:
            gate.release.set()




def test_beyond_max_queue_questions_are_refused_with_503_and_the_rest_answered_in_order(served, caplog) -> None:
    url, assistant, gate = served
    # the answers each question gets alone, model released (the reference for "not mixed up")
    gate.release.set()
    expected = {q: assistant.ask(q).answer for q in QUESTIONS}
    assert len(set(expected.values())) == 3 and all("[1]" in a or "[2]" in a for a in expected.values())
    gate.release.clear()
    gate.entered.clear()
    queue = assistant.generation_queue
    results: dict[str, httpx.Response] = {}

    def post(q: str, path: str = "/v1/ask") -> None:
        results[q] = httpx.post(url + path, json={"question": q}, timeout=60)

    caplog.set_level(logging.INFO, logger="assistant")
    first = threading.Thread(target=post, args=(QUESTIONS[0],))
    first.start()
    assert gate.entered.wait(20), "the first question never reached the model"
    waiting = [threading.Thread(target=post, args=(QUESTIONS[1], "/v1/ask/stream")),
               threading.Thread(target=post, args=(QUESTIONS[2],))]
    for i, t in enumerate(waiting):
        t.start()
        _wait_until(lambda n=i + 1: queue.waiting == n, f"{i + 1} questions wait")

    refused = [httpx.post(url + "/v1/ask", json={"question": REFUSED}, timeout=10),
               httpx.post(url + "/v1/ask/stream", json={"question": REFUSED}, timeout=10)]
    assert queue.waiting == MAX_QUEUE and first.is_alive()  # refused at once, while the others still wait
    for r in refused:
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/json")
        retry_after = int(r.headers["Retry-After"])
        body = r.json()
        assert retry_after >= 1 and body["retry_after"] == retry_after
        assert "busy" in body["message"] and f"Try again in {retry_after} s" in body["message"]

    gate.release.set()
    for t in [first, *waiting]:
        t.join(60)
    assert results[QUESTIONS[0]].status_code == 200 and results[QUESTIONS[2]].status_code == 200
    assert results[QUESTIONS[0]].json()["answer"] == expected[QUESTIONS[0]]
    assert results[QUESTIONS[2]].json()["answer"] == expected[QUESTIONS[2]]
    stream = results[QUESTIONS[1]]
    assert stream.status_code == 200
    events = parse_sse(stream.text)
    assert ("queued", {"position": 1}) in events, [e[0] for e in events]  # its place in line, sent while it waited
    assert events[-1][0] == "final" and events[-1][1]["answer"] == expected[QUESTIONS[1]]
    assert queue.snapshot()["refused"] == 2 and queue.waiting == 0 and queue.running == 0

    lines = [r.getMessage() for r in caplog.records if r.name == "assistant.generation_queue"]
    assert sum("queued at position" in m for m in lines) == MAX_QUEUE
    assert sum("refused" in m for m in lines) == 2


def test_health_reports_the_queue(served) -> None:
    url, _, _ = served
    body = httpx.get(url + "/v1/health", timeout=10).json()
    assert body["status"] == "ok" and body["queue"]["max_waiting"] == MAX_QUEUE and body["queue"]["waiting"] == 0
