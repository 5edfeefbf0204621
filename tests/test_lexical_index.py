"""The persistent lexical (FTS5) index: written with each document's commit, source by source, read
by the retriever without loading the corpus, built once for a store that predates it."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from assistant.retrieval import HybridRetriever
from index.chunking import TokenChunker
from index.embeddings import FakeEmbeddings
from index.manifest import MANIFEST_FILE
from index.pipeline import index_documents
from index.store import ChunkStore

FILLER = ["harbour", "quarry", "granite", "ferry", "lantern", "orchard", "meadow", "copper", "saddle", "kettle"]


def lexical_rows(persist_dir: Path, collection: str = "passages") -> dict[str, tuple[int, str, str]]:
    """What the lexical index holds: chunk id -> (row id, source, terms)."""
    with sqlite3.connect(persist_dir / MANIFEST_FILE) as conn:
        (rowid,) = conn.execute("SELECT rowid FROM collections WHERE name = ?", (collection,)).fetchone()
        rows = conn.execute(f"SELECT c.chunk_id, c.id, c.source, f.terms FROM lexical_chunks AS c "
                            f"JOIN lexical_{rowid} AS f ON f.rowid = c.id WHERE c.collection = ?", (collection,))
        return {cid: (rid, source, terms) for cid, rid, source, terms in rows}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _doc(seed: int, extra: str = "") -> str:
    """About three chunks of filler sentences at chunk size 64, with ``extra`` in the middle."""
    words = [FILLER[(seed * 7 + i * 3) % len(FILLER)] for i in range(120)]
    return " ".join(words[:60]) + f". {extra} " + " ".join(words[60:]) + "."


@pytest.fixture
def chunker() -> TokenChunker:
    return TokenChunker(64, 8)


def _no_full_scan(store: ChunkStore) -> None:
    """Queries may not list every chunk id nor read every chunk (the corpus stays on disk)."""
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the retriever read the whole corpus")

    store.all_chunks = refuse
    store.ids = refuse


def test_reindexing_one_source_rewrites_only_its_rows_and_queries_see_each_change(tmp_path: Path, chunker) -> None:
    a = _write(tmp_path, "a.txt", _doc(1, "The zeppelin hangar stands here."))
    b = _write(tmp_path, "b.txt", _doc(2, "The windmill grinds barley."))
    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents([a, b], store, chunker)
    retriever = HybridRetriever(store)
    _no_full_scan(store)
    assert retriever.search("Where is the zeppelin hangar?", k=4)[0].source == "a.txt"
    before = lexical_rows(tmp_path / "chroma")
    assert {s for _, s, _ in before.values()} == {"a.txt", "b.txt"}
    assert set(before) == ChunkStore(tmp_path / "chroma", FakeEmbeddings()).ids()  # one row per served chunk

    _write(tmp_path, "a.txt", _doc(1, "The observatory dome is white."))
    index_documents([a], ChunkStore(tmp_path / "chroma", FakeEmbeddings()), chunker)  # another store object

    after = lexical_rows(tmp_path / "chroma")
    assert store.count() == len(after) == len(ChunkStore(tmp_path / "chroma", FakeEmbeddings()).ids())
    assert {i: r for i, r in after.items() if r[1] == "b.txt"} == {i: r for i, r in before.items() if r[1] == "b.txt"}
    unchanged = {i for i, r in before.items() if r[1] == "a.txt"} & set(after)
    assert all(after[i] == before[i] for i in unchanged)  # a's unchanged chunks keep their rows too
    assert any("observatori" in r[2] for r in after.values()) and not any("zeppelin" in r[2] for r in after.values())
    hits = retriever.search("Where is the observatory dome?", k=4)
    assert hits[0].source == "a.txt" and "observatory" in hits[0].text and hits[0].lexical_score > 0
    assert all(h.lexical_score == 0 or "zeppelin" not in h.text for h in hits)
    assert all("zeppelin" not in h.text for h in retriever.search("zeppelin hangar", k=4))


def test_deleting_a_source_removes_its_rows_and_queries_stop_finding_it(tmp_path: Path, chunker) -> None:
    a = _write(tmp_path, "a.txt", _doc(1, "The zeppelin hangar stands here."))
    b = _write(tmp_path, "b.txt", _doc(2, "The windmill grinds barley."))
    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents([a, b], store, chunker)
    retriever = HybridRetriever(store)
    _no_full_scan(store)
    assert any(h.source == "b.txt" and h.lexical_score > 0 for h in retriever.search("windmill barley", k=4))
    b_rows = {i: r for i, r in lexical_rows(tmp_path / "chroma").items() if r[1] == "b.txt"}

    ChunkStore(tmp_path / "chroma", FakeEmbeddings()).delete_source("b.txt")  # another store object

    rows = lexical_rows(tmp_path / "chroma")
    assert {r[1] for r in rows.values()} == {"a.txt"} and not set(rows) & set(b_rows)
    assert store.count() == len(rows)
    assert {h.source for h in retriever.search("windmill barley", k=4)} == {"a.txt"}
    assert all(h.lexical_score == 0 for h in retriever.search("windmill barley", k=4))


def test_a_rare_term_only_bm25_matches_brings_its_passage_into_the_top_k(tmp_path: Path) -> None:
    """Dense ranking by fake (random) vectors ignores the term; the lexical ranking alone must find it."""
    files = [_write(tmp_path, f"f{n:02}.txt", _doc(n)) for n in range(30)]
    files.append(_write(tmp_path, "rare.txt", _doc(3, "The Quuxbridge ferry runs on Sundays.")))
    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents(files, store, TokenChunker(64, 8))
    assert store.count() > 80
    hits = HybridRetriever(store).search("When does the Quuxbridge ferry run?", k=4)
    rare = [h for h in hits if "Quuxbridge" in h.text]
    assert rare and rare[0].source == "rare.txt" and hits.index(rare[0]) <= 1
    assert rare[0].lexical_score > max(h.lexical_score for h in hits if h not in rare)


def test_query_syntax_of_fts5_in_a_question_is_read_as_words(tmp_path: Path, chunker) -> None:
    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents([_write(tmp_path, "a.txt", _doc(1, "The zeppelin hangar stands here."))], store, chunker)
    hits = HybridRetriever(store).search('NEAR(zeppelin* "hangar") AND -x OR ^col: {a b}', k=2)
    assert "zeppelin" in hits[0].text and hits[0].lexical_score > 0


def _strip_lexical_index(persist_dir: Path) -> None:
    """Turn the manifest back into its form before the lexical index: no lexical tables or columns."""
    with sqlite3.connect(persist_dir / MANIFEST_FILE) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE "
                                            "'lexical%' AND sql LIKE 'CREATE VIRTUAL%'")]
        for name in names:
            conn.execute(f"DROP TABLE {name}")
        conn.executescript("DROP TABLE lexical_chunks; CREATE TABLE old (name TEXT PRIMARY KEY); "
                           "INSERT INTO old SELECT name FROM collections; DROP TABLE collections; "
                           "ALTER TABLE old RENAME TO collections;")


def test_a_store_without_the_lexical_index_gets_it_built_once_on_open(tmp_path: Path, chunker, caplog) -> None:
    a = _write(tmp_path, "a.txt", _doc(1, "The zeppelin hangar stands here."))
    b = _write(tmp_path, "b.txt", _doc(2, "The windmill grinds barley."))
    index_documents([a, b], ChunkStore(tmp_path / "chroma", FakeEmbeddings()), chunker)
    built = lexical_rows(tmp_path / "chroma")
    _strip_lexical_index(tmp_path / "chroma")

    with caplog.at_level(logging.INFO, logger="index.store"):
        store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    assert [r.getMessage() for r in caplog.records if "lexical index" in r.getMessage()] != []
    migrated = lexical_rows(tmp_path / "chroma")
    assert {i: r[1:] for i, r in migrated.items()} == {i: r[1:] for i, r in built.items()}  # as the write path
    _no_full_scan(store)
    assert HybridRetriever(store).search("Where is the zeppelin hangar?", k=4)[0].source == "a.txt"

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="index.store"):
        ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    assert not [r for r in caplog.records if "lexical index" in r.getMessage()]  # once, not at every open
