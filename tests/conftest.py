"""Shared fixtures. Heavy resources (embedding model, real LLM) are built once per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV_QUESTIONS = SHARED / "eval" / "dev-questions.jsonl"


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    from assistant.settings import bundled_corpus

    return bundled_corpus()


@pytest.fixture(scope="session")
def corpus_text(corpus_path: Path) -> str:
    return corpus_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def minilm():
    from index.embeddings import MiniLMOnnxEmbeddings

    return MiniLMOnnxEmbeddings()


@pytest.fixture
def fake_settings(tmp_path: Path):
    from assistant.settings import load_settings

    return load_settings(data_dir=tmp_path / "data", embedding_backend="fake", llm_backend="fake", answer_mode="generative")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory):
    """Default embedded configuration (MiniLM + SmolLM2), index in a temp dir."""
    from assistant.settings import load_settings

    return load_settings(data_dir=tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="session")
def real_assistant(real_settings):
    from assistant.composition import build_assistant, build_store, ensure_indexed

    store = build_store(real_settings)
    ensure_indexed(real_settings, store)
    return build_assistant(real_settings, store=store)


@pytest.fixture(scope="session")
def real_model_assistant(real_settings):
    """The real SmolLM2 model writing answers (``answer_mode=auto``) over the same index."""
    from assistant.composition import build_assistant, build_store, ensure_indexed

    settings = real_settings.model_copy(update={"answer_mode": "auto"})
    store = build_store(settings)
    ensure_indexed(settings, store)
    return build_assistant(settings, store=store)


@pytest.fixture(scope="session")
def dev_questions() -> list[dict]:
    if not DEV_QUESTIONS.is_file():
        pytest.fail(f"{DEV_QUESTIONS} not found: the shared/ folder must sit beside the project")
    return [json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def read_until():
    """``read_until(proc, done, timeout)``: lines of ``proc.stdout`` until ``done(line)``; fails the test on exit or timeout.

    A reader thread feeds a queue, so a line already buffered is never missed (``select`` on the pipe
    cannot see Python's buffer).
    """
    import queue
    import threading
    import time

    def _read(proc, done, timeout: float) -> list[str]:  # noqa: ANN001
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in iter(proc.stdout.readline, "")] + [lines.put(None)],
                         daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no expected line in {timeout:.0f} s: {''.join(seen)[-2000:]}")
            if line is None:
                pytest.fail(f"the process ended (exit {proc.wait()}) before the expected line: {''.join(seen)[-2000:]}")
            seen.append(line)
            if done(line):
                return [x.rstrip("\n") for x in seen]

    return _read
