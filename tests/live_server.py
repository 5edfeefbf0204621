"""Serve an ASGI app with uvicorn on a free loopback port for a test (real HTTP, real sockets)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn


@contextlib.contextmanager
def live_server(app, **config) -> Iterator[str]:  # noqa: ANN001, ANN003 - any ASGI app
    """Yield ``http://127.0.0.1:PORT`` while ``app`` is served there; stop the server afterwards.

    ``config``: more ``uvicorn.Config`` arguments (``root_path``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """``(event, data)`` pairs of a Server-Sent Events body whose data lines are JSON (comments skipped)."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if not fields:  # a comment (": ping" heartbeat)
            continue
        out.append((fields["event"], json.loads(fields["data"])))
    return out
