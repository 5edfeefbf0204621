"""HTTP API (FastAPI) with the chat UI mounted at ``/`` (Gradio), as PrivateGPT mounts its UI.

Endpoints (all JSON use the models of :mod:`assistant.models`):

- ``GET /v1/health``: ``{"status": "ok", "chunks": N, "model": ...}``
- ``POST /v1/ask``: body ``{"question": str, "history": [{"question", "answer"}], "top_k": int?}``
  -> :class:`assistant.models.Answer`. 422 for an empty or too long question.
- ``POST /v1/ask/stream``: same body; Server-Sent Events ``rewrite``, ``sentence`` and ``final``
  (the final event's data is the Answer JSON).

A damaged index or a full disk (``index.errors.IndexingError``) answers 503 with JSON ``{"detail": message}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from pydantic import BaseModel, Field

from assistant.service import Assistant, QuestionError, Turn
from assistant.settings import Settings
from index.errors import IndexingError


class TurnIn(BaseModel):
    """An earlier exchange sent by the client."""

    question: str
    answer: str


class AskRequest(BaseModel):
    """Body of ``POST /v1/ask``."""

    question: str
    history: list[TurnIn] = Field(default_factory=list)


def create_app(assistant: Assistant, chunk_count: Callable[[], int] = lambda: 0):  # noqa: ANN201 - FastAPI
    """The FastAPI application over an assistant (no UI).

    Args:
        assistant: The assistant every endpoint calls.
        chunk_count: Function giving the number of indexed chunks now (for ``/v1/health``).
    """
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.concurrency import run_in_threadpool

    from assistant.models import Answer

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and nothing here may reach
    # an outside host. The schema stays at /openapi.json.
    app = FastAPI(title="Grounded assistant", version="0.1.0", docs_url=None, redoc_url=None)

    @app.exception_handler(IndexingError)
    async def _store_failed(request, exc: IndexingError):  # noqa: ANN001, ANN202 - a JSONResponse
        # a damaged index or a full disk: JSON with what to do, not a plain-text 500
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/v1/health")
    def health() -> dict:
        return {"status": "ok", "chunks": chunk_count(), "model": assistant.model_name}

    def _check(req: AskRequest) -> None:
        try:
            assistant.check_question(req.question)
        except QuestionError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

    @app.post("/v1/ask", response_model=Answer)
    async def ask(req: AskRequest) -> Answer:
        _check(req)
        history = [Turn(t.question, t.answer) for t in req.history]
        return await run_in_threadpool(assistant.ask, req.question, history)

    @app.post("/v1/ask/stream", response_class=StreamingResponse)
    def ask_stream(req: AskRequest):  # noqa: ANN202 - a StreamingResponse (an annotation would enter the schema)
        _check(req)
        history = [Turn(t.question, t.answer) for t in req.history]

        def events() -> Iterator[str]:
            for ev in assistant.stream(req.question, history):
                if ev.kind == "final":
                    data = ev.answer.model_dump_json()
                elif ev.kind in ("passages", "progress"):
                    continue
                else:
                    data = json.dumps({"text": ev.text}, ensure_ascii=False)
                yield f"event: {ev.kind}\ndata: {data}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


class AddressInUseError(OSError):
    """The configured host/port cannot be bound; the message says which setting to change."""


def _check_port_free(host: str, port: int) -> None:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise AddressInUseError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}). Choose another --port/--host "
            "(settings port/host) or stop the program using it."
        ) from None


def serve(settings: Settings, with_ui: bool = True) -> None:
    """Check the index (:func:`assistant.composition.require_index`), print its sources, then serve with uvicorn.

    Binds to ``settings.host`` (127.0.0.1 by default); no share link is ever created.

    Raises:
        AddressInUseError: the host/port cannot be bound (checked before any model is loaded).
        index.errors.EmptyIndexError: the index is empty and not at the default location.
    """
    import uvicorn

    from assistant.composition import build_assistant, build_store, describe_sources, require_index

    _check_port_free(settings.host, settings.port)
    store = build_store(settings)
    assistant = build_assistant(settings, store=store)
    if require_index(settings, store):
        print(f"Note: the index in {settings.persist_dir} was empty; indexed the bundled article into it.", flush=True)
    sources, chunks = describe_sources(store), store.count()
    app = create_app(assistant, chunk_count=store.count)
    if with_ui:
        import gradio as gr

        from ui.app import build_ui

        app = gr.mount_gradio_app(app, build_ui(assistant), path="/")
    print(f"Serving {sources}", flush=True)
    print(f"Serving on http://{settings.host}:{settings.port}/ ({chunks} chunks indexed)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
