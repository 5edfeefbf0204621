"""Contract tests of the chunk store and the indexing pipeline (fake embeddings unless stated)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from index.chunking import TokenChunker
from index.embeddings import FakeEmbeddings
from index.errors import DocumentError, EmbeddingMismatchError
from index.pipeline import index_documents
from index.store import ChunkStore, drop_collection


@pytest.fixture
def store(tmp_path: Path) -> ChunkStore:
    return ChunkStore(tmp_path / "chroma", FakeEmbeddings())


@pytest.fixture
def doc(tmp_path: Path, corpus_text: str) -> Path:
    p = tmp_path / "article.txt"
    p.write_text(corpus_text, encoding="utf-8")
    return p


def test_reindexing_an_unchanged_file_changes_nothing(store: ChunkStore, doc: Path) -> None:
    chunker = TokenChunker(64, 8)
    first = index_documents([doc], store, chunker)
    ids = store.ids()
    again = index_documents([doc], store, chunker)
    assert first[0].added == len(ids) > 3
    assert (again[0].added, again[0].removed, again[0].unchanged) == (0, 0, len(ids))
    assert store.ids() == ids
    assert store.count() == len(ids)


def test_a_changed_file_leaves_no_stale_chunks(store: ChunkStore, doc: Path, corpus_text: str) -> None:
    chunker = TokenChunker(64, 8)
    index_documents([doc], store, chunker)
    old_ids = store.ids()
    doc.write_text(corpus_text.replace("Rosatom", "Rosatom (a changed name)"), encoding="utf-8")
    report = index_documents([doc], store, chunker)[0]
    new_ids = {c.id for c in chunker.split("article.txt", doc.read_text(encoding="utf-8"))}
    assert store.ids() == new_ids
    assert report.removed == len(old_ids - new_ids) >= 1
    texts = [h.text for h in store.search("Rosatom nuclear corporation", k=50)]
    assert any("changed name" in t for t in texts)
    assert not any("Rosatom, Russia" in t for t in texts)


def test_upsert_by_id_is_idempotent_and_does_not_mutate_input(store: ChunkStore, corpus_text: str) -> None:
    chunks = TokenChunker(64, 8).split("a.txt", corpus_text)
    before = copy.deepcopy(chunks)
    store.replace_source("a.txt", chunks)
    store.replace_source("a.txt", chunks)
    assert chunks == before
    assert store.count() == len(chunks)


def test_delete_of_a_missing_id_is_harmless(store: ChunkStore, corpus_text: str) -> None:
    chunks = TokenChunker(64, 8).split("a.txt", corpus_text)
    store.replace_source("a.txt", chunks)
    store.delete(["no-such-id"])
    assert store.count() == len(chunks)


def test_search_results_carry_offsets_back_into_the_source(tmp_path: Path, doc: Path, corpus_text: str, minilm) -> None:
    store = ChunkStore(tmp_path / "real", minilm)
    index_documents([doc], store, TokenChunker(160, 24))
    hits = store.search("Which nuclear corporation is Myanmar negotiating with?", k=3)
    assert len(hits) == 3
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert "Rosatom" in hits[0].text
    for h in hits:
        assert corpus_text[h.start:h.end] == h.text


def test_opening_with_another_embedding_model_is_a_clear_error(tmp_path: Path, doc: Path, minilm) -> None:
    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents([doc], store, TokenChunker(64, 8))
    with pytest.raises(EmbeddingMismatchError) as err:
        ChunkStore(tmp_path / "chroma", minilm)
    msg = str(err.value)
    assert "fake-deterministic-64" in msg and "all-MiniLM-L6-v2-onnx-int8" in msg and "--rebuild" in msg
    # the index is intact and still opens with the model that built it
    assert ChunkStore(tmp_path / "chroma", FakeEmbeddings()).count() > 0
    assert drop_collection(tmp_path / "chroma") is True
    assert ChunkStore(tmp_path / "chroma", minilm).count() == 0


@pytest.mark.parametrize(
    "name,content,expect",
    [
        ("missing.txt", None, "no such file"),
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\t\n", "empty"),
        ("zwsp.txt", "\u200b\u200b\n\u2060".encode(), "invisible characters"),
        ("binary.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ],
)
def test_bad_files_are_refused_by_name_and_the_store_is_unchanged(
    store: ChunkStore, doc: Path, tmp_path: Path, name: str, content: bytes | None, expect: str
) -> None:
    chunker = TokenChunker(64, 8)
    index_documents([doc], store, chunker)
    ids = store.ids()
    bad = tmp_path / name
    if content is not None:
        bad.write_bytes(content)
    other = tmp_path / "other.txt"
    other.write_text("A second, valid document about something else entirely.", encoding="utf-8")
    with pytest.raises(DocumentError) as err:  # strict: a file without text fails the batch too
        index_documents([other, bad], store, chunker, strict=True)
    assert name in str(err.value) and expect in str(err.value)
    assert store.ids() == ids  # the valid file listed first was not written either


def test_a_serving_process_sees_chunks_another_process_indexed(tmp_path: Path, doc: Path) -> None:
    import subprocess
    import sys

    from assistant.retrieval import HybridRetriever

    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    index_documents([doc], store, TokenChunker(160, 24))
    retriever = HybridRetriever(store)
    assert retriever.search("Who invited him?", 4)
    new = tmp_path / "harbour.txt"
    new.write_text("The Quux harbour opened in 1999. It was built by Quux Ltd.\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--data-dir", str(tmp_path), "--embedding", "fake",
                    str(new)], check=True, capture_output=True)
    hits = retriever.search("Who built the Quux harbour?", 4)  # raised "Error finding id" before reopening
    assert hits[0].source == "harbour.txt"
    assert store.count() == len(store.ids()) == len({h.chunk_id for h in retriever.search("harbour", 20)})
