"""The human report, ``report.md``: summary table, plots, then every question, failing ones first.

A claim set gets its own report (:func:`write_claims_report`): the summary, the catch and acceptance
rates per claim type, then every claim, misjudged ones first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.plots import plot_latency, plot_pass_rates
from assistant.evaluation.dataset import must_abstain
from assistant.evaluation.records import ClaimResult, QuestionResult
from assistant.evaluation.specs import ACCEPT_TYPE_PREFIX, ANSWER_KIND_PREFIX, CATCH_TYPE_PREFIX, GROUPS

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
    if must_abstain(row.answerable, row.kind):
        return "answered a question the documents do not answer" if row.kind != "injection" else \
            "followed a request that is not a question about the documents"
    if row.declined:
        return f"declined ({row.abstention_reason or row.answer_kind})"
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
            if m.group != group or name.startswith((CATCH_TYPE_PREFIX, ACCEPT_TYPE_PREFIX, ANSWER_KIND_PREFIX)):
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
    out.append(f"- Answer ({row.answer_kind or 'kind not recorded'}): {_cell(row.answer or '(none)', 800)}")
    if row.metrics.sentences_rejected:
        out.append(f"- Sentences the claim-level check rejects: {row.metrics.sentences_rejected}")
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


def _answer_kinds(metrics: dict[str, MetricValue]) -> list[str]:
    kinds = [(n.removeprefix(ANSWER_KIND_PREFIX), m) for n, m in metrics.items() if n.startswith(ANSWER_KIND_PREFIX)]
    if not kinds:
        return ["Kinds of answer: not recorded by this assistant (`Answer.answer_kind`).", ""]
    lines = ["## Kinds of answer", "", "| answer kind | questions | share | 95% interval |", "|---|---:|---:|---:|"]
    for kind, m in kinds:
        value, ci = _value(m)
        lines.append(f"| {kind} | {m.count} of {m.n} | {value} | {ci} |")
    return lines + [""]


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
        f"**{len(rows) - len(failing)} of {len(rows)} questions passed.** Citation metrics computed "
        "with the product's verifier in place of an NLI model say only what that verifier would accept; "
        "*[judge]* metrics come from an LLM judge and are informative only. Definitions: `docs/evaluation.md`.", "",
        "## Summary", "", *_summary(metrics), "",
        "Verifier agreement (`verifier_*`) is computed by the product's own verifier on sentences it already "
        "kept: it is agreement with the verifier, not faithfulness, and is never a gate. Measure the verifier "
        "on a labelled claim set (`claims-dev.jsonl`) instead; `answer_accuracy` re-checks every shown "
        "sentence as a claim.", "",
        *_answer_kinds(metrics),
        "## Plots", "", f"![Pass rate per kind]({PASS_PLOT})", "", f"![Latency]({LATENCY_PLOT})", "",
        "## Questions (failing first)", "",
        "| result | id | kind | question | answer | answer kind | why it failed | total s |",
        "|---|---|---|---|---|---|---|---:|",
    ]
    for r in ordered:
        total = f"{r.timings.total_s:.2f}" if r.timings else "-"
        lines.append(f"| {'pass' if r.metrics.passed else '**FAIL**'} | {r.id} | {r.kind} | {_cell(r.question, 90)} "
                     f"| {_cell(r.answer, 120)} | {r.answer_kind or '-'} | {_cell(why_failed(r), 100)} | {total} |")
    lines += ["", "## Failing questions in detail", ""]
    for r in failing:
        lines += _detail(r)
    if not failing:
        lines += ["None.", ""]
    judge_errors = [(r.id, e) for r in rows for e in r.judge_errors]
    if judge_errors:
        lines += ["## Judge errors", "", f"{len(judge_errors)} LLM-judge replies were unreadable or failed; those "
                  "verdicts are left out of the *[judge]* metrics (`judge.error_rate`).", ""]
        lines += [f"- {rid}: {_cell(e, 300)}" for rid, e in judge_errors] + [""]
    if malformed:
        lines += ["## Malformed lines (skipped)", ""] + [f"- line {e['line']}: {_cell(e['message'], 300)}" for e in malformed]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _type_table(rows: list[ClaimResult], metrics: dict[str, MetricValue]) -> list[str]:
    lines = ["| label | type | rate | judged as labelled | 95% interval |", "|---|---|---|---:|---:|"]
    for label, prefix, rate in (("unsupported", CATCH_TYPE_PREFIX, "catch"), ("supported", ACCEPT_TYPE_PREFIX, "acceptance")):
        for name, m in metrics.items():
            if not name.startswith(prefix):
                continue
            t = name.removeprefix(prefix)
            group = [r for r in rows if r.label == label and r.type == t]
            value, ci = _value(m)
            lines.append(f"| {label} | {t} | {rate} | {sum(r.correct for r in group)}/{len(group)} ({value}) | {ci} |")
    return lines


def _verdict(r: ClaimResult) -> str:
    if r.supported:
        return f"accepted: [{r.passage_id}] {r.source}:{r.start}-{r.end} “{_cell(r.quote or '', 200)}”"
    return f"rejected: {_cell(r.reason, 200)}"


def write_claims_report(out_dir: Path, rows: list[ClaimResult], metrics: dict[str, MetricValue],
                        run: dict[str, Any]) -> Path:
    """Write ``report.md`` of a claim set: summary, rates per claim type, then claims, misjudged first.

    Args:
        out_dir: Existing directory.
        rows: Verdicts in claim order.
        metrics: Aggregates (:func:`assistant.evaluation.claims.aggregate_claims`).
        run: Run information (file, k, verifier, durations, malformed lines).

    Returns:
        Path of ``report.md``.
    """
    wrong = [r for r in rows if not r.correct]
    malformed = run.get("malformed_lines") or []
    lines = [
        "# Verifier evaluation on labelled claims", "",
        f"Claims: `{run.get('claims_file')}` ({len(rows)} verified, {len(malformed)} malformed lines skipped). "
        f"Verifier: `{run.get('verifier')}`; passages retrieved for each claim text with k = {run.get('k')} "
        f"(embeddings: {run.get('embedding_backend')}). Started {run.get('started_at')}, "
        f"took {run.get('duration_s', 0):.1f} s.", "",
        f"**{len(rows) - len(wrong)} of {len(rows)} claims judged as labelled.** The catch rate is the "
        "verifier's specificity (unsupported claims rejected), the acceptance rate its sensitivity "
        "(supported claims accepted). Definitions: `docs/evaluation.md`.", "",
        "## Summary", "", *_summary(metrics), "",
        "## Per claim type", "", *_type_table(rows, metrics), "",
        "## Claims (misjudged first)", "",
        "| result | id | label | type | claim | verdict |", "|---|---|---|---|---|---|",
    ]
    for r in wrong + [r for r in rows if r.correct]:
        lines.append(f"| {'ok' if r.correct else '**WRONG**'} | {r.id} | {r.label} | {r.type} | {_cell(r.claim, 140)} "
                     f"| {_cell(_verdict(r), 220)} |")
    lines += ["", "## Misjudged claims in detail", ""]
    for r in wrong:
        retrieved = ", ".join(f"[{p.passage_id}] {p.chunk_id} {p.score:.3f}{' hit' if p.hit else ''}" for p in r.retrieved)
        lines += [f"### {r.id} ({r.label}, {r.type})", "", f"- Claim: {_cell(r.claim, 500)}",
                  f"- Verdict: {_verdict(r)}"]
        if r.evidence:
            lines.append("- Evidence: " + "; ".join(f"“{_cell(e, 200)}”" for e in r.evidence))
        lines += [f"- Retrieved: {retrieved or '(nothing)'}", ""]
    if not wrong:
        lines += ["None.", ""]
    if malformed:
        lines += ["## Malformed lines (skipped)", ""] + [f"- line {e['line']}: {_cell(e['message'], 300)}" for e in malformed]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
