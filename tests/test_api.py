"""The HTTP API in process (FastAPI's TestClient over httpx), with the fake backends."""

from __future__ import annotations


from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from live_server import parse_sse  # tests/live_server.py

#: The API accepts loopback Host names only by default (assistant.security): not TestClient's "testserver".
LOCAL = "http://127.0.0.1"


def _client(fake_settings) -> TestClient:  # noqa: ANN001
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    return TestClient(create_app(build_assistant(fake_settings, store=store), store.count), base_url=LOCAL)


def test_the_openapi_schema_is_served_and_names_every_endpoint(fake_settings) -> None:
    r = _client(fake_settings).get("/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    assert {"/v1/ask", "/v1/ask/stream", "/v1/health"} <= set(paths)


def test_ask_answers_with_the_answer_kind(fake_settings) -> None:
    r = _client(fake_settings).post("/v1/ask", json={"question": "Who is the junta's investment minister?"})
    assert r.status_code == 200 and "Kan Zaw" in r.json()["answer"] and r.json()["answer_kind"] in ("generative", "extractive")


# -- every error is JSON with a message to act on (issue 12, "Also") ------------------------------------


def _assert_json_error(r, status: int, *words: str) -> dict:  # noqa: ANN001 - an httpx response
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["message"], body
    assert "Traceback" not in r.text and 'File "' not in r.text
    for w in words:
        assert w in body["message"], body["message"]
    return body


def _broken_client(fake_settings, error: Exception) -> TestClient:  # noqa: ANN001
    from assistant.llm import ScriptedChatModel

    def fail(messages):  # noqa: ANN001, ANN202
        raise error

    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    assistant = build_assistant(fake_settings, store=store, llm=ScriptedChatModel(reply_fn=fail))
    return TestClient(create_app(assistant, store.count), raise_server_exceptions=False, base_url=LOCAL)


def test_unknown_endpoint_and_wrong_method_are_json_errors(fake_settings) -> None:
    client = _client(fake_settings)
    _assert_json_error(client.get("/v1/nothing"), 404, "/v1/nothing", "POST /v1/ask")
    _assert_json_error(client.get("/nothing"), 404, "POST /v1/ask")
    body = _assert_json_error(client.get("/v1/ask"), 405, "GET", "POST")
    assert body["error"] == "Method Not Allowed"


def test_unknown_api_paths_stay_json_when_the_ui_is_mounted_at_root(fake_settings) -> None:
    import gradio as gr

    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    app = create_app(build_assistant(fake_settings, store=store), store.count)
    app = gr.mount_gradio_app(app, gr.Blocks(), path="/")
    client = TestClient(app, base_url=LOCAL)
    _assert_json_error(client.get("/v1/nothing"), 404, "/v1/nothing")
    _assert_json_error(client.get("/v1/ask"), 405, "POST")


def test_malformed_bodies_are_json_422_naming_the_field(fake_settings) -> None:
    client = _client(fake_settings)
    _assert_json_error(client.post("/v1/ask", json={}), 422, "question", "Field required")
    _assert_json_error(client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"}),
                       422, "JSON")
    _assert_json_error(client.post("/v1/ask", json={"question": 3}), 422, "question")
    _assert_json_error(client.post("/v1/ask", json={"question": "   "}), 422, "empty")
    _assert_json_error(client.post("/v1/ask/stream", json={"question": "x" * 5000}), 422, "max_question_chars")


def test_a_failure_while_answering_is_a_json_500_without_a_traceback(fake_settings) -> None:
    client = _broken_client(fake_settings, KeyError("no such thing"))
    body = _assert_json_error(client.post("/v1/ask", json={"question": Q}), 500, "KeyError", "server log")
    assert "no such thing" not in body["message"]  # internals stay in the server log


def test_a_stream_that_fails_before_its_first_event_is_a_json_500(fake_settings) -> None:
    client = _broken_client(fake_settings, KeyError("no such thing"))
    _assert_json_error(client.post("/v1/ask/stream", json={"question": Q}), 500, "KeyError")


def test_a_stream_that_fails_midway_ends_with_an_error_event(fake_settings) -> None:
    from assistant.llm import ScriptedChatModel

    class FailsMidway(ScriptedChatModel):
        def _stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            yield from list(super()._stream(*args, **kwargs))[:2]
            raise KeyError("no such thing")

    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    app = create_app(build_assistant(fake_settings, store=store, llm=FailsMidway()), store.count)
    r = TestClient(app, raise_server_exceptions=False, base_url=LOCAL).post("/v1/ask/stream", json={"question": Q})
    assert r.status_code == 200
    kind, data = parse_sse(r.text)[-1]
    assert kind == "error" and data["status"] == 500 and "KeyError" in data["message"] and "Traceback" not in r.text


Q = "Who is the junta's investment minister?"




# -- error messages found by a new-user trial (issue 9) ------------------------------------------------


def _client_with_documents(fake_settings):  # noqa: ANN001, ANN202
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    app = create_app(build_assistant(fake_settings, store=store), store.count, store=store)
    return app, TestClient(app, base_url=LOCAL)


def test_a_malformed_body_shows_an_example_of_the_endpoint_that_was_called(fake_settings) -> None:
    _, client = _client_with_documents(fake_settings)
    body = _assert_json_error(client.post("/v1/documents", json={"source": "a.txt"}), 422, "text", '"source"')
    assert '"question"' not in body["message"], body["message"]
    _assert_json_error(client.post("/v1/ask", json={}), 422, '"question"')
    _assert_json_error(client.post("/v1/ask/stream", json={"history": []}), 422, '"question"')
    body = _assert_json_error(client.post("/v1/chat/completions", json={}), 422, '"messages"')
    assert '"question"' not in body["message"]


def test_the_404_message_lists_every_endpoint_including_documents(fake_settings) -> None:
    from fastapi.routing import APIRoute

    app, client = _client_with_documents(fake_settings)
    message = _assert_json_error(client.get("/v1/nothing"), 404, "/v1/nothing")["message"]
    for wanted in ("GET /v1/documents", "POST /v1/documents", "DELETE /v1/documents/{source}", "GET /v1/health",
                   "POST /v1/ask/stream", "POST /v1/chat/completions", "GET /v1/models"):
        assert wanted in message, message
    schema_paths = {r.path for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema}
    assert all(p in message for p in schema_paths), (schema_paths, message)


def test_a_wrong_method_on_any_endpoint_is_a_405_naming_the_allowed_ones(fake_settings) -> None:
    _, client = _client_with_documents(fake_settings)
    for method, path, allowed in (("GET", "/v1/chat/completions", "POST"), ("POST", "/v1/models", "GET"),
                                  ("PUT", "/v1/documents", "GET, POST"), ("GET", "/v1/ask/stream", "POST")):
        r = client.request(method, path, json={})
        _assert_json_error(r, 405, method, allowed)
        assert r.headers["allow"] == allowed, (path, r.headers.get("allow"))
