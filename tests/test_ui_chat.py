"""The chat handlers over a real Assistant (fake embeddings, scripted model): streaming, stop, history,
feedback, and sessions that never share state."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.feedback.store import FeedbackStore
from assistant.llm import ScriptedChatModel
from assistant.models import ABSTENTION_TEXT
from assistant.service import Turn
from ui.chat import STOPPED, ChatController
from ui.session import TurnRecord, history, turn_of_message

Q1 = "Who is the junta's investment minister?"


@pytest.fixture
def controller(fake_settings):
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    model = ScriptedChatModel()
    ctl = ChatController(build_assistant(fake_settings, store=store, llm=model),
                         FeedbackStore.for_data_dir(fake_settings.data_dir))
    ctl.model = model
    return ctl


def _final(ctl: ChatController, question: str, records: list) -> tuple[list, list]:
    outputs = list(ctl.respond(question, records))
    return outputs, outputs[-1][1]


def _like(index: int, liked) -> SimpleNamespace:  # noqa: ANN001 - the fields of gr.LikeData used
    return SimpleNamespace(index=index, liked=liked, value=None)


def test_answer_streams_status_then_final_with_sources(controller):
    all_outputs, records = _final(controller, Q1, [])
    outputs = [o for o in all_outputs if "value" in o[0]]  # the rest: per-token no-op updates (Stop points)
    assert len(all_outputs) > len(outputs)
    chats = [o[0]["value"][-1]["content"] for o in outputs]
    assert "Searching the documents" in chats[0] and outputs[0][3] == ""  # question box emptied at once
    assert outputs[0][4] == {"__type__": "update", "visible": False}  # Ask hidden, Stop shown while busy
    assert "Checking the answer against 4 passages" in chats[1]
    assert '<a class="cite" href="#src-0-1"' in chats[-1] and "status" not in chats[-1]
    assert records[0].answer is not None and records[0].answer.citations
    assert 'id="src-0-1"' in outputs[-1][2] and "<mark" in outputs[-1][2]
    assert outputs[-1][5] == {"__type__": "update", "visible": False}  # Stop hidden again


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", "\u200b \u200b"])
def test_an_empty_question_is_explained_and_adds_no_turn(controller, monkeypatch, blank):
    import ui.chat

    shown: list[str] = []
    monkeypatch.setattr(ui.chat.gr, "Warning", lambda message, *a, **k: shown.append(message))
    (out,) = list(controller.respond(blank, []))
    assert out[1] == [] and out[0] == {"__type__": "update"}
    assert shown == ["The question is empty. Type a question about the documents."]  # as the CLI and API say


def test_follow_up_gets_this_sessions_history_and_shows_the_rewrite(controller):
    _, records = _final(controller, Q1, [])
    outputs, records = _final(controller, "What did he sign?", records)
    final = records[-1].answer
    assert final.standalone_question == f"What did he sign? ({Q1})"
    assert f"Searched for: “What did he sign? \\({Q1.replace('.', '')}" in outputs[-1][0]["value"][-1]["content"]
    condense_prompt = controller.model.calls[1][-1].content
    assert f"User: {Q1}" in condense_prompt


def test_history_is_bounded(controller, fake_settings):
    records = [TurnRecord(i, f"q{i}?", "", answer=None) for i in range(3)]
    assert history(records, 4) == []  # unanswered turns are not context
    _, answered = _final(controller, Q1, [])
    many = [TurnRecord(i, Q1, "", answer=answered[0].answer) for i in range(30)]
    turns = history(many, fake_settings.history_turns)
    assert len(turns) == fake_settings.history_turns == 4
    assert turns[-1] == Turn(Q1, answered[0].answer.answer)
    assert history(many, 0) == []


def test_condense_prompt_stays_small_whatever_the_history(controller):
    long_q = "Who " + "really " * 270 + "signed it?"  # just under max_question_chars
    records = []
    for _ in range(6):
        _, records = _final(controller, long_q, records)
    controller.model.calls.clear()
    _final(controller, "What did he sign?", records)
    condense_prompt = "".join(str(m.content) for m in controller.model.calls[0])
    assert "Follow-up question: What did he sign?" in condense_prompt and len(records) == 6
    assert len(condense_prompt) < 4000  # 4 turns x 2 x 400 characters, plus the template


def test_stop_keeps_what_was_verified_and_marks_the_turn(controller):
    gen = controller.respond(Q1, [])
    first = next(gen)
    gen.close()  # what Gradio does when Stop cancels the event
    chat, records, *_ = controller.stop(first[1])
    assert records[-1].answer is None
    assert STOPPED[:-1] in chat["value"][-1]["content"]
    assert history(records, 4) == []


def test_a_failing_assistant_is_reported_in_the_chat(controller):
    def boom(q, h):
        raise RuntimeError("model file missing <b>x</b>")
        yield  # pragma: no cover
    controller.assistant.stream = boom
    outputs = list(controller.respond(Q1, []))
    content = outputs[-1][0]["value"][-1]["content"]
    assert "The assistant could not answer." in content and "&lt;b&gt;x&lt;/b&gt;" in content
    assert outputs[-1][1][0].answer is None


def test_thumbs_down_is_stored_then_detailed_then_taken_back(controller, fake_settings):
    _, records = _final(controller, Q1, [])
    records, box, turn, reason, comment, title = controller.rate(records, _like(1, False))
    assert box["visible"] is True and turn == 0 and reason["visible"] is True and "What was wrong" in title
    stored = controller.feedback.records()
    assert [(r.rating, r.answer.question) for r in stored] == [("down", Q1)]
    assert stored[0].settings["top_k"] == fake_settings.top_k and stored[0].answer.citations
    assert controller.chat(records)["feedback_value"] == ["Dislike"]

    box, status = controller.save_details(records, 0, "wrong", "  It is Kan Zaw.  ")
    assert box["visible"] is False and "saved" in status
    assert (controller.feedback.get(stored[0].id).reason, controller.feedback.get(stored[0].id).comment) == \
        ("wrong", "It is Kan Zaw.")

    records, *_ = controller.rate(records, _like(1, True))  # changed to a thumbs-up: same row
    assert [(r.id, r.rating, r.reason) for r in controller.feedback.records()] == [(stored[0].id, "up", None)]
    records, box, *_ = controller.rate(records, _like(1, None))  # clicked again: taken back
    assert controller.feedback.records() == [] and records[0].feedback_id is None and box["visible"] is False


def test_rating_an_unfinished_answer_stores_nothing(controller):
    first = next(controller.respond(Q1, []))
    out = controller.rate(first[1], _like(1, False))
    assert out[1] == {"__type__": "update"} and controller.feedback.records() == []


def test_clear_resets_everything(controller):
    chat, records, panel, *_rest = controller.clear()
    assert chat["value"] == [] and records == [] and "src-hint" in panel


def test_message_index_maps_to_turn():
    assert [turn_of_message(i) for i in (0, 1, 2, 3, [5, 0])] == [0, 0, 1, 1, 2]


def test_sessions_answer_concurrently_and_never_share_turns(controller):
    """Four sessions asking at once from threads, as Gradio's workers do: no errors, no mixing."""
    questions = [Q1, "Who invited Min Aung Hlaing to Russia?", "What does SAC stand for?",
                 "Which ASEAN member endorsed Russia's invasion of Ukraine?"]
    results: dict[int, list] = {}

    def session(i: int) -> None:
        records: list = []
        for _ in range(5):
            _, records = _final(controller, questions[i], records)
        results[i] = records

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for i, records in results.items():
        assert len(records) == 5
        assert {r.question for r in records} == {questions[i]}
        assert all(r.answer is not None for r in records), [r.display for r in records if r.answer is None]
    assert len(results) == len(questions)


def test_abstention_turn_shows_no_sources(controller):
    controller.assistant.retrieve = lambda q, k=None: []
    outputs, records = _final(controller, "Who won the football World Cup?", [])
    assert records[0].answer.abstained and records[0].answer.answer == ABSTENTION_TEXT
    assert "abstain" in outputs[-1][0]["value"][-1]["content"] and "<section" not in outputs[-1][2]


def test_prompts_fit_the_models_context_window_in_a_long_conversation(controller, fake_settings):
    """Longest questions, many turns: every prompt plus the longest answer fits in n_ctx tokens of SmolLM2."""
    from llama_cpp import Llama

    from assistant.settings import default_model_path

    tokenizer = Llama(model_path=str(default_model_path()), vocab_only=True, verbose=False)
    limit = fake_settings.max_question_chars
    long_q = ("What did he sign with the Russian minister for economic development for Dawei " * 40)[:limit - 1] + "?"
    records: list = []
    for _ in range(6):
        _, records = _final(controller, long_q, records)
    controller.model.calls.clear()
    _final(controller, long_q, records)  # a follow-up with a pronoun: condensed, then answered
    assert len(controller.model.calls) == 2
    for call in controller.model.calls:
        text = "\n".join(str(m.content) for m in call)
        tokens = len(tokenizer.tokenize(text.encode("utf-8"), add_bos=True)) + 16 * len(call)  # chat-template tags
        assert tokens + fake_settings.max_tokens <= fake_settings.n_ctx, tokens
