"""End-to-end test of the embeddable chat: portal pages on other loopback origins embed it.

``assistant serve`` runs as the README says (default extractive configuration, a temporary data dir,
an API key and ``embed_origins`` naming one portal origin). Two plain static servers on other ports
of 127.0.0.1 serve the same portal pages: one origin is in the allow-list, the other is not. The
browser steps are in ``tests/e2e/embed.spec.mjs``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from test_ui_browser import browser_prerequisites, pytestmark, run_spec, ui_server  # noqa: F401 - tests/test_ui_browser.py

#: The key the portal pages give the chat (``data-api-key`` and ``#key=``).
KEY = "embed-test-key-0123456789"

#: Rules a careless portal might have: were they to reach the widget, it would be red on green,
#: in Courier, hidden or 10 px wide.
HOSTILE_CSS = """
* { font-family: "Courier New", monospace !important; color: rgb(255, 0, 0) !important;
    background: rgb(0, 255, 0) !important; }
button, .launcher { display: none !important; }
iframe, .panel { width: 10px !important; height: 10px !important; }
grounded-assistant-chat { display: none !important; }
"""

#: Host elements named like the widget's own parts, whose look the widget must not change.
HOST_BODY = """<h1>Portal</h1>
<p>Intranet text with a <mark class="quote">mark</mark>, a <a class="cite" href="#x">[1]</a> link,
<button class="launcher" type="button">Portal button</button> and a <div class="panel">panel</div>.</p>
"""


def page(title: str, head: str = "", body: str = "") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>{title}</title>{head}</head>"
            f"<body>{HOST_BODY}{body}</body></html>")


def portal_pages(assistant: str) -> dict[str, str]:
    """The portal's pages: the widget by script tag (with and without hostile CSS), by iframe, none."""
    script = f'<script src="{assistant}embed.js" data-api-key="{KEY}" async></script>'
    frame = (f'<iframe id="chat-frame" src="{assistant}embed#key={KEY}" title="Ask the documents" '
             'style="width:760px;height:560px;border:1px solid #ccc"></iframe>')
    return {
        "plain.html": page("Portal without the chat"),
        "script.html": page("Portal with the launcher", body=script),
        "hostile.html": page("Portal with hostile CSS", f"<style>{HOSTILE_CSS}</style>", script),
        "iframe.html": page("Portal with the iframe", body=frame),
        "iframe-nokey.html": page("Portal with the iframe, no key",
                                  body=frame.replace(f"#key={KEY}", "").replace("chat-frame", "nokey-frame")),
    }


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free port of 127.0.0.1 (a portal on its own origin); yields its URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002 - no request log in the test output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_chat_embedded_in_a_page_of_another_origin(tmp_path):
    site = tmp_path / "portal"
    site.mkdir()
    with static_server(site) as allowed, static_server(site) as refused:
        env = {"ASSISTANT_EMBED_ORIGINS": allowed.rstrip("/"), "ASSISTANT_API_KEYS": KEY}
        with ui_server(tmp_path / "data", answer_mode="extractive", command="serve", env=env) as url:
            for name, html in portal_pages(url).items():
                (site / name).write_text(html, encoding="utf-8")
            run_spec("embed.spec.mjs", url, answer_timeout_s=120, PORTAL_URL=allowed, REFUSED_PORTAL_URL=refused)
