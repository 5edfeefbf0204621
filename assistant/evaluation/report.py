"""The human report, ``report.md``: summary table, plots, then every question, failing ones first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.plots import plot_latency, plot_pass_rates
from assistant.evaluation.records import QuestionResult
from assistant.evaluation.specs import GROUPS

PASS_PLOT = "pass_rates.png"
LATENCY_PLOT = "latency.png"


def _cell(text: object, limit: int = 160) -> str:
    s = " ".join(str(text).split())
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("|", "\\|")


def _value(m: MetricValue) -> tuple[str, str]:
    if m.value is None:
        return "n/a", "-"
    fmt = "{:.2f} s" if m.unit == "s" else "{:.3f}"
    lo, hi = m.ci95 or (m.value, m.value)
    return fmt.format(m.value), f"{fmt.format(lo)} – {fmt.format(hi)}"


def why_failed(row: QuestionResult) -> str:
    """A one-line reason a question failed (empty when it passed)."""
    if row.metrics.passed:
        return ""
    if row.metrics.passed is None and not row.error:
        return "unscored: answerable, but the question lists no key facts to check"
    if row.error:
        return f"error: {row.error}"
    if not row.answerable and row.kind != "false_premise":
        return "answered a question the documents do not answer"
    if row.abstained:
        return f"abstained ({row.abstention_reason})"
    if row.metrics.missing_key_facts:
        return "missing key facts: " + ", ".join(row.metrics.missing_key_facts)
    bad = [c for c in row.citations if not c.valid]
    if bad:
        return "invalid citation: " + bad[0].problem
    return "answer not grounded in valid citations"


def _summary(metrics: dict[str, MetricValue]) -> list[str]:
    lines = ["| metric | value | 95% interval | n | better | interval |", "|---|---:|---:|---:|---|---|"]
    for group in GROUPS:
        for name, m in metrics.items():
            if m.group != group:
                continue
            value, ci = _value(m)
            arrow = "higher" if m.higher_is_better else "lower"
            lines.append(f"| {_cell(m.label)} (`{name}`) | {value} | {ci} | {m.n} | {arrow} | {m.interval} |")
    return lines


def _detail(row: QuestionResult) -> list[str]:
    out = [f"### {row.id} ({row.kind}): {why_failed(row) or 'passed'}", "",
           f"- Question: {_cell(row.question, 500)}",
           f"- Reference answer: {_cell(row.reference_answer, 500)}"]
    if row.key_facts:
        out.append(f"- Key facts: {', '.join(row.key_facts)}")
    out.append(f"- Answer: {_cell(row.answer or '(none)', 800)}")
    if row.raw_answer and row.raw_answer.strip() != row.answer.strip():
        out.append(f"- Model's raw output: {_cell(row.raw_answer, 800)}")
    for r in row.removed:
        out.append(f"- Removed by the verifier: {_cell(r.text, 300)} ({_cell(r.reason)})")
    for c in row.citations:
        status = "valid" if c.valid else f"INVALID: {c.problem}"
        out.append(f"- Citation [{c.passage_id}] {c.source}:{c.start}-{c.end} ({status}): “{_cell(c.quote, 300)}”")
    retrieved = ", ".join(f"[{p.passage_id}] {p.chunk_id} {p.score:.3f}{' hit' if p.hit else ''}" for p in row.retrieved)
    out += [f"- Retrieved: {retrieved or '(nothing)'}", ""]
    return out


def write_report(out_dir: Path, rows: list[QuestionResult], metrics: dict[str, MetricValue],
                 run: dict[str, Any]) -> Path:
    """Write ``report.md`` and its two PNG plots into ``out_dir``.

    Args:
        out_dir: Existing directory.
        rows: Scored questions in question order.
        metrics: Aggregates (:func:`assistant.evaluation.aggregate.aggregate`).
        run: Run information (file, model, k, durations, malformed lines).

    Returns:
        Path of ``report.md``.
    """
    plot_pass_rates(metrics, out_dir / PASS_PLOT)
    plot_latency(rows, out_dir / LATENCY_PLOT)
    failing = [r for r in rows if not r.metrics.passed]
    ordered = failing + [r for r in rows if r.metrics.passed]
    malformed = run.get("malformed_lines") or []
    lines = [
        "# Evaluation report", "",
        f"Questions: `{run.get('questions_file')}` ({len(rows)} asked, {len(malformed)} malformed lines skipped). "
        f"Model: {run.get('model')} ({run.get('llm_backend')}); embeddings: {run.get('embedding_backend')}; "
        f"k = {run.get('k')}; prompt: {run.get('prompt_name')}. Started {run.get('started_at')}, "
        f"took {run.get('duration_s', 0):.1f} s; {run.get('model_calls_total', 0)} model calls.", "",
        f"**{len(rows) - len(failing)} of {len(rows)} questions passed.** Metrics marked *proxy* use the "
        "project's lexical verifier in place of an NLI model; *[judge]* metrics come from an LLM judge and "
        "are informative only. Definitions: `docs/evaluation.md`.", "",
        "## Summary", "", *_summary(metrics), "",
        "## Plots", "", f"![Pass rate per kind]({PASS_PLOT})", "", f"![Latency]({LATENCY_PLOT})", "",
        "## Questions (failing first)", "",
        "| result | id | kind | question | answer | why it failed | total s |", "|---|---|---|---|---|---|---:|",
    ]
    for r in ordered:
        total = f"{r.timings.total_s:.2f}" if r.timings else "-"
        lines.append(f"| {'pass' if r.metrics.passed else '**FAIL**'} | {r.id} | {r.kind} | {_cell(r.question, 90)} "
                     f"| {_cell(r.answer, 120)} | {_cell(why_failed(r), 100)} | {total} |")
    lines += ["", "## Failing questions in detail", ""]
    for r in failing:
        lines += _detail(r)
    if not failing:
        lines += ["None.", ""]
    if malformed:
        lines += ["## Malformed lines (skipped)", ""] + [f"- line {e['line']}: {_cell(e['message'], 300)}" for e in malformed]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
