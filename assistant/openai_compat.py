"""OpenAI-compatible endpoints: ``POST /v1/chat/completions`` (streaming and not) and ``GET /v1/models``.

The official ``openai`` client and chat front ends work unchanged with ``base_url=http://HOST:PORT/v1``.
The last ``user`` message is the question; the earlier ``user``/``assistant`` pairs are the history
used for follow-up rewriting (``system`` messages are ignored: the assistant's instructions are its own).
Whatever ``model`` the request names, the assistant answers (``GET /v1/models`` lists its one id).

Citations travel in both modes: as ``[n]`` markers in the content, and as extra fields holding the
same :class:`assistant.models.Citation`/:class:`assistant.models.Passage` objects as ``/v1/ask``:
``citations``, ``passages``, ``abstained``, ``abstention_reason``, ``answer_kind``,
``standalone_question`` on the response object, and on the last chunk of a stream (which also holds
``answer``, the complete verified text: when the answer-level checks abstain after sentences were
streamed, it replaces them). An abstention is an ordinary assistant message with ``abstained: true``.
A stream sends ``data: {chunk}`` events, ``: queued n`` comments while the question waits for the
model and ``: ping`` heartbeats (:mod:`assistant.sse`), and ends with ``data: [DONE]``; a failure
after the stream started ends it instead with ``data: {"error": {"message", "type", "code"}}``, whose
``code`` is one of :data:`assistant.sse.ERROR_CODES`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.api import ApiError, api_error, start_stream, stream_error
from assistant.models import Answer
from assistant.service import Assistant, QuestionError, Turn
from assistant.sse import SSE_HEADERS, sse_events

#: The model id listed by ``GET /v1/models`` and returned in every completion.
MODEL_ID = "grounded-assistant"


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request (text content as a string or a list of text parts)."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The message's text (text parts joined; other parts ignored)."""
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """Body of ``POST /v1/chat/completions``; sampling fields (temperature, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"model": "grounded-assistant", "messages": [{"role": "user", "content": "Who signed the agreement?"}]}]})
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """``(question, history)`` from chat messages: the last user message, and earlier user/assistant pairs.

    Raises:
        QuestionError: the last message is not a ``user`` message.
    """
    chat = [m for m in messages if m.role in ("user", "assistant")]
    if not chat or chat[-1].role != "user":
        raise QuestionError("The last message must be the user's question (role 'user'). "
                            "Send the conversation with the new question last.")
    history = [Turn(u.text(), a.text()) for u, a in itertools.pairwise(chat[:-1])
               if u.role == "user" and a.role == "assistant"]
    return chat[-1].text(), history


def answer_extras(answer: Answer) -> dict:
    """The extra fields carrying the answer's citation objects (the same models as ``/v1/ask``)."""
    return {"citations": [c.model_dump(mode="json") for c in answer.citations],
            "passages": [p.model_dump(mode="json") for p in answer.passages],
            "abstained": answer.abstained, "abstention_reason": answer.abstention_reason,
            "answer_kind": answer.answer_kind, "standalone_question": answer.standalone_question}


def openai_router(assistant: Assistant) -> APIRouter:
    """The router with ``/v1/chat/completions`` and ``/v1/models`` over ``assistant``."""
    router = APIRouter()
    settings = assistant.settings
    started = int(time.time())

    def checked(req: ChatCompletionRequest) -> tuple[str, list[Turn]]:
        try:
            question, history = conversation(req.messages)
            return assistant.check_question(question), history
        except QuestionError as exc:
            raise ApiError(422, str(exc)) from None

    @router.get("/v1/models")
    def models() -> dict:
        return {"object": "list",
                "data": [{"id": MODEL_ID, "object": "model", "created": started, "owned_by": "grounded-assistant"}]}

    @router.post("/v1/chat/completions")
    def chat_completions(req: ChatCompletionRequest):  # noqa: ANN202 - JSON or an SSE stream
        question, history = checked(req)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not req.stream:
            try:
                answer = assistant.ask(question, history)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
                raise api_error(exc, settings) from None
            return JSONResponse({"id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer.answer}}],
                    **answer_extras(answer)})
        stop = threading.Event()  # set when the client goes away (assistant.sse)
        stream = assistant.stream(question, history, stop=stop)
        head = start_stream(stream, settings)

        def chunk(delta: dict, finish: str | None = None, **extra: object) -> str:
            body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        shown = ""

        def render(ev) -> list[str]:  # noqa: ANN001 - a StreamEvent
            nonlocal shown
            if ev.kind == "queued":
                return [f": queued {ev.position}\n\n"]
            if ev.kind == "sentence":
                piece = (" " if shown else "") + ev.text
                shown += piece
                return [chunk({"content": piece})]
            if ev.kind != "final":
                return []
            text, out = ev.answer.answer, []
            if text != shown:  # nothing streamed yet (abstention, reply) or the final text differs
                rest = text[len(shown):] if text.startswith(shown) else ("\n\n" if shown else "") + text
                out.append(chunk({"content": rest}))
            return [*out, chunk({}, "stop", answer=text, **answer_extras(ev.answer)), "data: [DONE]\n\n"]

        def fail(exc: BaseException) -> str:
            body = stream_error(exc, settings).body(openai=True)
            body["error"]["code"] = body["code"]  # the stable code (assistant.sse.ERROR_CODES), as OpenAI's
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        return StreamingResponse(sse_events(head, stream, render, fail, settings.sse_heartbeat_s,
                                            opening=chunk({"role": "assistant", "content": ""}), stop=stop),
                                 media_type="text/event-stream", headers=SSE_HEADERS)

    return router
