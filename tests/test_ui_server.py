"""The Gradio app served for real (in process), used by two clients at once.

A scripted model held at a gate (tests/gated_model.py) shows that one session waiting for the model
does not hold up another session whose question needs no model call, and that each client only sees
its own turns. No timing: the other session's answer must arrive while the model is still held.
"""

from __future__ import annotations

import socket

import pytest
from gradio_client import Client

from gated_model import GatedModel  # tests/gated_model.py

from assistant.llm import ScriptedChatModel
from assistant.models import Passage
from assistant.prompting import load_prompt
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.verifier import GroundingVerifier
from ui.app import build_ui

PASSAGE = Passage(passage_id=1, chunk_id="a:0", source="a.txt", start=0, end=57, score=0.8,
                  text="Kan Zaw is the junta's investment minister and signed it.")


@pytest.fixture
def gate() -> GatedModel:
    return GatedModel()


@pytest.fixture
def served(tmp_path, gate):
    settings = load_settings(data_dir=tmp_path, llm_backend="fake", embedding_backend="fake", answer_mode="generative")
    assistant = Assistant(settings, lambda q, k: [] if "World Cup" in q else [PASSAGE],
                          lambda: ScriptedChatModel(reply_fn=gate), load_prompt("answer"),
                          load_prompt("condense"), GroundingVerifier(), "slow-scripted")
    demo = build_ui(assistant)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def _last_text(chat: dict) -> str:
    return chat["value"][-1]["content"][0]["text"]


def test_a_session_waiting_for_the_model_does_not_block_another(served, gate):
    a, b = Client(served, verbose=False), Client(served, verbose=False)
    held = a.submit("Who is the junta's investment minister?", api_name="/respond")
    assert gate.entered.wait(60), "the first session's question never reached the model"
    quick = b.predict("Who won the World Cup?", api_name="/respond")
    assert not held.done()  # answered while the other session's model call is still held
    assert "Not in the documents" in _last_text(quick[0])
    gate.release.set()
    answered = held.result(timeout=60)
    assert 'class="cite"' in _last_text(answered[0])
    assert [m["content"][0]["text"] for m in quick[0]["value"]][0] == "Who won the World Cup?"
    assert len(answered[0]["value"]) == 2 and len(quick[0]["value"]) == 2  # no turn of the other session

