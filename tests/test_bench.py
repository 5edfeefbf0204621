"""``assistant bench`` runs end to end with the fake backends and writes every figure (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

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
        "bench", "--llm", "fake", "--embedding", "fake", "--questions", str(questions), "--limit", "3",
        "--corpus", str(ROOT / "assistant"), "--sizes", "100,200", "--queries", "3", "--out", str(out),
        "--data-dir", str(tmp / "data")])
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
        assert set(data["charts"]) == {"answers.png", "retrieval.png", "throughput.png", "rss.png", "disk.png"}


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
