"""The chat while the model is busy (issue 12, item 1): the place in line is shown, a full line is
explained, and a stalled or failed model server is a message, not a traceback (issue 13, item 7)."""

from __future__ import annotations

import threading

import pytest

from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.feedback.store import FeedbackStore
from assistant.llm import ScriptedChatModel
from gated_model import GatedModel  # tests/gated_model.py
from ui.chat import ChatController

Q1 = "Who is the junta's investment minister?"
Q2 = "What did Min Aung Hlaing praise Putin for?"



def _controller(fake_settings, reply_fn, max_queue: int) -> ChatController:  # noqa: ANN001
    settings = fake_settings.model_copy(update={"max_queue": max_queue})
    store = build_store(settings)
    ensure_indexed(settings, store)
    assistant = build_assistant(settings, store=store, llm=ScriptedChatModel(reply_fn=reply_fn))
    return ChatController(assistant, FeedbackStore.for_data_dir(settings.data_dir))


def _texts(outputs: list) -> list[str]:
    return [o[0]["value"][-1]["content"] for o in outputs if isinstance(o[0], dict) and "value" in o[0]]


@pytest.fixture
def busy(fake_settings):
    """A controller whose model is busy answering Q1 (in another session) until ``gate.release``."""
    def make(max_queue: int):  # noqa: ANN202
        gate = GatedModel()
        ctl = _controller(fake_settings, gate, max_queue)
        first: list = []
        worker = threading.Thread(target=lambda: first.extend(ctl.respond(Q1, [])), daemon=True)
        worker.start()
        assert gate.entered.wait(30), "the first question never reached the model"
        return ctl, gate, worker, first
    return make


def test_the_chat_shows_the_place_in_line_then_the_answer(busy) -> None:
    ctl, gate, worker, first = busy(max_queue=2)
    answer = ctl.respond(Q2, [])
    shown = []
    for out in answer:  # read until the place in line is on screen, then let the model go
        shown.append(out)
        if any("number 1 in line" in t for t in _texts([out])):
            break
    else:
        pytest.fail(f"the place in line was never shown: {_texts(shown)}")
    assert ctl.assistant.generation_queue.waiting == 1
    gate.release.set()
    shown.extend(answer)
    worker.join(30)
    final = shown[-1][1][-1].answer
    assert final is not None and not final.abstained and "praise" in final.question
    assert "in line" not in _texts(shown)[-1]
    assert first[-1][1][-1].answer.question == Q1  # each session got its own answer


def test_a_full_line_is_explained_in_the_chat(busy) -> None:
    ctl, gate, worker, _ = busy(max_queue=0)
    try:
        outputs = list(ctl.respond(Q2, []))
    finally:
        gate.release.set()
        worker.join(30)
    last = _texts(outputs)[-1]
    assert "The assistant could not answer" in last and "busy" in last and "Try again in" in last
    assert "Traceback" not in last and outputs[-1][1][-1].answer is None
    assert ctl.assistant.generation_queue.snapshot()["refused"] == 1
