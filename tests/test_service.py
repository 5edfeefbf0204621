"""The read path with the scripted fake model: streaming, stopping, validation before any model call."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import ScriptedChatModel
from assistant.service import QuestionError

LONG = "Kan Zaw is the junta's investment minister [1]. " * 200


class CountingModel(ScriptedChatModel):
    """Scripted model that counts the tokens it produced (a slow model: 2 ms a token)."""

    produced: int = 0

    def _stream(self, *args: Any, **kwargs: Any):
        for chunk in super()._stream(*args, **kwargs):
            self.produced += 1
            time.sleep(0.002)
            yield chunk


@pytest.fixture
def assistant_with(fake_settings):
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)

    def make(model):
        return build_assistant(fake_settings, store=store, llm=model)

    return make


def test_closing_the_stream_stops_the_model(assistant_with) -> None:
    model = CountingModel(replies=[LONG])
    a = assistant_with(model)
    events = a.stream("Who is the junta's investment minister?")
    for ev in events:
        if ev.kind == "progress":  # the first token: stop mid-sentence
            break
    events.close()  # what Gradio does when the user presses Stop
    time.sleep(0.2)
    total = len(LONG.split())
    assert model.produced < 20, f"the model went on: {model.produced} of {total} tokens"
    # the lock was released: another question can be answered at once
    done = threading.Event()
    threading.Thread(target=lambda: (a.ask("Who is the junta's investment minister?"), done.set()), daemon=True).start()
    model.replies.append("Kan Zaw is the junta's investment minister [1].")
    assert done.wait(10)


def test_a_model_error_reaches_the_caller(assistant_with) -> None:
    class Broken(ScriptedChatModel):
        def _stream(self, *args: Any, **kwargs: Any):
            raise RuntimeError("model crashed")
            yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="model crashed"):
        assistant_with(Broken()).ask("Who is the junta's investment minister?")


def test_bad_questions_never_reach_the_model(assistant_with) -> None:
    model = ScriptedChatModel()
    a = assistant_with(model)
    for q in ["", "  ", "x" * 5000, "\udcff"]:
        with pytest.raises(QuestionError):
            a.ask(q)
    assert model.calls == []


def test_the_model_is_sent_the_selected_evidence_sentences_and_the_question(assistant_with) -> None:
    from assistant.service import EVIDENCE_IN_PROMPT

    model = ScriptedChatModel()
    answer = assistant_with(model).ask("Who is the junta's investment minister?")
    prompt = str(model.calls[0][-1].content)
    blocks = [b for b in prompt.split("\n\n") if b.startswith("[")]
    assert len(blocks) == EVIDENCE_IN_PROMPT  # sentences, not whole passages: a short prompt
    by_id = {p.passage_id: p.text for p in answer.passages}
    for b in blocks:
        n, sentence = b.split("] ", 1)
        assert sentence in by_id[int(n[1:])]  # each sentence verbatim from the passage it is numbered as
    assert any("Kan Zaw" in b for b in blocks)
    assert "Question: Who is the junta's investment minister?" in prompt
    assert len(prompt) < sum(len(p.text) for p in answer.passages)
    assert not answer.abstained and "Kan Zaw" in answer.answer and answer.answer_kind == "generative"


def test_a_standalone_question_after_others_is_searched_as_asked_without_a_model_call(assistant_with) -> None:
    from assistant.service import Turn

    model = ScriptedChatModel()
    a = assistant_with(model)
    history = [Turn("Who is the junta's investment minister?", "Kan Zaw is the junta's investment minister [1].")]
    assert a.condense("What is Rosatom?", history) == "What is Rosatom?"
    assert a.condense("Which Russian corporation is Myanmar negotiating with?", history).startswith("Which Russian")
    assert model.calls == []
    model.replies.append("What did Kan Zaw sign?")
    assert a.condense("What did he sign?", history) == "What did Kan Zaw sign?"
    assert len(model.calls) == 1
