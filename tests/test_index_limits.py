"""Indexing limits that follow from the parts: the embedder's input size, files without text."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app

CYRILLIC = ("Мьянма и Россия подписали соглашение о строительстве атомной станции мощностью 110 мегаватт "
            "в 2023 году; стоимость проекта составит 4,2 миллиарда рублей, сообщил Росатом. ") * 40
CJK = "缅甸军政府首脑访问俄罗斯，双方签署了核能合作协议，预计二〇二五年开工建设。" * 40


def _word_pieces(minilm, text: str) -> int:  # noqa: ANN001
    """MiniLM word pieces of text, [CLS] and [SEP] included, counted with the shipped tokenizer."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(minilm.tokenizer_path))
    tok.no_truncation()
    tok.no_padding()
    return len(tok.encode(text).ids)


@pytest.mark.parametrize("text", [CYRILLIC, CJK], ids=["cyrillic", "cjk"])
def test_no_chunk_is_longer_than_the_embedder_reads(minilm, tmp_path: Path, text: str) -> None:  # noqa: ANN001
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    settings = load_settings(data_dir=tmp_path, chunk_size=254, chunk_overlap=24)
    chunks = build_chunker(settings).split("ru.txt", text)
    assert len(chunks) > 2
    assert max(_word_pieces(minilm, c.text) for c in chunks) <= 256
    assert all(text[c.start:c.end] == c.text for c in chunks)


@pytest.mark.parametrize("size", ["512", "255", "15"])
def test_a_chunk_size_out_of_range_names_the_range_and_why(tmp_path: Path, size: str) -> None:
    r = CliRunner().invoke(app, ["index", "--data-dir", str(tmp_path), "--chunk-size", size])
    assert r.exit_code == 2
    assert "allowed 16-254" in r.stderr and "256 word pieces" in r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "chroma").exists()


def test_the_largest_allowed_chunk_size_is_accepted(tmp_path: Path) -> None:
    from assistant.settings import load_settings

    assert load_settings(data_dir=tmp_path, chunk_size=254).chunk_size == 254


def _index(tmp_path: Path, *files: Path, strict: bool = False):  # noqa: ANN202
    args = ["index", "--embedding", "fake", "--data-dir", str(tmp_path / "d"), *map(str, files)]
    return CliRunner().invoke(app, args + (["--strict"] if strict else []))


def _sources(tmp_path: Path) -> list[str]:
    from index.embeddings import FakeEmbeddings
    from index.store import ChunkStore

    return ChunkStore(tmp_path / "d" / "chroma", FakeEmbeddings()).sources()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "good.txt": "The harbour of Quux opened in 1999. It was built by Quux Ltd.\n",
        "empty.txt": "",
        "zwsp.txt": "\u200b\u200b\u200b\n\u2060\ufeff \u200d\n",
    }
    for name, text in out.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {name: tmp_path / name for name in out}


def test_files_without_text_are_skipped_by_name_and_the_rest_indexed(tmp_path: Path, files) -> None:  # noqa: ANN001
    r = _index(tmp_path, files["empty.txt"], files["good.txt"], files["zwsp.txt"])
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 2
    assert "empty.txt" in warnings[0] and "zwsp.txt" in warnings[1] and "invisible" in warnings[1]
    assert _sources(tmp_path) == ["good.txt"]


def test_strict_fails_the_whole_batch_and_writes_nothing(tmp_path: Path, files) -> None:  # noqa: ANN001
    r = _index(tmp_path, files["good.txt"], files["zwsp.txt"], strict=True)
    assert r.exit_code == 1
    assert "zwsp.txt" in r.stderr and "nothing was indexed" in r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "d" / "chroma").exists() or _sources(tmp_path) == []


def test_only_files_without_text_is_an_error(tmp_path: Path, files) -> None:  # noqa: ANN001
    r = _index(tmp_path, files["empty.txt"], files["zwsp.txt"])
    assert r.exit_code == 1
    assert "no file has text" in r.stderr and "empty.txt" in r.stderr and "zwsp.txt" in r.stderr


def test_invisible_paragraphs_never_become_chunks() -> None:
    from index.chunking import TokenChunker

    text = "Ports open at six.\n\n" + "\u200b" * 60 + "\n\n\u2060\u200c \u200d\n\nRail opens at seven.\n"
    chunks = TokenChunker(chunk_size=16, chunk_overlap=0).split("z.txt", text)
    assert [c.text for c in chunks] == ["Ports open at six.", "Rail opens at seven."]


def test_an_invisible_chunk_in_an_older_index_never_comes_back_as_evidence(tmp_path: Path) -> None:
    from assistant.retrieval import HybridRetriever
    from index.chunking import Chunk
    from index.embeddings import FakeEmbeddings
    from index.store import ChunkStore

    store = ChunkStore(tmp_path / "chroma", FakeEmbeddings())
    text = "Ports open at six.\n\n\u200b\u200b\u200b"
    store.replace_source("z.txt", [
        Chunk(id="z:0", source="z.txt", ordinal=0, start=0, end=18, text=text[:18], token_count=5),
        Chunk(id="z:1", source="z.txt", ordinal=1, start=20, end=23, text=text[20:], token_count=3),
    ])
    for query in ("When do ports open?", "\u200b", "anything"):
        assert [p.chunk_id for p in HybridRetriever(store).search(query, 4)] == ["z:0"]


def test_the_chunk_size_range_follows_from_the_model_window() -> None:
    from assistant.settings import SettingsError, load_settings, max_chunk_tokens_for_context

    assert max_chunk_tokens_for_context(2048, 96) >= 254  # the defaults: MiniLM's limit is the tighter one
    upper = max_chunk_tokens_for_context(512, 96)
    assert load_settings(n_ctx=512, chunk_size=upper, chunk_overlap=8).chunk_size == upper
    with pytest.raises(SettingsError, match=r"allowed 16-53 tokens .*n_ctx 512"):
        load_settings(n_ctx=512, chunk_size=upper + 1)
    with pytest.raises(SettingsError, match="n_ctx 300 is too small"):
        load_settings(n_ctx=300)
