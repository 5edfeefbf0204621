"""Crashes and damage while indexing: ``kill -9`` mid-write, a damaged store, a full disk.

``kill -9`` is sent to a real ``assistant index`` process at a known point of the write, chosen with
the documented test hook ``ASSISTANT_TEST_PAUSE_AT`` (``after-batch-N``: N batches of a document's
chunks are in Chroma; ``before-cleanup``: the new version is committed, the old one not yet deleted).
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_lexical_index import lexical_rows  # tests/test_lexical_index.py

from index.chunking import TokenChunker
from index.embeddings import FakeEmbeddings
from index.errors import StoreError
from index.pipeline import index_documents
from index.store import PAUSE_ENV, WRITE_BATCH, ChunkStore

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "myanmar-russia-visit.txt"
WORDS = ["harbour", "quarry", "granite", "ferry", "lantern", "orchard", "meadow", "copper", "saddle", "kettle"]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, **(env or {})))


def _big_document(path: Path, words: int = 30_000, seed: int = 1) -> Path:
    """A document of about ``words / 100`` chunks at the default chunk size: several write batches."""
    rng = random.Random(seed)
    sentences = (" ".join(f"{rng.choice(WORDS)}{rng.randrange(10**6)}" for _ in range(12)) + "." for _ in range(words // 12))
    path.write_text("\n".join(sentences), encoding="utf-8")
    return path


def _kill_at(point: str, data: Path, read_until, *files: Path) -> None:
    """Run ``assistant index FILES`` and ``kill -9`` it when it reaches the pause ``point``."""
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", "--embedding", "fake", "--data-dir",
                             str(data), *map(str, files)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, **{PAUSE_ENV: point}))
    try:
        read_until(proc, lambda line: line.startswith(f"PAUSED {point}"), 300)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _stored_ids(data: Path, source: str) -> set[str]:
    """What Chroma itself holds for ``source``, served or not."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str((data / "chroma").resolve()), settings=Settings(anonymized_telemetry=False))
    return set(client.get_collection("passages").get(where={"source": source}, include=[])["ids"])


def _lexical_ids(data: Path, source: str) -> set[str]:
    """Chunk ids of ``source`` in the lexical (FTS5) index."""
    return {i for i, (_, s, _) in lexical_rows(data / "chroma").items() if s == source}


def _open(data: Path) -> ChunkStore:
    return ChunkStore(data / "chroma", FakeEmbeddings())


def _ask(data: Path) -> subprocess.CompletedProcess:
    return _cli("ask", "--llm", "fake", "--embedding", "fake", "--data-dir", str(data), "Who invited Min Aung Hlaing?")


def test_kill_9_while_a_document_is_written_serves_the_rest_and_the_next_run_completes_it(tmp_path: Path,
                                                                                         read_until) -> None:
    data = tmp_path / "data"
    assert _cli("index", "--embedding", "fake", "--data-dir", str(data)).returncode == 0
    big = _big_document(tmp_path / "big.txt")
    expected = {c.id for c in TokenChunker(160, 24).split("big.txt", big.read_text(encoding="utf-8"))}
    assert len(expected) > 4 * WRITE_BATCH

    _kill_at("after-batch-2", data, read_until, big)

    assert len(_stored_ids(data, "big.txt")) == 2 * WRITE_BATCH  # killed halfway through the document
    store = _open(data)
    assert store.sources() == [BUNDLED] and store.count() == 7  # the half-written document is not served
    assert {h.source for h in store.search("harbour quarry granite ferry lantern", k=20)} == {BUNDLED}
    assert {c.source for c in store.all_chunks()} == {BUNDLED}
    assert {s for _, s, _ in lexical_rows(data / "chroma").values()} == {BUNDLED}  # nor lexically indexed
    answered = _ask(data)
    assert answered.returncode == 0, answered.stderr
    assert f"[1] {BUNDLED}:" in answered.stdout

    again = _cli("index", "--embedding", "fake", "--data-dir", str(data), str(big))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"big.txt: {len(expected)} added, 0 unchanged, 0 removed"
    store = _open(data)
    assert store.ids("big.txt") == expected == _stored_ids(data, "big.txt") == _lexical_ids(data, "big.txt")
    assert store.count() == 7 + len(expected)


def test_kill_9_after_the_commit_serves_the_new_version_and_the_next_run_removes_the_old(tmp_path: Path,
                                                                                       read_until) -> None:
    data, doc = tmp_path / "data", tmp_path / "doc.txt"
    _big_document(doc, words=3000, seed=1)
    assert _cli("index", "--embedding", "fake", "--data-dir", str(data), str(doc)).returncode == 0
    old = _open(data).ids("doc.txt")
    _big_document(doc, words=3000, seed=2)
    new = {c.id for c in TokenChunker(160, 24).split("doc.txt", doc.read_text(encoding="utf-8"))}

    _kill_at("before-cleanup", data, read_until, doc)

    assert _stored_ids(data, "doc.txt") == old | new  # both versions are in Chroma...
    assert _open(data).ids("doc.txt") == new  # ...but only the complete new one is served
    assert _lexical_ids(data, "doc.txt") == new  # and lexically indexed
    again = _cli("index", "--embedding", "fake", "--data-dir", str(data), str(doc))
    assert again.stdout.splitlines()[0] == f"doc.txt: 0 added, {len(new)} unchanged, 0 removed"
    assert _stored_ids(data, "doc.txt") == new


class _Killed(BaseException):
    """Stands for the process dying inside a Chroma call (not an Exception: nothing may catch it)."""


def test_a_write_that_dies_part_way_leaves_each_document_in_one_complete_version(tmp_path: Path, monkeypatch) -> None:
    """In process: Chroma's upsert writes half of its chunks, then the process 'dies'."""
    from chromadb.api.models.Collection import Collection

    chunker, doc = TokenChunker(64, 8), tmp_path / "doc.txt"
    _big_document(doc, words=1500, seed=1)
    index_documents([doc], _open(tmp_path), chunker)
    old = _open(tmp_path).ids("doc.txt")
    _big_document(doc, words=1500, seed=2)
    real_upsert = Collection.upsert

    def dies_half_way(self, ids, **kw):  # noqa: ANN001, ANN003, ANN202
        half = len(ids) // 2
        real_upsert(self, ids=ids[:half], **{k: v[:half] if isinstance(v, list) else v for k, v in kw.items()})
        raise _Killed

    with monkeypatch.context() as m, pytest.raises(_Killed):
        m.setattr(Collection, "upsert", dies_half_way)
        index_documents([doc], _open(tmp_path), chunker)
    store = _open(tmp_path)
    assert store.ids("doc.txt") == old
    assert {c.id for c in store.all_chunks()} == old
    assert _lexical_ids(tmp_path, "doc.txt") == old


DAMAGE = {
    "truncated": lambda d: os.truncate(d / "chroma" / "chroma.sqlite3", 20_000),
    "garbage": lambda d: (d / "chroma" / "chroma.sqlite3").write_bytes(random.Random(0).randbytes(250_000)),
    "emptied": lambda d: os.truncate(d / "chroma" / "chroma.sqlite3", 0),
    "garbage manifest": lambda d: (d / "chroma" / "manifest.sqlite3").write_bytes(b"not a database" * 100),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A data dir holding the bundled article (copied by each test that damages it)."""
    data = tmp_path_factory.mktemp("indexed") / "data"
    assert _cli("index", "--embedding", "fake", "--data-dir", str(data)).returncode == 0
    return data


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_one_line_naming_rebuild_and_rebuild_keeps_the_damaged_copy(indexed: Path, tmp_path: Path,
                                                                                      damage: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed, data)
    DAMAGE[damage](data)
    for r in (_ask(data), _cli("index", "--embedding", "fake", "--data-dir", str(data))):
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
        assert r.stderr.startswith(f"Error: the index at {data / 'chroma'} cannot be read: it is damaged")
        assert f"`assistant index --rebuild --data-dir {data}`: it indexes again every document recorded" in r.stderr
    rebuilt = _cli("index", "--rebuild", "--embedding", "fake", "--data-dir", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    kept = [p.name for p in data.iterdir() if p.name.startswith("chroma.damaged-")]
    if damage == "emptied":  # Chroma opens an empty file as a new database: nothing left to keep
        assert kept == []
    else:  # the files Chroma cannot open are moved aside, not deleted
        assert len(kept) == 1 and kept[0] in rebuilt.stderr
    assert rebuilt.stdout.splitlines()[-1] == f"7 chunks in {data / 'chroma'}"
    assert _ask(data).returncode == 0


def test_rebuild_without_files_gets_back_every_recorded_document(tmp_path: Path) -> None:
    """Following the damaged-store message (``--rebuild`` without FILE) indexes again the documents
    the library records, from their stored texts (even one whose file is gone, as for a document
    added through the API), not the bundled article; ``sources`` reports the damage first."""
    import json

    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "policy.md").write_text("Staff get 30 days of leave per year.", encoding="utf-8")
    (docs / "sub" / "hives.txt").write_text("The apiary at Lindenhof keeps 42 hives.", encoding="utf-8")
    data = tmp_path / "data"
    assert _cli("index", "--embedding", "fake", "--data-dir", str(data), str(docs)).returncode == 0
    (docs / "sub" / "hives.txt").unlink()  # only its stored text is left
    before = _cli("sources", "--json", "--data-dir", str(data)).stdout
    DAMAGE["truncated"](data)
    listed = _cli("sources", "--data-dir", str(data))
    assert listed.returncode == 1 and len(listed.stderr.splitlines()) == 1, listed.stdout + listed.stderr
    assert "damaged" in listed.stderr and f"`assistant index --rebuild --data-dir {data}`" in listed.stderr
    rebuilt = _cli("index", "--rebuild", "--embedding", "fake", "--data-dir", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "docs/policy.md: 1 added" in rebuilt.stdout and "docs/sub/hives.txt: 1 added" in rebuilt.stdout
    after = [json.loads(x) for x in _cli("sources", "--json", "--data-dir", str(data)).stdout.splitlines()]
    assert [r["source"] for r in after] == ["docs/policy.md", "docs/sub/hives.txt"]  # no bundled article
    kept = ("source", "path", "format", "chars", "content_hash")
    assert [{k: r[k] for k in kept} for r in after] == [{k: json.loads(x)[k] for k in kept} for x in before.splitlines()]
    r = _cli("ask", "--json", "--llm", "fake", "--embedding", "fake", "--data-dir", str(data),
             "How many hives does the apiary at Lindenhof keep?")
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["citations"] and answer["citations"][0]["source"] == "docs/sub/hives.txt"


def test_rebuild_without_files_of_an_empty_data_dir_asks_for_them(tmp_path: Path) -> None:
    r = _cli("index", "--rebuild", "--embedding", "fake", "--data-dir", str(tmp_path / "new"))
    assert r.returncode == 1 and "nothing is recorded" in r.stderr and "--rebuild FILE" in r.stderr
    assert not (tmp_path / "new").exists()


def test_the_api_answers_a_store_failure_with_json_saying_what_to_do(fake_settings) -> None:
    from fastapi.testclient import TestClient

    from assistant.api import create_app
    from assistant.composition import build_assistant, build_store, ensure_indexed

    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    client = TestClient(create_app(build_assistant(fake_settings, store=store), chunk_count=store.count),
                        raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert client.post("/v1/ask", json={"question": "Who invited him?"}).status_code == 200
    (fake_settings.persist_dir / "manifest.sqlite3").write_bytes(b"not a database" * 100)
    r = client.post("/v1/ask", json={"question": "Who invited him?"})
    assert r.status_code == 503
    assert "damaged" in r.json()["message"] and "--rebuild" in r.json()["message"]


def _disk_full_upsert(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    from chromadb.errors import InternalError

    # the error Chroma 1.5.9 raised on a full tmpfs in a manual trial
    raise InternalError("error returned from database: (code: 13) database or disk is full")


def test_a_full_disk_fails_the_run_cleanly_and_the_old_index_still_answers(tmp_path: Path, monkeypatch) -> None:
    from chromadb.api.models.Collection import Collection
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["index", "--embedding", "fake", "--data-dir", "data"]).exit_code == 0
    before = _open(tmp_path / "data").ids()
    new = _big_document(tmp_path / "new.txt", words=1500)
    with monkeypatch.context() as m:
        m.setattr(Collection, "upsert", _disk_full_upsert)
        r = runner.invoke(app, ["index", "--embedding", "fake", "--data-dir", "data", str(new)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert r.stderr.startswith("Error: no space left on the disk holding the index at data/chroma")
    assert "Free some space and run the command again" in r.stderr and "Traceback" not in r.output
    assert _open(tmp_path / "data").ids() == before
    asked = runner.invoke(app, ["ask", "--llm", "fake", "--embedding", "fake", "--data-dir", "data", "Who invited him?"])
    assert asked.exit_code == 0 and f"[1] {BUNDLED}:" in asked.stdout, asked.output


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 2 MB tmpfs (needs root and mount; skipped where it cannot be mounted)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_really_full_disk_fails_cleanly_and_the_old_index_still_answers(tiny_disk: Path, tmp_path: Path) -> None:
    data = tiny_disk / "data"
    assert _cli("index", "--embedding", "fake", "--data-dir", str(data)).returncode == 0
    serving = _open(data)  # a server opened before the disk filled up
    before = serving.ids()
    filler = tiny_disk / "filler"
    try:
        with open(filler, "wb", buffering=0) as f:  # fill the disk to the last block
            while True:
                f.write(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    r = _cli("index", "--embedding", "fake", "--data-dir", str(data), str(_big_document(tmp_path / "big.txt")))
    assert r.returncode == 1
    assert r.stderr.startswith(f"Error: no space left on the disk holding the index at {data / 'chroma'}"), r.stderr
    assert "Free some space and run the command again" in r.stderr and "Traceback" not in r.stderr
    assert serving.search("Who invited Min Aung Hlaing?", k=2)[0].source == BUNDLED  # still answering, disk full
    filler.unlink()
    assert _open(data).ids() == before
    answered = _ask(data)
    assert answered.returncode == 0 and f"[1] {BUNDLED}:" in answered.stdout, answered.stderr
