"""The embeddable chat: a page to put in an ``<iframe>`` and a script tag that opens it from a button.

Routes (static files from ``assistant/data/embed/``, no framework, nothing fetched from elsewhere):

- ``GET /embed``: the chat page (``embed.html`` with ``embed/chat.js`` and ``embed/chat.css``). It
  asks ``POST /v1/ask/stream`` on its own origin, so no CORS is involved, and renders answers,
  citation markers, the sources panel and abstentions as the Gradio chat does (:mod:`ui.render`).
  An API key, when ``api_keys`` are set, comes in the URL fragment (``/embed#key=...``), which
  browsers never send to a server.
- ``GET /embed.js``: the launcher for any portal page: ``<script src=".../embed.js" async>`` adds a
  button in a shadow root that opens the page above in an iframe (``data-api-key``,
  ``data-label`` attributes).

Framing: the chat page's response carries ``Content-Security-Policy: frame-ancestors 'self'
<embed_origins>``; every other response of the app (API, Gradio UI) carries ``frame-ancestors
'self'`` and ``X-Frame-Options: SAMEORIGIN`` (:class:`FramePolicy`), so no other site can frame it
(clickjacking). The chat page's policy also limits its scripts, styles and requests to its own origin.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.settings import Settings

#: Files served, by URL path: (file in ``assistant/data/embed``, media type).
FILES = {
    "/embed": ("embed.html", "text/html; charset=utf-8"),
    "/embed/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/embed/chat.css": ("chat.css", "text/css; charset=utf-8"),
    "/embed.js": ("launcher.js", "text/javascript; charset=utf-8"),
}
#: Policy of every response but the chat page: only the assistant's own pages may frame it.
SAME_ORIGIN_FRAMES = "frame-ancestors 'self'"


@cache
def asset(name: str) -> bytes:
    """The bytes of ``assistant/data/embed/<name>`` (read once)."""
    return (Path(__file__).parent / "data" / "embed" / name).read_bytes()


def page_policy(settings: Settings) -> str:
    """The chat page's ``Content-Security-Policy``: its own scripts, styles and API only; framed by
    the assistant's origin and ``settings.embed_origins``."""
    ancestors = " ".join(["'self'", *settings.embed_origins])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}")


def embed_router(settings: Settings) -> APIRouter:
    """The routes of :data:`FILES` (not in the OpenAPI schema)."""
    router = APIRouter(include_in_schema=False)
    policy = page_policy(settings)

    def route(path: str, name: str, media_type: str) -> None:
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
        if path == "/embed":
            headers |= {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer"}

        @router.api_route(path, methods=["GET", "HEAD"])  # HEAD: link checkers and uptime monitors
        def serve_file() -> Response:
            return Response(asset(name), media_type=media_type, headers=headers)

    for path, (name, media_type) in FILES.items():
        route(path, name, media_type)
    return router


class FramePolicy:
    """ASGI middleware: ``frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN`` on every HTTP
    response that sets no ``Content-Security-Policy`` of its own (the chat page sets its own)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers.append("Content-Security-Policy", SAME_ORIGIN_FRAMES)
                    headers.append("X-Frame-Options", "SAMEORIGIN")
            await send(message)

        await self.app(scope, receive, send_with_policy)
