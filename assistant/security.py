"""Who may call the HTTP API, from where, and how much: keys, rate limit, CORS, Host check, body rules.

Off by default only on loopback: :func:`check_bind` refuses a non-loopback bind address without an
API key. :func:`secure` wraps the app in, outermost first:

1. the ``Host`` check (Starlette's ``TrustedHostMiddleware``; its refusal becomes a JSON 400), so that
   a DNS-rebinding page (``evil.example`` resolving to 127.0.0.1) cannot drive a local instance;
2. CORS (Starlette's ``CORSMiddleware``; a refused preflight is a JSON 400) for the configured origins only: no wildcard, never a
   reflected origin; without ``cors_origins`` no CORS header is sent and browsers refuse cross-origin calls;
3. :class:`ApiGuard` on ``/v1`` (but ``/v1/health``): bearer key (401), per-key rate limit (429 with
   ``Retry-After``), ``Content-Type: application/json`` on POST/PUT/PATCH (415: a cross-site form or
   ``text/plain`` post never reaches the model) and the body-size limit (413).

Every refusal is the API's JSON error body (:meth:`assistant.api.ApiError.response`).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api import ApiError, route_path
from assistant.settings import Settings

#: Host names every instance answers to (the loopback names; IPv6 in brackets, as in a Host header).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: Paths under the API prefix that need no key (a load balancer's probe).
OPEN_PATHS = frozenset({"/v1/health"})
#: Rate-limit window, seconds.
WINDOW_S = 60.0


class InsecureBindError(ValueError):
    """The server would listen beyond loopback without an API key; the message says what to set."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse to serve on a non-loopback address without an API key.

    Raises:
        InsecureBindError: ``host`` is not loopback and ``api_keys`` is empty.
    """
    if not settings.api_keys and not is_loopback(settings.host):
        raise InsecureBindError(
            f"refusing to listen on {settings.host} without an API key: anyone who can reach it could use the "
            "assistant. Set ASSISTANT_API_KEYS (comma-separated keys of 16+ characters, e.g. from "
            "python -c \"import secrets; print(secrets.token_urlsafe(32))\") or bind to 127.0.0.1 (--host 127.0.0.1).")


def trusted_hosts(settings: Settings) -> list[str]:
    """Host names accepted in the ``Host`` header: loopback names, the bind host, ``allowed_hosts``."""
    names = list(LOOPBACK_HOSTS)
    host = settings.host.lower()
    try:
        bind = ipaddress.ip_address(host.strip("[]"))
        if not bind.is_unspecified:  # 0.0.0.0 / :: is no name a client uses
            names.append(f"[{bind}]" if bind.version == 6 else str(bind))
    except ValueError:
        names.append(host)
    names += settings.allowed_hosts
    return list(dict.fromkeys(names))


class RateLimiter:
    """Sliding-window request counter per key: at most ``limit`` requests in any ``window_s`` seconds.

    Args:
        limit: Requests allowed per window (0: unlimited).
        window_s: Window length, seconds.
        clock: Monotonic clock, seconds (injectable for tests).
    """

    def __init__(self, limit: int, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Count one request for ``key``.

        Returns:
            None when allowed; else the whole seconds until the oldest request in the window leaves it
            (the ``Retry-After``), at least 1.
        """
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window_s - now))
            hits.append(now)
            return None


class JsonTrustedHost:
    """Starlette's ``TrustedHostMiddleware`` deciding, with its plain-text 400 replaced by the JSON one."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]):
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await TrustedHostMiddleware(self.app, self.allowed_hosts, www_redirect=False)(scope, receive, send)
            return
        passed = False

        async def through(s: Scope, r: Receive, se: Send) -> None:
            nonlocal passed
            passed = True
            await self.app(s, r, se)

        async def only_if_passed(message: Message) -> None:
            if passed:
                await send(message)

        await TrustedHostMiddleware(through, self.allowed_hosts, www_redirect=False)(scope, receive, only_if_passed)
        if not passed:
            host = Headers(scope=scope).get("host", "")
            err = ApiError(400, f"Host {host!r} is not served here. Use one of: {', '.join(self.allowed_hosts)}; "
                                "to serve another name, add it to allowed_hosts (ASSISTANT_ALLOWED_HOSTS).")
            await err.response(route_path(scope))(scope, receive, send)


class JsonCORS(CORSMiddleware):
    """Starlette's ``CORSMiddleware``, with a refused preflight (400) as the API's JSON error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode()  # "Disallowed CORS origin, method"
        err = ApiError(400, f"{refused}: this origin, method or header may not call the API from a browser. "
                            "Allowed origins are set by cors_origins (ASSISTANT_CORS_ORIGINS).")
        json_response = err.response()
        for name in ("access-control-allow-methods", "access-control-max-age", "vary"):
            if name in response.headers:
                json_response.headers[name] = response.headers[name]
        return json_response


class ApiGuard:
    """Key, rate limit, content type and body size for ``/v1`` requests (ASGI middleware).

    The body is read (at most ``max_body_bytes``) before the endpoint runs and replayed to it.
    """

    def __init__(self, app: ASGIApp, settings: Settings, limiter: RateLimiter | None = None):
        self.app, self.settings = app, settings
        self.keys = [k.encode() for k in settings.api_keys]
        self.limiter = limiter or RateLimiter(settings.rate_limit_per_minute)

    def _key(self, headers: Headers) -> bytes | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token_b = token.strip().encode()
        if scheme.lower() != "bearer" or not token_b:
            return None
        # compare with every key, in constant time, so timing tells nothing about a near miss
        matched = [hmac.compare_digest(token_b, k) for k in self.keys]
        return token_b if any(matched) else None

    def _refusal(self, scope: Scope, headers: Headers) -> ApiError | None:
        if self.keys:
            key = self._key(headers)
            if key is None:
                given = "authorization" in headers
                return ApiError(401, ("The API key is not valid. " if given else "An API key is required. ")
                                + "Send it as the header 'Authorization: Bearer <key>' (a key from api_keys).",
                                {"WWW-Authenticate": "Bearer"})
            retry_after = self.limiter.acquire(hmac.new(b"rate", key, "sha256").hexdigest())
            if retry_after is not None:
                return ApiError(429, f"Too many requests for this API key (rate_limit_per_minute "
                                     f"{self.settings.rate_limit_per_minute}). Try again in {retry_after} s.",
                                {"Retry-After": str(retry_after)}, retry_after=retry_after)
        if scope["method"] in ("POST", "PUT", "PATCH"):
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return ApiError(415, f"The body must be JSON sent with 'Content-Type: application/json' "
                                     f"(got {media or 'no content type'!r}).")
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self._limit(scope)[0]):
                return self._too_large(scope)
        return None

    def _limit(self, scope: Scope) -> tuple[int, str]:
        """``(bytes, setting name)``: the body limit of the request's path."""
        if route_path(scope).startswith("/v1/documents"):
            return self.settings.max_document_bytes, "max_document_bytes"
        return self.settings.max_body_bytes, "max_body_bytes"

    def _too_large(self, scope: Scope) -> ApiError:
        limit, name = self._limit(scope)
        return ApiError(413, f"The request body is larger than {limit:,} bytes (setting {name}). "
                             "Send a shorter question, history or document.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope)  # without the root_path prefix (setting root_path)
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")) or path in OPEN_PATHS \
                or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        err = self._refusal(scope, headers)
        if err is None and scope["method"] in ("POST", "PUT", "PATCH"):
            body, more = b"", True
            while more:  # a chunked body has no content-length: count what arrives
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > self._limit(scope)[0]:
                    err = self._too_large(scope)
                    break
            if err is None:
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()  # then http.disconnect, when the client goes away

                await self.app(scope, replay, send)
                return
        if err is not None:
            await err.response(path)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def secure(app: ASGIApp, settings: Settings) -> None:
    """Add the Host check, CORS and :class:`ApiGuard` to a Starlette/FastAPI ``app`` (in place)."""
    app.add_middleware(ApiGuard, settings=settings)
    if settings.cors_origins:
        app.add_middleware(JsonCORS, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                           expose_headers=["Retry-After"], max_age=600)
    app.add_middleware(JsonTrustedHost, allowed_hosts=trusted_hosts(settings))
