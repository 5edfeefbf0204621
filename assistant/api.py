"""HTTP API (FastAPI) with the chat UI mounted at ``/`` (Gradio), as PrivateGPT mounts its UI.

Endpoints (all JSON use the models of :mod:`assistant.models`):

- ``GET /v1/health``: ``{"status": "ok"|"degraded", "chunks": N, "model": ..., "queue": {...},
  "backend": {...}}``. ``backend`` tells an ``openai``/``ollama`` server's state from the calls
  already made (``last_error``, ``failures``) and a TCP probe (``reachable``); the model is never
  called for it. ``status`` is ``degraded`` while the last model call failed or the server is
  unreachable.
- ``POST /v1/ask``: body ``{"question": str, "history": [{"question", "answer"}]}``
  -> :class:`assistant.models.Answer`.
- ``POST /v1/ask/stream``: same body; Server-Sent Events ``rewrite``, ``queued`` (``{"position": n}``:
  the question waits for the model, n-th in line), ``sentence``, ``final`` (the Answer JSON) and,
  when answering fails after the stream started, ``error`` (the error body below with a stable
  ``code``, :data:`assistant.sse.ERROR_CODES`): exactly one of ``final``/``error`` ends every stream.
  ``: ping`` comments are sent while the model works; a client that goes away stops the model
  (:mod:`assistant.sse`). The status line is sent once the question has its place in the model's
  line, so a full line is a real 503.
- ``POST /v1/chat/completions``, ``GET /v1/models``: OpenAI-compatible (:mod:`assistant.openai_compat`).
- ``POST``/``GET /v1/documents``, ``DELETE /v1/documents/{source}``: :mod:`assistant.documents_api`.
- ``GET /embed`` (the chat page for an iframe) and ``GET /embed.js`` (its launcher script), and the
  frame policy of every response: :mod:`assistant.embed`.

Keys, rate limit, CORS, Host check and body rules: :mod:`assistant.security`.

Every error, from every endpoint, is JSON ``{"status": int, "error": str, "message": str}`` whose
message says what to do: 404/405 (no such endpoint or method), 422 (bad body or question), 503 (the
model's queue is full: ``Retry-After`` header and ``retry_after`` field, in seconds; or the model
server is unreachable), 504 (the model server timed out), 500 (anything else; details only in the
server log, never a stack trace).

A damaged index or a full disk (``index.errors.IndexingError``) is a 503 whose message names what to
run (``assistant index --rebuild``, or free disk space).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request  # at module level: FastAPI resolves the route annotations here

from assistant.generation_queue import QueueFullError
from assistant.llm import REMOTE_BACKENDS, BackendMonitor, backend_failure, probe, remote_url
from assistant.service import Assistant, QuestionError, StreamEvent, Turn
from assistant.settings import Settings
from assistant.sse import SSE_HEADERS, error_code, sse_events
from index.errors import IndexingError

log = logging.getLogger(__name__)

#: Seconds a reachability probe of the model server is reused by ``/v1/health``.
PROBE_TTL_S = 10.0


class TurnIn(BaseModel):
    """An earlier exchange sent by the client."""

    question: str
    answer: str


class AskRequest(BaseModel):
    """Body of ``POST /v1/ask``."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "Who signed the agreement?", "history": []}]})
    question: str
    history: list[TurnIn] = Field(default_factory=list)


#: Endpoints of the OpenAI-compatible API, whose errors OpenAI clients read (:meth:`ApiError.body`).
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})


class ApiError(Exception):
    """A failure to answer with a JSON error body.

    Attributes:
        status: HTTP status code.
        message: What happened and what to do.
        headers: Extra response headers (``Retry-After``).
        extra: Extra body fields (``retry_after``).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: object):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers or {}, extra

    def body(self, openai: bool = False) -> dict:
        """The JSON error body; ``openai``: with ``error`` an object ``{"message", "type", "code"}``, the
        shape OpenAI clients read their error message from."""
        phrase = HTTPStatus(self.status).phrase
        error = {"message": self.message, "type": phrase, "code": self.status} if openai else phrase
        return {"status": self.status, "error": error, "message": self.message, **self.extra}

    def response(self, path: str = ""):  # noqa: ANN201 - a JSONResponse
        """The JSON response (OpenAI-shaped body on :data:`OPENAI_PATHS`)."""
        from starlette.responses import JSONResponse

        return JSONResponse(self.body(openai=path in OPENAI_PATHS), status_code=self.status, headers=self.headers)


def api_error(exc: BaseException, settings: Settings) -> ApiError:
    """The :class:`ApiError` for an exception raised while answering (500 when not an expected failure)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QuestionError):
        return ApiError(422, str(exc))
    if isinstance(exc, QueueFullError):
        return ApiError(503, str(exc), {"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after)
    if isinstance(exc, IndexingError):  # a damaged index or a full disk: the message says what to run
        log.error("index failed: %s", exc)
        return ApiError(503, str(exc))
    failure = backend_failure(exc, settings)
    if failure is not None:
        log.warning("model backend failed: %s: %s", type(exc).__name__, exc)
        return ApiError(*failure)
    log.error("answering failed", exc_info=exc)
    return ApiError(500, f"The assistant failed to answer ({type(exc).__name__}). The details are in the server "
                         "log; try again, and report the question if it fails again.")


def stream_error(exc: BaseException, settings: Settings) -> ApiError:
    """The :class:`ApiError` of a failure after a stream started, with its stable ``code`` field
    (:data:`assistant.sse.ERROR_CODES`)."""
    err = api_error(exc, settings)
    return ApiError(err.status, err.message, err.headers, **err.extra, code=error_code(exc, err.status))


def start_stream(stream: Iterator[StreamEvent], settings: Settings) -> list[StreamEvent]:
    """Read a stream up to the model's line, before the status line is sent, so that a full line is a
    real 503 (and a bad question a 422): then the question is waiting, running or answered.

    Returns:
        The events read, to send first.

    Raises:
        ApiError: answering failed before that point.
    """
    head = []
    try:
        for ev in stream:
            head.append(ev)
            if ev.kind in ("queued", "progress", "sentence", "final"):
                break
    except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
        raise api_error(exc, settings) from None
    return head


class BackendHealth:
    """The model backend's state for ``/v1/health``, from recorded calls and a cached TCP probe."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._probe: tuple[float, bool | None] | None = None
        self._lock = threading.Lock()

    def report(self) -> tuple[bool, dict]:
        """``(healthy, details)``: details name the backend and, for remote ones, its last outcome."""
        s = self.assistant.settings
        if s.llm_backend not in REMOTE_BACKENDS:
            return True, {"kind": s.llm_backend, "in_process": True}
        try:
            llm = self.assistant.llm  # a remote client: built without contacting the server
        except Exception as exc:  # noqa: BLE001 - e.g. the extra is not installed: reported, not raised
            return False, {"kind": s.llm_backend, "url": remote_url(s), "reachable": None, "failures": 0,
                           "last_error": f"{type(exc).__name__}: {exc}"[:300]}
        monitor = next((c for c in (llm.callbacks or []) if isinstance(c, BackendMonitor)), None)
        with self._lock:
            if self._probe is None or time.monotonic() - self._probe[0] > PROBE_TTL_S:
                self._probe = (time.monotonic(), probe(remote_url(s), min(1.0, s.backend_connect_timeout_s)))
            reachable = self._probe[1]
        failures = monitor.failures if monitor else 0
        details = {"kind": s.llm_backend, "url": remote_url(s), "reachable": reachable, "failures": failures,
                   "last_error": monitor.last_error if monitor else None,
                   "last_error_at": _iso(monitor.last_error_at if monitor else None),
                   "last_ok_at": _iso(monitor.last_ok_at if monitor else None)}
        return (failures == 0 and reachable is not False), details


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


#: The body shown in a 422's message when the called endpoint's body model has no example.
_DEFAULT_EXAMPLE = {"question": "Who signed the agreement?", "history": []}


def body_example(request: Request) -> dict:
    """An example body for the endpoint ``request`` was routed to: the first of its body model's
    ``json_schema_extra["examples"]`` (the examples OpenAPI shows), or :data:`_DEFAULT_EXAMPLE`."""
    field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    extra = getattr(model, "model_config", {}).get("json_schema_extra") or {}
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples[0] if examples else _DEFAULT_EXAMPLE


def _validation_message(errors: list[dict], example: dict) -> str:
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return (f"Invalid request: {'; '.join(parts)}. Send JSON like {json.dumps(example, ensure_ascii=False)} "
            "with Content-Type: application/json.")


def route_path(scope: dict) -> str:
    """The request's path without the ``root_path`` prefix (setting ``root_path``: uvicorn puts it in
    front of the path the proxy forwarded), as the routes see it."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):] or "/"
    return path


def endpoints(app) -> dict[str, list[str]]:  # noqa: ANN001 - a FastAPI app
    """``{path: [METHOD, ...]}`` of every endpoint in ``app``'s OpenAPI schema (its routes, included
    routers too), in the schema's order."""
    return {path: [m.upper() for m in ops] for path, ops in app.openapi().get("paths", {}).items()}


def endpoint_list(app) -> str:  # noqa: ANN001 - a FastAPI app
    """``GET /v1/health, POST /v1/ask, ...``: every endpoint of ``app``'s schema (:func:`endpoints`)."""
    return ", ".join(f"{m} {path}" for path, methods in endpoints(app).items() for m in methods)


def create_app(assistant: Assistant, chunk_count: Callable[[], int] = lambda: 0, store=None):  # noqa: ANN001, ANN201
    """The FastAPI application over an assistant (no UI).

    Args:
        assistant: The assistant every endpoint calls.
        chunk_count: Function giving the number of indexed chunks now (for ``/v1/health``).
        store: The chunk store the assistant reads; when given, ``/v1/documents`` manages it
            (:mod:`assistant.documents_api`).
    """
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import compile_path
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from assistant.models import Answer

    settings = assistant.settings
    backend = BackendHealth(assistant)
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and nothing here may reach
    # an outside host. The schema stays at /openapi.json.
    app = FastAPI(title="Grounded assistant", version="0.1.0", docs_url=None, redoc_url=None)
    from assistant.security import secure  # here: assistant.security imports ApiError from this module

    secure(app, settings)  # keys, rate limit, CORS, Host check, JSON-only bodies, body size
    from assistant.embed import FramePolicy, embed_router

    app.add_middleware(FramePolicy)  # outermost: no other site may frame any page but /embed
    app.include_router(embed_router(settings))

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response(route_path(request.scope))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = (f"No endpoint {request.url.path}. The API has {endpoint_list(app)} "
                       "(schema: GET /openapi.json).")
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "another method")
            message = f"{request.method} is not allowed on {request.url.path}; use {allowed}."
        else:
            message = str(exc.detail)
        return ApiError(exc.status_code, message, dict(exc.headers or {})).response(route_path(request.scope))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message = _validation_message(list(exc.errors()), body_example(request))
        return ApiError(422, message).response(route_path(request.scope))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return api_error(exc, settings).response(route_path(request.scope))

    @app.exception_handler(IndexingError)
    async def on_store_failure(request: Request, exc: IndexingError) -> JSONResponse:
        # a damaged index or a full disk: JSON with what to do, not a plain-text 500
        return ApiError(503, str(exc)).response(route_path(request.scope))

    @app.get("/v1/health")
    def health() -> dict:
        healthy, details = backend.report()
        return {"status": "ok" if healthy else "degraded", "chunks": chunk_count(), "model": assistant.model_name,
                "backend": details, "queue": assistant.generation_queue.snapshot()}

    def _checked(req: AskRequest) -> tuple[str, list[Turn]]:
        try:
            q = assistant.check_question(req.question)
        except QuestionError as exc:
            raise ApiError(422, str(exc)) from None
        return q, [Turn(t.question, t.answer) for t in req.history]

    @app.post("/v1/ask", response_model=Answer)
    async def ask(req: AskRequest) -> Answer:
        q, history = _checked(req)
        try:
            return await run_in_threadpool(assistant.ask, q, history)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
            raise api_error(exc, settings) from None

    @app.post("/v1/ask/stream", response_class=StreamingResponse)
    async def ask_stream(req: AskRequest):  # noqa: ANN202 - a StreamingResponse (an annotation would enter the schema)
        q, history = _checked(req)
        stop = threading.Event()  # set when the client goes away (assistant.sse)
        stream = assistant.stream(q, history, stop=stop)
        head = await run_in_threadpool(start_stream, stream, settings)

        def render(ev: StreamEvent) -> list[str]:
            if ev.kind == "final":
                data = ev.answer.model_dump_json()
            elif ev.kind == "queued":
                data = json.dumps({"position": ev.position})
            elif ev.kind in ("passages", "progress"):
                return []
            else:
                data = json.dumps({"text": ev.text}, ensure_ascii=False)
            return [f"event: {ev.kind}\ndata: {data}\n\n"]

        def fail(exc: BaseException) -> str:
            body = stream_error(exc, settings).body()
            return f"event: error\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"

        return StreamingResponse(sse_events(head, stream, render, fail, settings.sse_heartbeat_s, stop=stop),
                                 media_type="text/event-stream", headers=SSE_HEADERS)

    from assistant.openai_compat import openai_router  # imports this module's ApiError

    app.include_router(openai_router(assistant))
    if store is not None:
        from assistant.documents_api import documents_router

        app.include_router(documents_router(settings, store))

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                   include_in_schema=False)
    def unknown(request: Request, path: str) -> None:
        """Unknown paths and methods under /v1 (else the UI mounted at / would answer them with HTML)."""
        path = route_path(request.scope)
        allowed = sorted({m for p, methods in endpoints(app).items() if compile_path(p)[0].match(path)
                          for m in methods})
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)

    return app


def _log_to_stderr() -> None:
    """Show the assistant's INFO log lines (queued and refused questions, backend failures) on stderr."""
    logger = logging.getLogger("assistant")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


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

    Binds to ``settings.host`` (127.0.0.1 by default); no share link is ever created. With
    ``settings.root_path`` (``/assistant``), the UI and API answer a reverse proxy that forwards
    ``/assistant/...`` without the prefix (README "Behind a reverse proxy").

    Raises:
        InsecureBindError: ``host`` is not loopback and no ``api_keys`` are set (checked first).
        AddressInUseError: the host/port cannot be bound (checked before any model is loaded).
        index.errors.EmptyIndexError: the index is empty and not at the default location.
    """
    import uvicorn

    from assistant.composition import build_assistant, build_store, describe_sources, require_index

    from assistant.security import check_bind

    check_bind(settings)
    _check_port_free(settings.host, settings.port)
    store = build_store(settings)
    assistant = build_assistant(settings, store=store)
    if require_index(settings, store):
        print(f"Note: the index in {store.location} was empty; indexed the bundled article into it.", flush=True)
    sources, chunks = describe_sources(store), store.count()
    app = create_app(assistant, chunk_count=store.count, store=store)
    if with_ui:
        import gradio as gr

        from ui.app import build_ui

        # root_path: the public prefix (behind a reverse proxy), so that the page links its assets there
        app = gr.mount_gradio_app(app, build_ui(assistant), path="/", root_path=settings.root_path or None)
    _log_to_stderr()
    print(f"Serving {sources}", flush=True)
    print(f"Serving on http://{settings.host}:{settings.port}/ ({chunks} chunks indexed)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", root_path=settings.root_path)
