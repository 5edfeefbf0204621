"""``chroma_url``: the store in a real Chroma server (``chroma run`` on loopback), not the embedded one.

``assistant index`` writes the bundled article into the server; an app built from another data
directory (nothing shared with the indexer but the server) answers from it over real HTTP; the
server is stopped (a JSON 503 naming the setting, no traceback) and started again on the same
files (the same app answers again). Two stores on one server serve the same documents, because the
manifest (the commit point of indexing) lives in the server too. The Chroma server runs under
strace when it is installed, and must not connect outside loopback (as in tests/test_offline.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live_server import live_server  # tests/live_server.py

from assistant.api import create_app
from assistant.composition import build_assistant, build_store
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
CHROMA = Path(sys.executable).with_name("chroma")  # the CLI shipped by the chromadb package
QUESTION = "Who invited Min Aung Hlaing to Russia?"  # dev set d01


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """``chroma run --path DIR --host 127.0.0.1 --port PORT``, stoppable and restartable on the same files."""

    def __init__(self, path: Path, trace_dir: Path) -> None:
        self.path, self.trace_dir, self.port = path, trace_dir, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        cmd = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        if shutil.which("strace"):
            cmd = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg",
                   "-o", str(self.trace_dir / f"chroma-{self.runs}.strace"), *cmd]
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"chroma run exited with {self.proc.returncode}"
            assert time.monotonic() < deadline, "chroma run did not answer its heartbeat in 60 s"
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # strace and chroma
            self.proc.wait(30)

    def traces(self) -> str:
        """What strace saw of every run (connect/sendto/sendmsg calls); "" when strace is not installed."""
        files = sorted(self.trace_dir.glob("chroma-*.strace"))
        assert len(files) == (self.runs if shutil.which("strace") else 0)  # every run was watched
        return "".join(p.read_text() for p in files)


@pytest.fixture
def chroma(tmp_path: Path):
    if not CHROMA.is_file():
        pytest.fail(f"{CHROMA} not found: chromadb's `chroma` CLI is part of the installed chromadb")
    (tmp_path / "traces").mkdir()
    server = ChromaServer(tmp_path / "chroma-server", tmp_path / "traces")
    server.start()
    yield server
    server.stop()


def _cli(*args: str, chroma_url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASSISTANT_CHROMA_URL=chroma_url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)


def test_index_into_a_chroma_server_answer_restart_and_answer_again(chroma, tmp_path, corpus_text) -> None:
    from test_offline import outside_traffic  # tests/test_offline.py: the same watch

    done = _cli("index", "--data-dir", str(tmp_path / "indexer"), chroma_url=chroma.url)
    assert done.returncode == 0, done.stderr
    assert f"7 chunks in {chroma.url}" in done.stdout
    assert not (tmp_path / "indexer" / "chroma").exists()  # nothing embedded: the vectors are in the server

    # a serving process with its own, empty data directory: all it needs is in the server
    settings = load_settings(data_dir=tmp_path / "server", chroma_url=chroma.url)
    store = build_store(settings)
    assert store.count() == 7
    app = create_app(build_assistant(settings, store=store), chunk_count=store.count, store=store)
    with live_server(app) as url:
        first = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=120)
        assert first.status_code == 200, first.text
        body = first.json()
        assert not body["abstained"] and "Putin" in body["answer"]
        assert body["citations"] and all(corpus_text[c["start"]:c["end"]] == c["quote"] for c in body["citations"])

        chroma.stop()
        down = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=120)
        assert down.status_code == 503, down.text
        message = down.json()["message"]
        assert f"Chroma server at {chroma.url} (setting chroma_url) cannot be reached" in message
        assert "Traceback" not in down.text

        chroma.start()  # same files, same port
        again = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=120)
        assert again.status_code == 200, again.text
        assert again.json()["answer"] == body["answer"] and again.json()["citations"] == body["citations"]
    assert not (tmp_path / "server" / "chroma").exists()
    assert outside_traffic(chroma.traces()) == [], "the Chroma server connected outside loopback"


def test_the_cli_says_which_setting_when_the_server_is_down(chroma, tmp_path) -> None:
    chroma.stop()
    for args in (["index"], ["ask", QUESTION]):
        done = _cli(*args, "--data-dir", str(tmp_path / "data"), chroma_url=chroma.url)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"Chroma server at {chroma.url} (setting chroma_url) cannot be reached" in lines[0]
        assert "chroma run" in lines[0] and "ASSISTANT_CHROMA_URL" in lines[0]


def test_stores_on_one_server_share_the_manifest(chroma, tmp_path) -> None:
    """What one process indexes, another process's store serves: the commit record is in the server."""
    from index.chunking import TokenChunker

    def store(name: str):  # noqa: ANN202
        s = load_settings(data_dir=tmp_path / name, embedding_backend="fake", chroma_url=chroma.url)
        return build_store(s)

    serving, writer = store("a"), store("b")  # both opened before anything is indexed
    assert serving.count() == 0
    chunks = TokenChunker(40, 0).split(
        "notes.txt", "The depot opens at seven. Deliveries are signed for at the gate. " * 6)
    writer.replace_source("notes.txt", chunks)
    assert serving.sources() == ["notes.txt"] and serving.ids() == {c.id for c in chunks}
    assert [c.id for c in serving.search("When does the depot open?", k=2)]
    writer.delete_source("notes.txt")
    assert serving.count() == 0 and serving.search("When does the depot open?", k=2) == []



def test_each_process_keeps_its_lexical_index_in_step_with_the_server(chroma, tmp_path) -> None:
    """The lexical (FTS5) index is a per-process cache of the server's record: a rare word another
    process indexed is found, a replaced document's old word is gone, only changed sources are re-read."""
    from index.chunking import TokenChunker

    def store(name: str):  # noqa: ANN202
        return build_store(load_settings(data_dir=tmp_path / name, embedding_backend="fake", chroma_url=chroma.url))

    serving, writer = store("a"), store("b")
    chunker = TokenChunker(40, 0)
    writer.replace_source("a.txt", chunker.split("a.txt", "The quokka enclosure is north of the gate."))
    writer.replace_source("b.txt", chunker.split("b.txt", "Visitors pay at the kiosk."))
    assert [cid for cid, _ in serving.lexical_search(["quokka"], 5)] == [c.id for c in serving.all_chunks()
                                                                         if c.source == "a.txt"]
    fetched: list[list[str]] = []
    original = serving._terms_of
    serving._manifest.terms_of = lambda c, ids: fetched.append(ids) or original(c, ids)
    writer.replace_source("a.txt", chunker.split("a.txt", "The wombat enclosure is north of the gate."))
    assert serving.lexical_search(["quokka"], 5) == []
    assert len(serving.lexical_search(["wombat"], 5)) == 1
    assert len(fetched) == 1 and len(fetched[0]) == 1  # only the changed source's new chunk was read
    assert not (tmp_path / "a" / "chroma").exists()  # the vectors stay in the server

def test_doctor_reports_a_server_that_is_down(chroma, tmp_path) -> None:
    from assistant.doctor import check_index

    settings = load_settings(data_dir=tmp_path / "data", embedding_backend="fake", chroma_url=chroma.url)
    assert check_index(settings).status == "warn"  # reachable, nothing indexed yet
    chroma.stop()
    check = check_index(settings)
    assert check.status == "fail" and f"Chroma server at {chroma.url}" in check.detail, check


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:80x", "http://h:1/db?x=1"])
def test_a_chroma_url_that_is_not_a_server_address_is_a_clear_settings_error(url) -> None:
    from assistant.settings import SettingsError

    with pytest.raises(SettingsError, match="chroma_url: .* is not a Chroma server address; write http://host:port"):
        load_settings(chroma_url=url)
