"""``assistant bench`` runs end to end with the fake backends and writes every figure (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assistant.cli import app

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Who invited Min Aung Hlaing to Russia?",
    "How did the Global New Light of Myanmar describe the trip?",
    "What is the capital of Peru?",
]
ANSWER_FIGURES = ("first_output_s", "total_s")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict]:
    tmp = tmp_path_factory.mktemp("bench")
    questions = tmp / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": q, "answerable": i < 2}) + "\n"
                                 for i, q in enumerate(QUESTIONS)), encoding="utf-8")
    out = tmp / "out"
    result = CliRunner().invoke(app, [
        "bench", "--quick", "--llm", "fake", "--embedding", "fake", "--questions", str(questions),
        "--corpus", str(ROOT / "assistant"), "--out", str(out), "--data-dir", str(tmp / "data"),
        "--cache", str(tmp / "cache.sqlite")])
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "bench.json").read_text(encoding="utf-8"))


def test_bench_reports_every_answer_figure_and_ratios_from_them(bench_run: tuple[object, dict]) -> None:
    result, data = bench_run
    answers = data["answers"]
    assert set(answers) == {"plain_chain", "extractive", "auto", "generative"}
    plain = answers["plain_chain"]
    for name, row in answers.items():
        for what in ANSWER_FIGURES:
            assert row[what]["n"] == 3, (name, what)
            assert 0 < row[what]["p50"] <= row[what]["p95"], (name, what)
        assert len(row["samples"]["total"]) == 3
    for mode in ("extractive", "auto", "generative"):
        for what in ANSWER_FIGURES:
            for p in ("p50", "p95"):
                assert answers[mode]["ratio_to_plain"][f"{what}_{p}"] == pytest.approx(
                    answers[mode][what][p] / plain[what][p])
    assert "plain_chain" in result.output and "assistant/plain" in result.output


def test_bench_reports_every_scale_figure_at_each_size(bench_run: tuple[object, dict]) -> None:
    _, data = bench_run
    rows = data["scale"]
    assert [r["size"] for r in rows] == [100, 200]
    for r in rows:
        assert r["complete"] and r["indexed"] == r["size"]
        assert r["chunks_per_s"] == pytest.approx(r["step_chunks"] / r["step_index_s"])
        assert r["embed_share"] == pytest.approx(r["step_embed_s"] / r["step_index_s"])
        assert 0 < r["embed_share"] <= 1
        for key in ("hybrid_s", "dense_s"):
            assert r["retrieval"][key]["n"] == 3 and r["retrieval"][key]["p95"] >= r["retrieval"][key]["p50"] > 0
        assert r["rss_mb"] > 0 and r["disk_mb"] > 0
    assert rows[0]["step_chunks"] == 100 and rows[1]["step_chunks"] == 100  # the second size adds, not redoes
    assert data["corpus"]["files_read"] >= 1 and data["meta"]["load_before"]
    if isinstance(data["charts"], list):  # matplotlib installed: one PNG per curve
        assert set(data["charts"]) == {"answers.png", "retrieval.png", "throughput.png", "rss.png", "disk.png",
                                       "concurrency_throughput.png", "concurrency_p95.png"}


def test_bench_runs_concurrent_users_through_the_http_api(bench_run: tuple[object, dict]) -> None:
    result, data = bench_run
    load = data["concurrency"]
    assert set(load) == {"extractive", "generative"}
    for mode, rows in load.items():
        assert [r["users"] for r in rows] == [1, 2]
        for r in rows:
            assert r["errors"] == 0, r["error_samples"]
            assert r["answers"] > 0 and r["answers_per_s"] == pytest.approx(r["answers"] / r["seconds"])
            assert 0 < r["latency_s"]["p50"] <= r["latency_s"]["p95"]
            assert "queue_positions" in r and "retry_after_s" in r
    assert "2 users" in result.output


def test_a_second_scale_run_reads_every_vector_from_the_cache(tmp_path: Path) -> None:
    from assistant.bench import bench_scale, corpus_chunks
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    settings = load_settings(llm_backend="fake", embedding_backend="fake")
    chunks, _ = corpus_chunks(ROOT / "assistant", build_chunker(settings), 60)
    cache = tmp_path / "cache" / "vectors.sqlite"
    first = bench_scale(chunks, [30, 60], settings, QUESTIONS, tmp_path / "a", budget_s=600, cache=cache)
    again = bench_scale(chunks, [30, 60], settings, QUESTIONS, tmp_path / "b", budget_s=600, cache=cache)
    assert [r["embedded"] for r in first] == [30, 30] and [r["from_cache"] for r in first] == [0, 0]
    assert [r["embedded"] for r in again] == [0, 0] and [r["from_cache"] for r in again] == [30, 30]
    assert all(r["indexed"] == r["size"] for r in again)
    assert again[0]["embed_rate_source"] == "cache record" and again[0]["embed_chunks_per_s"] > 0


def test_cached_vectors_equal_computed_ones(tmp_path: Path) -> None:
    from index.embedding_cache import CachedEmbeddings
    from index.embeddings import FakeEmbeddings

    texts = ["one passage", "another passage", "one passage"]
    computed = FakeEmbeddings().embed_documents(texts)
    cache = CachedEmbeddings(FakeEmbeddings(), tmp_path / "v.sqlite")
    assert np.allclose(cache.embed_documents(texts), computed, atol=1e-6) and cache.misses == 2
    again = CachedEmbeddings(FakeEmbeddings(), tmp_path / "v.sqlite")
    assert np.allclose(again.embed_documents(texts[::-1]), computed[::-1], atol=1e-6) and again.misses == 0


def test_corpus_skips_sphinx_source_folders(tmp_path: Path) -> None:
    from assistant.bench import corpus_chunks
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    (tmp_path / "_sources").mkdir()
    (tmp_path / "page.html").write_text("<html><body><div class='body'><p>The page text.</p></div></body></html>")
    (tmp_path / "_sources" / "page.rst.txt").write_text("The page text.")
    _, meta = corpus_chunks(tmp_path, build_chunker(load_settings(embedding_backend="fake")), 100)
    assert meta["files_read"] == 1 and meta["files_found"] == 1


def test_several_corpus_folders_are_read_in_turn_with_distinct_sources(tmp_path: Path) -> None:
    from assistant.bench import corpus_chunks
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    for name, words in (("python3", "Python pages"), ("linux-doc", "Kernel pages")):
        (tmp_path / name / "html").mkdir(parents=True)
        (tmp_path / name / "html" / "index.html").write_text(
            f"<html><body><div class='body'><p>{words} explain this.</p></div></body></html>")
    folders = [tmp_path / "python3" / "html", tmp_path / "linux-doc" / "html"]
    chunks, meta = corpus_chunks(folders, build_chunker(load_settings(embedding_backend="fake")), 100)
    assert [c.source for c in chunks] == ["python3/html/index.html", "linux-doc/html/index.html"]
    assert [c.text for c in chunks] == ["Python pages explain this.", "Kernel pages explain this."]
    assert meta["files_read"] == 2 and meta["files_found"] == 2
    one, _ = corpus_chunks(folders[:1], build_chunker(load_settings(embedding_backend="fake")), 1)
    assert [c.source for c in one] == ["index.html"]  # one folder: sources relative to it, as before


def test_text_workers_give_the_same_chunks_in_the_same_order(tmp_path: Path) -> None:
    from assistant.bench import corpus_chunks
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    for n in range(12):
        body = " ".join(f"Page {n} sentence {k} says something about topic {n * k}." for k in range(40))
        (tmp_path / f"p{n:02d}.html").write_text(f"<html><body><div class='body'><p>{body}</p></div></body></html>")
    chunker = build_chunker(load_settings(embedding_backend="fake"))
    one, meta_one = corpus_chunks(tmp_path, chunker, 25)
    two, meta_two = corpus_chunks(tmp_path, chunker, 25, workers=2)
    assert len(one) == 25 and [(c.source, c.text) for c in two] == [(c.source, c.text) for c in one]
    assert meta_two["files_read"] == meta_one["files_read"] < 12  # stopped at the limit in both
    assert meta_two["text_workers"] == 2


def test_compare_prints_the_ratio_of_each_figure(tmp_path: Path) -> None:
    a = {"meta": {"load_before": [1]}, "scale": [{"size": 1000, "chunks_per_s": 10.0, "retrieval": {"p50": 0.02}}]}
    b = {"meta": {"load_before": [3]}, "scale": [{"size": 1000, "chunks_per_s": 15.0, "retrieval": {"p50": 0.01}}]}
    for name, run in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(run))
    result = CliRunner().invoke(app, ["bench", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    assert "scale[size=1000].chunks_per_s: 10 -> 15 (x1.500)" in result.output
    assert "scale[size=1000].retrieval.p50: 0.02 -> 0.01 (x0.500)" in result.output
    assert "load_before" not in result.output


def test_bench_refuses_bad_sizes_with_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--sizes", "1k", "--llm", "fake", "--embedding", "fake",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--sizes" in result.output and "Traceback" not in result.output


def test_bench_stops_indexing_at_the_time_budget_and_extrapolates(tmp_path: Path) -> None:
    from assistant.bench import bench_scale
    from assistant.composition import build_chunker
    from assistant.bench import corpus_chunks
    from assistant.settings import load_settings

    settings = load_settings(llm_backend="fake", embedding_backend="fake")
    chunks, _ = corpus_chunks(ROOT / "assistant", build_chunker(settings), 200)
    rows = bench_scale(chunks, [100, 200], settings, QUESTIONS, tmp_path, budget_s=0.0)
    assert len(rows) == 1 and not rows[0]["complete"]
    assert 0 < rows[0]["indexed"] < 100
    assert rows[0]["extrapolated_index_s"] == pytest.approx(100 / rows[0]["chunks_per_s"])


def test_extrapolation_with_cached_vectors_adds_the_models_time_to_each_chunks_write_time() -> None:
    from assistant.bench import _extrapolate

    # the 100k step of a run: 38,286 chunks in 838 s, 28,721 of them from the cache, 569 s embedding
    # the other 9,565 (16.8 chunks/s): 7.0 ms per chunk outside embedding + 59.5 ms per embedding
    seconds = _extrapolate(100_000, 38_286 / 838, 28_721, 9_565 / 569, 569.0, 838.0, False, 38_286)
    assert seconds == pytest.approx(100_000 * ((838 - 569) / 38_286 + 569 / 9_565))
    assert 6_500 < seconds < 6_700  # not 100,000 / 16.8 / (569 / 838) = 8,765 s (the cache dilutes the share)


def test_a_size_beyond_the_corpus_is_indexed_to_its_end_and_extrapolated(tmp_path: Path) -> None:
    from assistant.bench import bench_scale, corpus_chunks
    from assistant.composition import build_chunker
    from assistant.settings import load_settings

    settings = load_settings(llm_backend="fake", embedding_backend="fake")
    chunks, _ = corpus_chunks(ROOT / "assistant", build_chunker(settings), 80)
    rows = bench_scale(chunks, [40, 100_000, 200_000], settings, QUESTIONS, tmp_path, budget_s=600)
    assert len(rows) == 2  # the third size is the same corpus again: not measured
    last = rows[1]
    assert last["corpus_exhausted"] and last["indexed"] == last["available"] == 80
    assert last["extrapolated_index_s"] == pytest.approx(100_000 / last["chunks_per_s"])
