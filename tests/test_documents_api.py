"""Documents over HTTP (issue 9 item 3): add, replace, list and delete over real HTTP; failures change nothing."""

from __future__ import annotations

import httpx
import pytest

from assistant.api import create_app
from assistant.composition import build_assistant, build_library, build_store, ensure_indexed
from live_server import live_server  # tests/live_server.py

FACT = "The Zorblatt committee meets every Thursday in the amber room."
NEW_FACT = "The Zorblatt committee now meets every Monday in the jade room."
QUESTION = "When does the Zorblatt committee meet?"


@pytest.fixture
def served(fake_settings):
    """``(url, store, library)``: the API over a store holding the bundled article."""
    store = build_store(fake_settings)
    ensure_indexed(fake_settings, store)
    assistant = build_assistant(fake_settings, store=store)
    with live_server(create_app(assistant, store.count, store=store)) as url:
        yield url, store, build_library(fake_settings)


def _state(store, library) -> tuple:  # noqa: ANN001
    return (sorted(store.ids()), [(r.source, r.chunks, r.content_hash) for r in library.records()],
            {r.source: library.text(r.source) for r in library.records()})


def test_add_list_replace_and_delete_a_document(served) -> None:
    url, store, _ = served
    r = httpx.post(url + "/v1/documents", json={"source": "handbook/meetings.txt", "text": FACT}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "handbook/meetings.txt" and r.json()["added"] == 1
    listed = {d["source"]: d for d in httpx.get(url + "/v1/documents").json()["documents"]}
    assert listed["handbook/meetings.txt"]["chunks"] == 1 and listed["handbook/meetings.txt"]["characters"] == len(FACT)
    assert listed["handbook/meetings.txt"]["indexed_at"]
    answer = httpx.post(url + "/v1/ask", json={"question": QUESTION}, timeout=30).json()
    assert "Thursday" in answer["answer"] and answer["citations"][0]["source"] == "handbook/meetings.txt"

    r = httpx.post(url + "/v1/documents", json={"source": "handbook/meetings.txt", "text": NEW_FACT}, timeout=30)
    assert r.status_code == 200 and r.json()["added"] == 1 and r.json()["removed"] == 1
    answer = httpx.post(url + "/v1/ask", json={"question": QUESTION}, timeout=30).json()
    assert "Monday" in answer["answer"] and answer["citations"][0]["quote"] in NEW_FACT

    r = httpx.delete(url + "/v1/documents/handbook/meetings.txt")
    assert r.status_code == 200 and r.json()["deleted_chunks"] == 1
    assert "handbook/meetings.txt" not in {d["source"] for d in httpx.get(url + "/v1/documents").json()["documents"]}
    assert not store.ids("handbook/meetings.txt")
    r = httpx.delete(url + "/v1/documents/handbook/meetings.txt")
    assert r.status_code == 404 and "not indexed" in r.json()["message"]


def test_a_document_without_text_is_refused_and_changes_nothing(served) -> None:
    url, store, library = served
    assert httpx.post(url + "/v1/documents", json={"source": "a.txt", "text": FACT}, timeout=30).status_code == 200
    before = _state(store, library)
    for text in ("", "   \n\t ", "a\x00b"):
        r = httpx.post(url + "/v1/documents", json={"source": "a.txt", "text": text}, timeout=30)
        assert r.status_code == 422 and "nothing was changed" in r.json()["message"], r.text
    assert _state(store, library) == before


def test_source_names_never_address_anything_outside_the_store(served, tmp_path) -> None:
    url, store, library = served
    before = _state(store, library)
    outside = sorted(p for p in tmp_path.rglob("*") if "data" not in p.relative_to(tmp_path).parts)
    for name in ("../escape.txt", "/etc/passwd", "a/../../b.txt", "a\\b.txt", "", "C:/x.txt", "a//b.txt", "./a.txt",
                 "bad\nname.txt"):
        r = httpx.post(url + "/v1/documents", json={"source": name, "text": FACT}, timeout=30)
        assert r.status_code == 422 and "not a document name" in r.json()["message"], (name, r.text)
    r = httpx.delete(url + "/v1/documents/..%2F..%2Fetc%2Fpasswd")
    assert r.status_code in (404, 422) and r.headers["content-type"].startswith("application/json")
    assert _state(store, library) == before
    assert sorted(p for p in tmp_path.rglob("*") if "data" not in p.relative_to(tmp_path).parts) == outside


def test_a_write_that_fails_leaves_the_document_as_it_was(served, monkeypatch) -> None:
    url, store, library = served
    assert httpx.post(url + "/v1/documents", json={"source": "a.txt", "text": FACT}, timeout=30).status_code == 200
    before = _state(store, library)

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.embeddings, "embed_documents", broken)
    r = httpx.post(url + "/v1/documents", json={"source": "a.txt", "text": NEW_FACT}, timeout=30)
    assert r.status_code == 500 and "Traceback" not in r.text and "nothing was changed" in r.json()["message"]
    assert _state(store, library) == before
    r = httpx.post(url + "/v1/documents", json={"source": "new.txt", "text": NEW_FACT}, timeout=30)
    assert r.status_code == 500 and _state(store, library) == before


def test_documents_follow_the_api_rules(fake_settings) -> None:
    settings = fake_settings.model_copy(update={"api_keys": ["d" * 20], "max_document_bytes": 2048})
    store = build_store(settings)
    ensure_indexed(settings, store)
    with live_server(create_app(build_assistant(settings, store=store), store.count, store=store)) as url:
        assert httpx.get(url + "/v1/documents").status_code == 401
        auth = {"Authorization": "Bearer " + "d" * 20}
        r = httpx.post(url + "/v1/documents", json={"source": "big.txt", "text": "word " * 1000}, headers=auth)
        assert r.status_code == 413 and "max_document_bytes" in r.json()["message"]
        r = httpx.post(url + "/v1/documents", content=b'{"source": "a.txt", "text": "x"}', headers={
            **auth, "Content-Type": "text/plain"})
        assert r.status_code == 415


def test_refused_documents_are_named_by_source_without_server_paths_or_cli_flags(served, fake_settings,
                                                                                tmp_path) -> None:
    from assistant.composition import build_chunker
    from index.discover import FoundFile
    from index.pipeline import index_files

    url, store, library = served
    on_server = tmp_path / "docs" / "policy.txt"  # indexed by `assistant index` from a file on the server
    on_server.parent.mkdir()
    on_server.write_text(FACT, encoding="utf-8")
    index_files([FoundFile(on_server, "policy.txt")], store, build_chunker(fake_settings, store.embeddings), library)
    before = _state(store, library)
    for source, text, what in (("notes/empty.txt", " \n\t", "empty"), ("notes/binary.txt", "a\x00b", "NUL"),
                               ("policy.txt", NEW_FACT, "DELETE /v1/documents/policy.txt")):
        r = httpx.post(url + "/v1/documents", json={"source": source, "text": text}, timeout=30)
        message = r.json()["message"]
        assert r.status_code == 422 and repr(source) in message and what in message, r.text
        assert str(tmp_path) not in message and "uploads" not in message and "--" not in message, message
        assert "nothing was changed" in message
    assert _state(store, library) == before
