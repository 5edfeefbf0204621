"""``llm_backend=openai`` against a real OpenAI-compatible server: llama-cpp-python's own
``python -m llama_cpp.server``, serving the GGUF the default backend loads, with the same context,
seed, threads, batch and RoPE settings, on a loopback port. The app is served over real HTTP
(tests/live_server.py) with ``answer_mode=generative``, so an answer exists only when the model's own
sentences pass the verifier. No ``OPENAI_API_KEY`` is set: a local server needs none.

Two dev-set questions whose generated answers pass (d10, d11), then the model server is stopped (a
JSON 503 naming ``base_url``, no traceback) and started again on the same port (the app answers
again without a restart).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from live_server import live_server  # tests/live_server.py

from assistant.api import create_app
from assistant.composition import build_assistant, build_store, ensure_indexed
from assistant.llm import LlamaCppChatModel
from assistant.models import Citation

pytestmark = pytest.mark.model

#: Dev set d10 and d11: the model's answer passes the verifier (measured: 16 of 16 first dev questions
#: gave the same raw reply through this server as in process).
QUESTIONS = {"What does SAC stand for?": "State Administration Council",
             "What did Min Aung Hlaing praise Putin for?": "leadership"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on a loopback port with the default backend's settings; restartable."""

    def __init__(self, settings) -> None:  # noqa: ANN001 - assistant.settings.Settings
        fields = LlamaCppChatModel.model_fields  # the values build_llm leaves at their defaults
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(settings.resolved_model_path()),
                    "--model_alias", settings.model_name, "--host", "127.0.0.1", "--port", str(self.port),
                    "--n_ctx", str(settings.n_ctx), "--seed", str(settings.seed),
                    "--n_threads", str(settings.n_threads), "--n_batch", str(fields["n_batch"].default),
                    "--rope_freq_base", str(fields["rope_freq_base"].default), "--rope_freq_scale", "1.0",
                    "--verbose", "False"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            assert self.proc.poll() is None, f"llama_cpp.server exited with {self.proc.returncode}"
            assert time.monotonic() < deadline, "llama_cpp.server did not list its model in 180 s"
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def llama_server(real_settings):  # noqa: ANN001
    server = LlamaServer(real_settings)
    server.start()
    yield server
    server.stop()


def _ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=600)


def _check_cited(body: dict, corpus_text: str, expected: str) -> None:
    assert body["answer_kind"] == "generative" and not body["abstained"], body
    assert expected in body["answer"]
    assert body["sentences"] and body["citations"]
    for c in body["citations"]:
        assert Citation.model_validate(c).model_dump() == c  # the default backend's citation object, as is
        assert corpus_text[c["start"]:c["end"]] == c["quote"]
    assert {c["sentence_index"] for c in body["citations"]} == set(range(len(body["sentences"])))


def test_the_openai_backend_answers_through_llama_cpp_server(llama_server, real_settings, corpus_text,
                                                             monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = real_settings.model_copy(update={"llm_backend": "openai", "base_url": f"{llama_server.url}/v1",
                                                "answer_mode": "generative"})
    store = build_store(settings)
    ensure_indexed(settings, store)
    assistant = build_assistant(settings, store=store)
    assert type(assistant.llm).__name__ == "ChatOpenAI"
    with live_server(create_app(assistant, chunk_count=store.count, store=store)) as url:
        answers = {}
        for question, expected in QUESTIONS.items():
            r = _ask(url, question)
            assert r.status_code == 200, r.text
            _check_cited(r.json(), corpus_text, expected)
            answers[question] = r.json()

        llama_server.stop()
        down = _ask(url, next(iter(QUESTIONS)))
        assert down.status_code == 503, down.text
        message = down.json()["message"]
        assert "cannot be reached" in message and "base_url" in message and llama_server.url in message
        assert "Traceback" not in down.text

        llama_server.start()  # same port: the app is not restarted
        question, expected = next(iter(QUESTIONS.items()))
        again = _ask(url, question)
        assert again.status_code == 200, again.text
        _check_cited(again.json(), corpus_text, expected)
