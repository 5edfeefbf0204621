"""The HTTP surfaces of issue 9 against the app started the way the README says.

``assistant index`` then ``assistant serve`` as subprocesses (default embedding model and answer
mode, API keys set), driven over real HTTP: the official ``openai`` client (streaming and not), the
document endpoints, and the key, content-type and Host checks. The in-process tests of each surface
(test_openai_api.py, test_documents_api.py, test_security.py) cover the details; this one shows the
served product behaves the same.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "served-app-test-key-0123456789"
RATE_KEY = "served-app-rate-key-0123456789"  # used only by the rate-limit test (limits are per key)
PORTAL = "http://portal.test:8080"
RATE = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("served") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONUNBUFFERED="1", ASSISTANT_API_KEYS=f"{KEY},{RATE_KEY}", ASSISTANT_DATA_DIR=str(data),
               ASSISTANT_RATE_LIMIT_PER_MINUTE=str(RATE), ASSISTANT_CORS_ORIGINS=PORTAL,
               ASSISTANT_MAX_BODY_BYTES="4096")
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run([*cli, "index"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, "assistant serve exited"
            assert time.monotonic() < deadline, "assistant serve did not answer /v1/health"
            try:
                if httpx.get(f"{url}/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def _bundled_text() -> str:
    from assistant.settings import bundled_corpus

    return bundled_corpus().read_text(encoding="utf-8")


def test_the_openai_client_gets_cited_answers_streaming_and_not(served: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{served}/v1", api_key=KEY)
    messages = [{"role": "user", "content": "Who is the junta's investment minister?"}]
    r = client.chat.completions.create(model="grounded-assistant", messages=messages)
    content = r.choices[0].message.content
    citations = r.model_extra["citations"]
    assert "Kan Zaw" in content and "[1]" in content
    assert {c["source"] for c in citations} == {"myanmar-russia-visit.txt"}
    text = _bundled_text()
    assert all(text[c["start"]:c["end"]] == c["quote"] for c in citations)

    chunks = list(client.chat.completions.create(model="grounded-assistant", messages=messages, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip() == content.strip()
    assert chunks[-1].model_extra["citations"] == citations


def test_documents_added_over_http_are_answered_from_then_removed(served: str) -> None:
    doc = {"source": "handbook/leave.txt", "text": "Staff at Quux Ltd get 25 days of paid leave a year."}
    with httpx.Client(base_url=served, headers=_auth(), timeout=120) as http:
        added = http.post("/v1/documents", json=doc)
        assert added.status_code == 200, added.text
        assert added.json()["source"] == "handbook/leave.txt" and added.json()["chunks"] == 1
        listed = {d["source"] for d in http.get("/v1/documents").json()["documents"]}
        assert "handbook/leave.txt" in listed

        answer = http.post("/v1/ask", json={"question": "How many days of paid leave do Quux staff get?"}).json()
        assert "25 days" in answer["answer"]
        assert answer["citations"][0]["source"] == "handbook/leave.txt"

        assert http.delete("/v1/documents/handbook/leave.txt").json()["deleted_chunks"] == 1
        listed = {d["source"] for d in http.get("/v1/documents").json()["documents"]}
        assert "handbook/leave.txt" not in listed
        again = http.post("/v1/ask", json={"question": "How many days of paid leave do Quux staff get?"}).json()
        assert all(c["source"] != "handbook/leave.txt" for c in again["citations"])


def test_keys_content_type_and_host_are_checked(served: str) -> None:
    question = {"question": "Who is the junta's investment minister?"}
    with httpx.Client(base_url=served, timeout=60) as http:
        assert http.get("/v1/health").status_code == 200  # health needs no key
        missing = http.post("/v1/ask", json=question)
        assert missing.status_code == 401 and missing.json()["status"] == 401
        wrong = http.post("/v1/ask", json=question, headers={"Authorization": "Bearer not-the-key-0123456789"})
        assert wrong.status_code == 401
        form = http.post("/v1/ask", content="question=hi", headers={**_auth(), "Content-Type": "text/plain"})
        assert form.status_code == 415 and "application/json" in form.json()["message"]
        rebinding = http.post("/v1/ask", json=question, headers={**_auth(), "Host": "attacker.example"})
        assert rebinding.status_code == 400 and rebinding.json()["status"] == 400
        ok = http.post("/v1/ask", json=question, headers=_auth())
        assert ok.status_code == 200 and ok.json()["citations"]


def test_cors_rate_limit_and_body_limit(served: str) -> None:
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"}
    with httpx.Client(base_url=served, timeout=60) as http:
        ok = http.options("/v1/ask", headers={"Origin": PORTAL, **pre})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == PORTAL
        evil = http.options("/v1/ask", headers={"Origin": "https://evil.example", **pre})
        assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers

        big = b'{"question": "' + b"a" * 5000 + b'"}'
        too_big = http.post("/v1/ask", content=big, headers={**_auth(), "Content-Type": "application/json"})
        assert too_big.status_code == 413 and "max_body_bytes" in too_big.json()["message"]

        rate = {"Authorization": f"Bearer {RATE_KEY}"}
        codes = [http.get("/v1/models", headers=rate).status_code for _ in range(RATE)]
        assert codes == [200] * RATE
        over = http.get("/v1/models", headers=rate)
        assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
        assert http.get("/v1/models", headers=_auth()).status_code == 200  # the other key is not limited
