"""Server-Sent Events over :meth:`assistant.service.Assistant.stream`, made to behave behind proxies.

Both streaming endpoints (``POST /v1/ask/stream`` and the streaming mode of
``POST /v1/chat/completions``) send their events through :func:`sse_events`, which

- sends a heartbeat comment (``: ping``) whenever nothing was sent for ``sse_heartbeat_s`` seconds
  (setting, at most 15 s) while the model works (also while it writes tokens that complete no
  sentence yet), so that a proxy's read timeout (nginx: 60 s) does
  not cut a slow answer;
- ends every stream with exactly one terminal event: the endpoint's own (``final``, or the last
  chunk and ``[DONE]``), or an error event carrying one of the stable :data:`ERROR_CODES` and a
  user-safe message (no traceback, no path); nothing is sent after it;
- stops the model when the client goes away: the answer stream is read in its own thread, which
  closes it at the next event once the response is cancelled (Starlette cancels it on
  ``http.disconnect``); closing it stops the model at its next token
  (:meth:`assistant.service.Assistant._generate`) and frees the generation queue.

:data:`SSE_HEADERS` (``Cache-Control: no-cache``, ``X-Accel-Buffering: no``) tell proxies not to
cache or buffer the stream (nginx honours ``X-Accel-Buffering``).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from assistant.service import StreamEvent

#: Response headers of every event stream.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

#: The heartbeat comment (a line starting with ``:`` is ignored by SSE clients).
PING = ": ping\n\n"

#: Stable codes of a stream's ``error`` event, by what failed (the message says what to do).
ERROR_CODES = {
    "invalid_question": "the question was refused (empty, too long); HTTP 422 before the stream",
    "queue_full": "too many questions wait for the model (setting max_queue); retry after retry_after s",
    "model_timeout": "the model server did not answer within backend_read_timeout_s",
    "model_unavailable": "the model cannot be loaded, or its server cannot be reached or is busy",
    "model_error": "the model server answered with an error",
    "index_unavailable": "the index is damaged or the disk is full",
    "internal_error": "anything else; the details are in the server log only",
}


def error_code(exc: BaseException, status: int) -> str:
    """The :data:`ERROR_CODES` key of a failure, from its exception and HTTP status."""
    from assistant.generation_queue import QueueFullError
    from assistant.service import QuestionError
    from index.errors import IndexingError

    if isinstance(exc, QuestionError) or status == 422:
        return "invalid_question"
    if isinstance(exc, QueueFullError):
        return "queue_full"
    if isinstance(exc, IndexingError):
        return "index_unavailable"
    return {504: "model_timeout", 503: "model_unavailable", 502: "model_error"}.get(status, "internal_error")


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


async def sse_events(head: list[StreamEvent], stream: Iterator[StreamEvent],
                     render: Callable[[StreamEvent], list[str]], fail: Callable[[BaseException], str],
                     heartbeat_s: float, opening: str = "", stop: threading.Event | None = None,
                     ) -> AsyncIterator[str]:
    """The text of an event stream: ``head`` then ``stream`` rendered, with heartbeats and one terminal event.

    Args:
        head: Events already read (:func:`assistant.api.start_stream`), sent first.
        stream: The rest of the answer stream; it is read in a thread of its own and always closed.
        render: The SSE text of one event (none, one or several pieces); the pieces rendered for the
            ``final`` event must end with the terminal event, and nothing is sent after them.
        fail: The terminal error event for an exception raised by ``stream``.
        heartbeat_s: Seconds without anything sent after which :data:`PING` is sent.
        opening: Text sent before any event (the OpenAI stream's role chunk).
        stop: The event given to :meth:`assistant.service.Assistant.stream`: set when the client goes
            away, it takes the question out of the model's line, or stops the model at its next
            token, without waiting for the stream's next event.

    Yields:
        SSE text pieces.
    """
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()
    stop = stop if stop is not None else threading.Event()
    end = object()

    def post(item: object) -> None:
        try:
            loop.call_soon_threadsafe(inbox.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody reads any more
            pass

    def pump() -> None:
        try:
            for ev in itertools.chain(head, stream):
                if stop.is_set():  # the client went away: close the stream at this (token) event
                    break
                post(ev)
        except BaseException as exc:  # noqa: BLE001 - sent as the terminal error event
            post(_Failed(exc))
        finally:
            stream.close()  # here, in the thread reading it: stops the model and frees its queue
            post(end)

    threading.Thread(target=pump, name="sse-stream", daemon=True).start()
    try:
        if opening:
            yield opening
        sent = loop.time()  # when bytes were last sent: tokens that show nothing do not count
        while True:
            try:
                item = await asyncio.wait_for(inbox.get(), max(0.0, sent + heartbeat_s - loop.time()))
            except TimeoutError:
                yield PING
                sent = loop.time()
                continue
            if isinstance(item, _Failed):
                yield fail(item.exc)
                return
            if item is end:  # a stream without a final event: a bug, still one terminal event
                yield fail(RuntimeError("the answer stream ended without an answer"))
                return
            pieces = render(item)
            for piece in pieces:
                yield piece
            if pieces:
                sent = loop.time()
            if item.kind == "final":
                return
    finally:
        stop.set()
