"""The OpenAI-compatible API (issue 9 item 2), driven by the official ``openai`` client over real HTTP.

The citations arrive both as ``[n]`` markers in the content and as the same Citation/Passage
objects as ``POST /v1/ask`` in the response's extra fields (``model_extra``), streaming and not.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.models import ABSTENTION_TEXT, Citation, Passage
from assistant.service import Turn
from live_server import live_server  # tests/live_server.py

Q = "Who is the junta's investment minister?"
OFF_TOPIC = "What is the boiling point of liquid nitrogen?"
KEY = "portal-key-0123456789"


@pytest.fixture
def served(fake_settings):
    """``(client, url, assistant)``: the API behind a key on a loopback port, and an openai client for it."""
    settings = fake_settings.model_copy(update={"api_keys": [KEY]})
    store = build_store(settings)
    ensure_indexed(settings, store)
    assistant = build_assistant(settings, store=store)
    with live_server(create_app(assistant, store.count)) as url:
        yield openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60), url, assistant


def _ask(url: str, question: str, history: list | None = None) -> dict:
    r = httpx.post(url + "/v1/ask", json={"question": question, "history": history or []},
                   headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_models_lists_the_assistant(served) -> None:
    client, _, _ = served
    assert [m.id for m in client.models.list()] == ["grounded-assistant"]


def test_a_completion_carries_the_same_citations_as_ask(served) -> None:
    client, url, _ = served
    r = client.chat.completions.create(model="grounded-assistant", messages=[{"role": "user", "content": Q}])
    expected = _ask(url, Q)
    message = r.choices[0].message
    assert message.role == "assistant" and message.content == expected["answer"] and "[1]" in message.content
    extra = r.model_extra
    assert extra["citations"] == expected["citations"] and extra["passages"] == expected["passages"]
    assert [Citation(**c) for c in extra["citations"]] and [Passage(**p) for p in extra["passages"]]
    assert extra["abstained"] is False and "Kan Zaw" in message.content
    parts = client.chat.completions.create(model="m", messages=[{"role": "user", "content": [
        {"type": "text", "text": Q}]}])  # content as a list of text parts, as some front ends send it
    assert parts.choices[0].message.content == expected["answer"]


def test_a_stream_ends_with_the_citations_and_done(served) -> None:
    client, url, _ = served
    chunks = list(client.chat.completions.create(model="any", stream=True, messages=[
        {"role": "system", "content": "You are helpful."}, {"role": "user", "content": Q}]))
    expected = _ask(url, Q)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == expected["answer"]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == expected["citations"]
    assert last.model_extra["passages"] == expected["passages"] and last.model_extra["answer"] == text
    raw = httpx.post(url + "/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": Q}]},
                     headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]") and raw.text.count("data: [DONE]") == 1


def test_an_abstention_is_an_ordinary_message_marked_abstained(served) -> None:
    client, _, _ = served
    for stream in (False, True):
        r = client.chat.completions.create(model="m", stream=stream, messages=[{"role": "user", "content": OFF_TOPIC}])
        if stream:
            chunks = list(r)
            text, extra = "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra
        else:
            text, extra = r.choices[0].message.content, r.model_extra
        assert text == ABSTENTION_TEXT and extra["abstained"] is True and extra["citations"] == []


def test_earlier_messages_are_the_history_for_the_follow_up_rewrite(served) -> None:
    client, url, assistant = served
    first = _ask(url, Q)
    follow_up = "What did he sign?"
    r = client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": Q}, {"role": "assistant", "content": first["answer"]},
        {"role": "user", "content": follow_up}])
    expected = assistant.ask(follow_up, [Turn(Q, first["answer"])])
    assert r.model_extra["standalone_question"] == expected.standalone_question
    assert r.model_extra["standalone_question"] != follow_up  # the history was used for the rewrite
    assert r.choices[0].message.content == expected.answer


def test_bad_conversations_and_missing_keys_are_openai_errors(served) -> None:
    client, url, _ = served
    with pytest.raises(openai.UnprocessableEntityError, match="last message"):
        client.chat.completions.create(model="m", messages=[{"role": "assistant", "content": "Hello"}])
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        client.chat.completions.create(model="m", messages=[])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="wrong-key-0123456789", max_retries=0).models.list()


def test_a_failing_model_is_an_openai_error_with_the_message_streaming_or_not(fake_settings) -> None:
    from assistant.llm import ScriptedChatModel

    def fail(messages):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    assistant = build_assistant(fake_settings, store=store, llm=ScriptedChatModel(reply_fn=fail))
    with live_server(create_app(assistant, store.count)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)
        for stream in (False, True):
            with pytest.raises(openai.InternalServerError, match="failed to answer") as exc:
                r = client.chat.completions.create(model="m", stream=stream, messages=[{"role": "user", "content": Q}])
                list(r) if stream else None
            assert "Traceback" not in str(exc.value.body) and "boom" not in str(exc.value)
