"""Token chunking: exact offsets, size limits, boundaries, unusual text."""

from __future__ import annotations

import pytest

from index.chunking import TokenChunker


@pytest.mark.parametrize("size,overlap", [(160, 24), (64, 8), (32, 0), (20, 5)])
def test_offsets_map_back_exactly_and_limits_hold(corpus_text: str, size: int, overlap: int) -> None:
    chunker = TokenChunker(chunk_size=size, chunk_overlap=overlap)
    chunks = chunker.split("a.txt", corpus_text)
    assert len(chunks) >= 2
    for i, c in enumerate(chunks):
        assert corpus_text[c.start:c.end] == c.text
        assert c.ordinal == i
        assert c.token_count == chunker.count_tokens(c.text)
        assert 0 < c.token_count <= size
    # every non-space character of the source is in some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(corpus_text) if not ch.isspace())
    # chunks progress through the document
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_chunks_end_on_sentence_or_paragraph_boundaries(corpus_text: str) -> None:
    chunks = TokenChunker(chunk_size=160, chunk_overlap=24).split("a.txt", corpus_text)
    for c in chunks:
        assert c.text[-1] in ".”\"?!)", c.text[-40:]


def test_curly_quotes_and_non_latin_text_survive() -> None:
    text = (
        "“Quoted” words — and dashes – stay. 缅甸军政府首脑访问俄罗斯。 Мьянма и Россия подписали соглашение.\n"
        "မြန်မာနိုင်ငံ စစ်ကောင်စီ. Ünïcödé ✓ emoji 🙂 end.\n" * 6
    )
    chunker = TokenChunker(chunk_size=40, chunk_overlap=8)
    chunks = chunker.split("u.txt", text)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.token_count <= 40
    joined = "".join(ch for c in chunks for ch in c.text)
    for needle in ("“Quoted”", "缅甸", "Мьянма", "မြန်မာ", "🙂"):
        assert needle in joined


def test_a_single_overlong_word_is_still_cut_under_the_limit() -> None:
    text = "x" * 5000
    chunks = TokenChunker(chunk_size=50, chunk_overlap=0).split("x.txt", text)
    assert all(c.token_count <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_ids_are_deterministic_and_change_with_text(corpus_text: str) -> None:
    a = TokenChunker().split("a.txt", corpus_text)
    b = TokenChunker().split("a.txt", corpus_text)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    changed = TokenChunker().split("a.txt", corpus_text.replace("Rosatom", "Rosatom Corp"))
    assert {c.id for c in changed} != {c.id for c in a}


@pytest.mark.parametrize("size,overlap", [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        TokenChunker(chunk_size=size, chunk_overlap=overlap)


def test_no_chunk_is_cut_after_a_title_abbreviation(corpus_text: str) -> None:
    chunks = TokenChunker(chunk_size=64, chunk_overlap=8).split("a.txt", corpus_text)
    assert not any(c.text.endswith(("Gen.", "Sen.", "Col.")) for c in chunks)
