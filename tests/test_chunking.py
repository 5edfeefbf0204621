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


GIFT = ("Alpha beta gamma delta epsilon zeta eta theta. Gift cards are never refunded. "
        "Iota kappa lambda mu nu xi omicron pi rho. Gift cards are never refunded.")


def test_a_sentence_said_twice_is_placed_where_its_chunk_is() -> None:
    chunks = TokenChunker(chunk_size=32, chunk_overlap=0).split("gift.txt", GIFT)
    assert [(c.start, c.end) for c in chunks][-1] == (121, 151)
    assert chunks[-1].start >= chunks[0].end  # not inside the first chunk


def _repetitive(n: int) -> str:
    """Unique sentences between copies of one repeated sentence and one repeated paragraph."""
    names = "Alder Birch Cedar Dogwood Elm Fir Ginkgo Hazel Ivy Juniper Larch Maple".split()
    paras = []
    for i in range(n):
        name = names[i % len(names)]
        paras.append(f"The {name} depot opened in {1990 + i}. Gift cards are never refunded. "
                     f"Returns need a receipt. {name} staff count {i * 7} people.\n\nSee the notice.")
    return "\n\n".join(paras)


@pytest.mark.parametrize("size,overlap", [(16, 0), (24, 8), (32, 0), (48, 12), (64, 24)])
def test_repeated_text_is_covered_in_order_at_every_size(size: int, overlap: int) -> None:
    text = _repetitive(12)
    chunks = TokenChunker(chunk_size=size, chunk_overlap=overlap).split("r.txt", text)
    for prev, c in zip(chunks, chunks[1:]):
        assert c.start >= prev.start and c.end > prev.end, (prev, c)
        assert c.start <= prev.end + 2 or not text[prev.end:c.start].strip()  # no text skipped between them
    covered = set()
    for c in chunks:
        assert text[c.start:c.end] == c.text
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_indexing_stores_the_computed_offsets(tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from assistant.cli import app
    from index.embeddings import FakeEmbeddings
    from index.store import ChunkStore

    (tmp_path / "gift.txt").write_text(GIFT, encoding="utf-8")
    r = CliRunner().invoke(app, ["index", "--embedding", "fake", "--data-dir", str(tmp_path / "d"),
                                 "--chunk-size", "32", "--chunk-overlap", "0", str(tmp_path / "gift.txt")])
    assert r.exit_code == 0, r.output
    stored = ChunkStore(tmp_path / "d" / "chroma", FakeEmbeddings()).all_chunks()
    assert [(c.start, c.end) for c in stored] == [(0, 120), (121, 151)]
    assert all(GIFT[c.start:c.end] == c.text for c in stored)


@pytest.mark.parametrize("spans,problem", [
    ([(0, 46), (0, 30)], "lies before"),          # a chunk placed before the one before it
    ([(0, 46), (121, 151)], "in no chunk"),       # the text between them is lost
    ([(0, 46), (47, 77)], "in no chunk"),         # the end of the source is lost
    ([(0, 47), (47, 151)], "does not match"),     # a chunk whose text is not its span
])
def test_chunks_that_do_not_cover_the_source_in_order_fail_loudly(spans, problem: str) -> None:  # noqa: ANN001
    from index.chunking import Chunk, check_chunks
    from index.errors import ChunkingError

    chunks = [Chunk(id=str(i), source="gift.txt", ordinal=i, start=s, end=e,
                    text=GIFT[s:e] if problem != "does not match" or i == 0 else GIFT[s:e - 1], token_count=1)
              for i, (s, e) in enumerate(spans)]
    with pytest.raises(ChunkingError, match=problem) as err:
        check_chunks("gift.txt", GIFT, chunks)
    assert "gift.txt" in str(err.value)
