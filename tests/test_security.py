"""Security of the HTTP API (issue 9): keys, rate limit, CORS, Host check, JSON-only POSTs, body size.

Served for real with uvicorn on loopback and called with httpx, with the fake backends; a counting
model shows that a refused request never reaches it.
"""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from assistant.api import create_app
from assistant.cli import app as cli
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import ScriptedChatModel, extractive_reply
from assistant.security import RateLimiter
from assistant.settings import SettingsError, load_settings
from live_server import live_server  # tests/live_server.py

KEY = "k" * 20
OTHER_KEY = "o" * 24
Q = {"question": "Who is the junta's investment minister?"}


class CountingModel:
    """reply_fn that counts the model calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, messages) -> str:  # noqa: ANN001
        self.calls += 1
        return extractive_reply(messages)


@pytest.fixture
def serve(fake_settings):
    """``serve(**settings) -> (url, model)`` context: the API with those settings on a loopback port."""
    import contextlib

    @contextlib.contextmanager
    def _serve(**updates):
        settings = fake_settings.model_copy(update=updates)
        store = build_store(settings)
        ensure_indexed(settings, store)
        model = CountingModel()
        assistant = build_assistant(settings, store=store, llm=ScriptedChatModel(reply_fn=model))
        with live_server(create_app(assistant, store.count)) as url:
            yield url, model

    return _serve


def _json_error(r: httpx.Response, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["message"]
    for w in words:
        assert w in body["message"], body["message"]
    return body


def test_serve_on_a_non_loopback_address_without_a_key_refuses_to_start(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("serve", "ui"):
        r = CliRunner().invoke(cli, [command, "--host", "0.0.0.0", "--llm", "fake", "--embedding", "fake",
                                     "--data-dir", "data", "--port", "1"], env={})
        assert r.exit_code == 1, r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "0.0.0.0" in lines[0] and "ASSISTANT_API_KEYS" in lines[0], r.stderr
        assert not (tmp_path / "data" / "chroma").exists()  # refused before anything was loaded or indexed


def test_keys_are_required_on_every_v1_endpoint_but_health(serve) -> None:
    with serve(api_keys=[KEY, OTHER_KEY]) as (url, model):
        _json_error(httpx.post(url + "/v1/ask", json=Q), 401, "Authorization: Bearer")
        r = httpx.post(url + "/v1/ask/stream", json=Q, headers={"Authorization": "Bearer " + "x" * 20})
        _json_error(r, 401, "not valid")
        assert r.headers["WWW-Authenticate"] == "Bearer"
        _json_error(httpx.get(url + "/v1/nothing"), 401)
        assert model.calls == 0
        assert httpx.get(url + "/v1/health").status_code == 200
        for key in (KEY, OTHER_KEY):
            r = httpx.post(url + "/v1/ask", json=Q, headers={"Authorization": f"Bearer {key}"}, timeout=30)
            assert r.status_code == 200 and "Kan Zaw" in r.json()["answer"], r.text


def test_keys_from_the_environment_as_json_or_comma_separated_and_never_echoed(monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_API_KEYS", f"{KEY}, {OTHER_KEY}")
    assert load_settings().api_keys == [KEY, OTHER_KEY]
    monkeypatch.setenv("ASSISTANT_API_KEYS", f'["{KEY}"]')
    assert load_settings().api_keys == [KEY]
    monkeypatch.setenv("ASSISTANT_API_KEYS", "secret-short")
    with pytest.raises(SettingsError, match="16") as exc:
        load_settings()
    assert "secret-short" not in str(exc.value)


def test_each_key_has_its_own_rate_limit_with_a_json_429_and_retry_after(serve) -> None:
    with serve(api_keys=[KEY, OTHER_KEY], rate_limit_per_minute=2) as (url, model):
        auth = {"Authorization": f"Bearer {KEY}"}
        for _ in range(2):
            assert httpx.post(url + "/v1/ask", json=Q, headers=auth, timeout=30).status_code == 200
        calls = model.calls
        r = httpx.post(url + "/v1/ask", json=Q, headers=auth)
        body = _json_error(r, 429, "rate_limit_per_minute", "Try again in")
        assert 1 <= int(r.headers["Retry-After"]) <= 60 and body["retry_after"] == int(r.headers["Retry-After"])
        assert model.calls == calls  # refused before the model
        other = httpx.post(url + "/v1/ask", json=Q, headers={"Authorization": f"Bearer {OTHER_KEY}"}, timeout=30)
        assert other.status_code == 200  # another key has its own window


def test_the_rate_window_slides() -> None:
    now = [100.0]
    limiter = RateLimiter(2, window_s=60, clock=lambda: now[0])
    assert limiter.acquire("a") is None
    now[0] = 130.0
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 30  # the first request leaves the window at 160
    now[0] = 160.0
    assert limiter.acquire("a") is None and limiter.acquire("a") == 30


def test_cors_answers_only_configured_origins_and_never_a_wildcard(serve) -> None:
    portal = "https://portal.example.com"
    with serve(cors_origins=[portal]) as (url, _):
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = httpx.options(url + "/v1/ask", headers={"Origin": portal, **pre})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == portal
        bad = httpx.options(url + "/v1/ask", headers={"Origin": "https://evil.example", **pre})
        _json_error(bad, 400, "Disallowed CORS origin", "cors_origins")
        assert "access-control-allow-origin" not in bad.headers
        r = httpx.post(url + "/v1/ask", json=Q, headers={"Origin": "https://evil.example"}, timeout=30)
        assert "access-control-allow-origin" not in r.headers  # not reflected
    with serve() as (url, _):  # no origins configured: no CORS header for anyone
        r = httpx.get(url + "/v1/health", headers={"Origin": portal})
        assert "access-control-allow-origin" not in r.headers
    for bad_origin in ("*", "https://*.example.com", "https://portal.example.com/path"):
        with pytest.raises(SettingsError, match="cors_origins"):
            load_settings(cors_origins=[bad_origin])


def test_a_foreign_host_header_is_refused_with_json_400(serve) -> None:
    with serve(allowed_hosts=["assistant.example.com"]) as (url, model):
        r = httpx.post(url + "/v1/ask", json=Q, headers={"Host": "rebind.attacker.example"})
        _json_error(r, 400, "rebind.attacker.example", "allowed_hosts")
        _json_error(httpx.get(url + "/", headers={"Host": "rebind.attacker.example"}), 400)
        assert model.calls == 0
        port = url.rsplit(":", 1)[1]
        for host in ("localhost", "127.0.0.1", "assistant.example.com"):
            assert httpx.get(url + "/v1/health", headers={"Host": f"{host}:{port}"}).status_code == 200
    with pytest.raises(SettingsError, match="allowed_hosts"):
        load_settings(allowed_hosts="*")


def test_posts_that_are_not_json_never_reach_the_model(serve) -> None:
    looks_like_json = b'{"question": "Who is the junta\'s investment minister?"}'
    with serve() as (url, model):
        for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
            for path in ("/v1/ask", "/v1/ask/stream"):
                r = httpx.post(url + path, content=looks_like_json, headers={"Content-Type": content_type})
                _json_error(r, 415, "application/json")
        _json_error(httpx.post(url + "/v1/ask", data={"question": "Who is the minister?"}), 415)
        assert model.calls == 0
        r = httpx.post(url + "/v1/ask", content=looks_like_json,
                       headers={"Content-Type": "application/json; charset=utf-8"}, timeout=30)
        assert r.status_code == 200 and model.calls == 1


def test_bodies_over_the_limit_are_413_with_or_without_a_length(serve) -> None:
    big = b'{"question": "' + b"a" * 5000 + b'"}'
    with serve(max_body_bytes=4096) as (url, model):
        h = {"Content-Type": "application/json"}
        _json_error(httpx.post(url + "/v1/ask", content=big, headers=h), 413, "max_body_bytes")
        chunked = httpx.post(url + "/v1/ask", content=iter([big[:3000], big[3000:]]), headers=h)
        _json_error(chunked, 413, "max_body_bytes")
        assert model.calls == 0
        small = httpx.post(url + "/v1/ask", content=iter([b'{"question": ', b'"Who is the minister?"}']), headers=h,
                           timeout=30)
        assert small.status_code == 200, small.text
