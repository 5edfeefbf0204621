"""Hybrid retrieval at the edges: a lexical signal in one- and two-chunk corpora, and near-duplicate
passages (a footer shared by several files) collapsed to one."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.retrieval import HybridRetriever, near_duplicates
from index.chunking import TokenChunker
from index.embeddings import FakeEmbeddings
from index.pipeline import index_documents
from index.store import ChunkStore

FOOTER = ("Questions? Contact customer support at support@example.com or call 555-0100. "
          "Copyright 2024 Example Ltd. All rights reserved.")
CONTENT = {
    "refunds.txt": "Refunds are issued within 14 days of receiving the returned item. The refund goes to the "
                   "original payment method.",
    "shipping.txt": "Orders ship from the Leeds warehouse within two working days. Express delivery costs nine pounds.",
    "warranty.txt": "The warranty covers manufacturing defects for two years from the date of purchase.",
}


def _index(tmp_path: Path, files: dict[str, str], embeddings=None, chunker=None) -> HybridRetriever:  # noqa: ANN001
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(tmp_path / name)
    store = ChunkStore(tmp_path / "chroma", embeddings or FakeEmbeddings())
    index_documents(paths, store, chunker or TokenChunker(160, 24))
    return HybridRetriever(store)


@pytest.mark.parametrize("files", [
    {"harbour.txt": "The Quux harbour opened in 1999. It was built by Quux Ltd."},
    {"harbour.txt": "The Quux harbour opened in 1999. It was built by Quux Ltd.",
     "bakery.txt": "The bakery on Mill Lane sells rye bread every morning."},
], ids=["one chunk", "two chunks"])
def test_a_query_term_in_one_chunk_gives_it_a_positive_lexical_score(tmp_path: Path, files: dict[str, str]) -> None:
    hits = _index(tmp_path, files).search("Who built the Quux harbour?", k=4)
    by_source = {h.source: h for h in hits}
    assert by_source["harbour.txt"].lexical_score > 0
    assert hits[0].source == "harbour.txt"  # first whatever the (random) fake dense ranking says
    if "bakery.txt" in by_source:
        assert by_source["bakery.txt"].lexical_score == 0  # no query term in it: no lexical score


def test_a_footer_shared_by_three_files_fills_one_retrieved_slot_at_most(tmp_path: Path, minilm) -> None:  # noqa: ANN001
    files = {name: f"{text}\n\n{FOOTER}\n" for name, text in CONTENT.items()}
    files["warranty.txt"] = files["warranty.txt"].replace(FOOTER, FOOTER.lower().replace(". ", ".  "))  # case, spaces
    retriever = _index(tmp_path, files, embeddings=minilm, chunker=TokenChunker(32, 0))
    assert retriever.store.count() == 6  # three content chunks, three footer chunks
    hits = retriever.search("How do I contact customer support?", k=4)
    footers = [h for h in hits if "support@example.com" in h.text.lower()]
    assert len(footers) == 1
    assert {h.source for h in hits if h not in footers} == set(CONTENT)  # the slots go to distinct content


def test_near_duplicates_are_defined_by_word_shingles_and_keep_distinct_facts() -> None:
    a = "Refunds are issued within 14 days of receiving the returned item, to the original payment method."
    assert near_duplicates(a, a.upper().replace(" ", "  ").replace(",", " ,"))  # case, spacing, punctuation
    assert near_duplicates(a, "  " + a + "\n")
    assert not near_duplicates(a, a.replace("14 days", "30 days"))  # one fact changed: both kept
    assert not near_duplicates("Call 555-0100.", "Call 555-0199.")
    assert not near_duplicates(a, "Orders ship from the Leeds warehouse within two working days.")
