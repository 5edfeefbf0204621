"""The embeddable chat's routes and frame policy (issue 9, "Embeddable chat"), over real HTTP.

The browser test (portal pages of other origins, hostile CSS, a refused origin) is
tests/test_embed_browser.py; here: what the server sends, the setting, and that the page's texts are
the Gradio chat's.
"""

from __future__ import annotations

import re

import httpx
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.models import ABSTENTION_TEXT, DECLINE_INSTRUCTION_TEXT, Answer
from assistant.settings import SettingsError, load_settings
from live_server import live_server  # tests/live_server.py
from ui import render
from ui.chat import SEARCHING

PORTAL = "https://portal.example.com"


@pytest.fixture
def served(fake_settings):
    """``served(with_ui=False, **settings)`` context: the app on a loopback port; yields its URL."""
    import contextlib

    @contextlib.contextmanager
    def _served(with_ui: bool = False, **updates):
        settings = fake_settings.model_copy(update=updates)
        store = build_store(settings)
        ensure_indexed(settings, store)
        assistant = build_assistant(settings, store=store)
        app = create_app(assistant, store.count)
        if with_ui:
            import gradio as gr

            from ui.app import build_ui

            app = gr.mount_gradio_app(app, build_ui(assistant), path="/")
        with live_server(app) as url:
            yield url

    return _served


def _ancestors(r: httpx.Response) -> str:
    policy = r.headers.get("content-security-policy", "")
    m = re.search(r"frame-ancestors ([^;]+)", policy)
    assert m, f"no frame-ancestors in {policy!r} ({r.request.url})"
    return m.group(1).strip()


def test_the_chat_page_may_be_framed_by_the_embed_origins_only(served):
    with served(embed_origins=[PORTAL, "http://127.0.0.1:9000"]) as url:
        r = httpx.get(f"{url}/embed")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert _ancestors(r) == f"'self' {PORTAL} http://127.0.0.1:9000"
        assert "x-frame-options" not in r.headers  # it would forbid what frame-ancestors allows
        policy = r.headers["content-security-policy"]
        for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'"):
            assert directive in policy  # nothing is fetched from another origin
        assert '<script src="embed/chat.js">' in r.text and 'href="embed/chat.css"' in r.text
    with served() as url:  # no embed_origins: only the assistant's own pages may frame it
        assert _ancestors(httpx.get(f"{url}/embed")) == "'self'"


def test_the_launcher_script_and_page_assets_are_served(served):
    with served() as url:
        for path, media in [("/embed.js", "text/javascript"), ("/embed/chat.js", "text/javascript"),
                            ("/embed/chat.css", "text/css")]:
            r = httpx.get(url + path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith(media) and r.headers["x-content-type-options"] == "nosniff"
        for path in ("/embed", "/embed.js"):  # link checkers and uptime monitors send HEAD
            head = httpx.head(url + path)
            assert head.status_code == 200 and head.content == b"", path


def test_every_other_response_may_be_framed_by_the_assistant_s_own_pages_only(served):
    with served(with_ui=True, embed_origins=[PORTAL]) as url:
        with httpx.Client(base_url=url, timeout=120) as client:  # the first answer loads the parser
            responses = [client.get("/v1/health"), client.get("/v1/nothing"), client.get("/"),
                         client.post("/v1/ask", json={"question": "Who is the junta's investment minister?"}),
                         client.get("/embed.js")]
        assert [r.status_code for r in responses] == [200, 404, 200, 200, 200]
        assert "gradio" in responses[2].text.lower()  # the chat UI itself
        for r in responses:
            assert _ancestors(r) == "'self'", r.request.url
            assert r.headers["x-frame-options"] == "SAMEORIGIN", r.request.url


def test_embed_origins_setting(monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBED_ORIGINS", "https://Portal.example.com/, http://127.0.0.1:8080")
    assert load_settings().embed_origins == [PORTAL, "http://127.0.0.1:8080"]
    monkeypatch.delenv("ASSISTANT_EMBED_ORIGINS")
    for bad, words in [("*", "wildcard"), ("https://*.example.com", "wildcard"),
                       ("portal.example.com", "not an origin"), ("https://portal.example.com/chat", "not an origin")]:
        with pytest.raises(SettingsError, match="embed_origins") as err:
            load_settings(embed_origins=[bad])
        assert words in str(err.value)


def _script() -> str:
    from assistant.embed import asset  # here: a module that does not exist yet fails its tests one by one

    return asset("chat.js").decode()


def _js_const(name: str) -> str:
    m = re.search(rf"const {name} = '([^']*)';", _script())
    assert m, name
    return m.group(1)


def test_the_embedded_chat_says_what_the_gradio_chat_says():
    """The page renders in JavaScript; its texts must stay those of ui/render.py."""
    script = _script()
    for kind, label in render.KIND_LABELS.items():
        assert f"{kind}: '{label}'" in script
    base = {"question": "q", "standalone_question": "q", "abstained": True}
    off_topic = Answer(**base, answer=ABSTENTION_TEXT, abstention_reason="no passage is relevant to the question")
    unsupported = Answer(**base, answer=ABSTENTION_TEXT, abstention_reason="no sentence gives the kind of answer")
    declined = Answer(**base, answer=DECLINE_INSTRUCTION_TEXT, answer_kind="declined")
    assert f"<strong>{_js_const('NOT_IN_DOCUMENTS')}</strong>" in render.abstention_message(off_topic)
    assert _js_const("NO_RELEVANT_PASSAGE") in render.abstention_message(off_topic)
    assert _js_const("NOT_SUPPORTED") in render.abstention_message(unsupported)
    assert f"<strong>{_js_const('DECLINED')}</strong>" in render.abstention_message(declined)
    assert f"<strong>{_js_const('FAILED')}</strong>" in render.error_message("x")
    assert _js_const("SEARCHING") == SEARCHING
