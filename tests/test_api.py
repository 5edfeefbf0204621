"""The HTTP API in process (FastAPI's TestClient over httpx), with the fake backends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed


def _client(fake_settings) -> TestClient:  # noqa: ANN001
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    return TestClient(create_app(build_assistant(fake_settings, store=store), store.count))


def test_the_openapi_schema_is_served_and_names_every_endpoint(fake_settings) -> None:
    r = _client(fake_settings).get("/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    assert {"/v1/ask", "/v1/ask/stream", "/v1/health"} <= set(paths)


def test_ask_answers_with_the_answer_kind(fake_settings) -> None:
    r = _client(fake_settings).post("/v1/ask", json={"question": "Who is the junta's investment minister?"})
    assert r.status_code == 200 and "Kan Zaw" in r.json()["answer"] and r.json()["answer_kind"] in ("generative", "extractive")
