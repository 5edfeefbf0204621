"""What ``assistant eval`` does, separated from its Typer signature (:mod:`assistant.evaluation.cli`).

The input file is a question set or a claim set, told apart by its rows
(:func:`assistant.evaluation.dataset.detect_set_kind`): a question set is asked through the assistant
(:func:`run_eval`), a claim set is decided by its verifier (:func:`assistant.evaluation.claims.run_claims`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from assistant.evaluation.aggregate import MetricValue


class UsageError(ValueError):
    """Bad options or input files (exit code 2)."""


class RunError(RuntimeError):
    """The assistant cannot run: model, index or prompt unavailable (exit code 1)."""


@dataclass
class EvalRequest:
    """The options of one ``assistant eval FILE`` run (see ``assistant eval --help``).

    ``questions`` is the input file: a question set or a claim set.
    """

    questions: Path
    out: Path | None = None
    top_k: int | None = None
    strict: bool = False
    fail_under: list[str] = field(default_factory=list)
    fail_over: list[str] = field(default_factory=list)
    thresholds: Path | None = None
    sources: list[Path] = field(default_factory=list)
    judge_model: str | None = None
    judge_base_url: str | None = None
    profile: str | None = None
    data_dir: Path | None = None
    llm: str | None = None
    embedding: str | None = None


def _err() -> Console:
    return Console(stderr=True)


def _gates(req: EvalRequest) -> list:  # noqa: ANN202 - list[Threshold]
    from assistant.evaluation.thresholds import ThresholdError, load_thresholds, parse_assignment

    try:
        gates = [parse_assignment(t, "min") for t in req.fail_under] + [parse_assignment(t, "max") for t in req.fail_over]
        return gates + (load_thresholds(req.thresholds) if req.thresholds else [])
    except ThresholdError as exc:
        raise UsageError(str(exc)) from None


def _settings(req: EvalRequest):  # noqa: ANN202 - Settings
    from assistant.settings import SettingsError, load_settings

    from index.offline import stay_offline

    stay_offline()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return load_settings(req.profile, data_dir=req.data_dir, llm_backend=req.llm,
                             embedding_backend=req.embedding, top_k=req.top_k)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def _known_errors() -> tuple[type[Exception], ...]:
    from assistant.llm import ModelUnavailableError
    from assistant.prompting import PromptNotFoundError
    from index.errors import IndexingError

    return (IndexingError, ModelUnavailableError, PromptNotFoundError)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=_err())


def _summary_table(metrics: dict[str, MetricValue]) -> Table:
    table = Table(title="assistant eval", title_justify="left")
    for col in ("metric", "value", "95% interval", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, m in metrics.items():
        if m.value is None:
            table.add_row(name, "n/a", "-", "0")
            continue
        fmt = "{:.2f}s" if m.unit == "s" else "{:.3f}"
        table.add_row(name + (" [judge]" if m.judge else ""), fmt.format(m.value),
                      f"{fmt.format(m.ci95[0])}-{fmt.format(m.ci95[1])}", str(m.n))
    return table


def _check_gates_apply(gates: list, set_kind: str, path: Path) -> None:  # noqa: ANN001 - list[Threshold]
    """A gate on a metric the set cannot measure (a claim metric on questions, or the reverse) is a usage error."""
    from assistant.evaluation.specs import spec_for

    for gate in gates:
        spec = spec_for(gate.metric)
        if spec is not None and spec.applies_to != set_kind:
            have = "claim set" if set_kind == "claims" else "question set"
            raise UsageError(f"{gate.origin}: {gate.metric} is measured on {spec.applies_to.removesuffix('s')} sets, "
                             f"and {path} is a {have}")


def _out_dir(req: EvalRequest) -> Path:
    out = req.out or Path("artifacts") / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:  # before the run, so that an unwritable --out does not waste it
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the directory ({exc.strerror})") from None
    return out


def _report_gates(gates: list, metrics: dict[str, MetricValue]) -> int:  # noqa: ANN001 - list[Threshold]
    from assistant.evaluation.thresholds import violations

    failed = violations(gates, metrics)
    for v in failed:
        _err().print(f"[red]Threshold failed:[/] {v}", highlight=False)
    return 1 if failed else 0


def run_eval(req: EvalRequest) -> int:
    """Run the evaluation of a question set or a claim set, write the outputs, print a summary, apply the gates.

    Returns:
        0, or 1 when a gate fails.

    Raises:
        UsageError: bad options, input file (including one that mixes questions and claims), or
            ``--source`` file.
        RunError: the model, index or prompt cannot be used.
    """
    from assistant.evaluation.dataset import DatasetError, detect_set_kind

    gates = _gates(req)
    try:
        set_kind = detect_set_kind(req.questions)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    _check_gates_apply(gates, set_kind, req.questions)
    if set_kind == "claims":
        return _run_claim_set(req, gates)
    return _run_question_set(req, gates)


def _load_set(load, req: EvalRequest, err):  # noqa: ANN001, ANN202 - a loader and its set, a rich Console
    """Load a question or claim set with ``load``; malformed lines are reported and skipped.

    Raises:
        UsageError: the file cannot be used (or a malformed line with ``--strict``).
    """
    from assistant.evaluation.dataset import DatasetError

    try:
        loaded = load(req.questions, strict=req.strict)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    for e in loaded.errors:
        err.print(f"[yellow]Skipped malformed line[/] {req.questions}:{e.line}: {e.message}", markup=True, highlight=False)
    return loaded


def _run_question_set(req: EvalRequest, gates: list) -> int:  # noqa: ANN001 - list[Threshold]
    from assistant.composition import build_assistant, build_store, ensure_indexed
    from assistant.evaluation.aggregate import aggregate
    from assistant.evaluation.dataset import load_questions
    from assistant.evaluation.outputs import write_metrics, write_results
    from assistant.evaluation.report import write_report
    from assistant.evaluation.runner import run_questions
    from assistant.evaluation.sources import SourceTexts
    from assistant.evaluation.specs import PER_KIND_PREFIX
    from index.errors import DocumentError

    err = _err()
    qset = _load_set(load_questions, req, err)
    kinds = {q.kind for q in qset.questions}
    for gate in gates:  # a per-kind gate on a kind the set does not have could never be measured
        kind = gate.metric.removeprefix(PER_KIND_PREFIX)
        if gate.metric.startswith(PER_KIND_PREFIX) and kind not in kinds:
            raise UsageError(f"{gate.origin}: no question of kind {kind!r} in {req.questions} "
                             f"(kinds: {', '.join(sorted(kinds))})")
    settings = _settings(req)
    try:
        sources = SourceTexts.from_files(req.sources).with_stored(settings.documents_dir)
    except DocumentError as exc:
        raise UsageError(f"--source: {exc}") from None
    out = _out_dir(req)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        store = build_store(settings)
        assistant = build_assistant(settings, store=store)
        ensure_indexed(settings, store)
        with err.status("Loading the models"):
            assistant.llm  # noqa: B018 - load before the clock of the first question starts
            assistant.retrieve(qset.questions[0].question)
        with _progress() as bar:
            task = bar.add_task("Asking", total=len(qset.questions))
            rows = run_questions(assistant, qset.questions, sources,
                                 on_result=lambda r: bar.update(task, advance=1, description=f"Asked {r.id}"))
    except _known_errors() as exc:
        raise RunError(str(exc)) from None
    run: dict[str, Any] = {
        "set_kind": "questions", "questions_file": str(req.questions), "questions": len(qset.questions),
        "malformed_lines": [{"line": e.line, "message": e.message} for e in qset.errors],
        "k": settings.top_k, "llm_backend": settings.llm_backend, "model": assistant.model_name,
        "embedding_backend": settings.embedding_backend, "prompt_name": assistant.answer_prompt.id,
        "min_relevance": settings.min_relevance, "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap, "temperature": settings.temperature,
        "started_at": started.isoformat(timespec="seconds"), "duration_s": round(time.perf_counter() - t0, 2),
        "model_calls_total": sum(r.timings.model_calls for r in rows if r.timings),
        "errors": sum(r.error is not None for r in rows), "sources_checked": sources.names(), "judge_model": None,
        "judge_errors": 0,
    }
    _maybe_judge(req, rows, run)
    metrics = aggregate(rows)
    write_results(out / "results.jsonl", rows)
    write_metrics(out / "metrics.json", metrics, run)
    report = write_report(out, rows, metrics, run)
    Console(width=max(Console().width, 100)).print(_summary_table(metrics))
    passed = sum(r.metrics.passed is True for r in rows)
    unscored = sum(r.metrics.passed is None for r in rows)
    note = f" ({unscored} unscored: answerable but without key facts)" if unscored else ""
    typer.echo(f"{passed}/{len(rows)} questions passed{note} in {run['duration_s']:.1f} s. Report: {report}")
    return _report_gates(gates, metrics)


def _run_claim_set(req: EvalRequest, gates: list) -> int:  # noqa: ANN001 - list[Threshold]
    """A claim set: retrieve for each claim, let the verifier decide, grade against the labels."""
    from assistant.composition import build_assistant, build_store, ensure_indexed
    from assistant.evaluation.claims import aggregate_claims, load_claims, run_claims, types_by_label
    from assistant.evaluation.outputs import write_metrics, write_results
    from assistant.evaluation.report import write_claims_report
    from assistant.evaluation.specs import ACCEPT_TYPE_PREFIX, CATCH_TYPE_PREFIX

    err = _err()
    cset = _load_set(load_claims, req, err)
    types = types_by_label(cset.claims)
    for gate in gates:  # a per-type gate on a type the set does not have could never be measured
        for prefix, label in ((CATCH_TYPE_PREFIX, "unsupported"), (ACCEPT_TYPE_PREFIX, "supported")):
            t = gate.metric.removeprefix(prefix)
            if gate.metric.startswith(prefix) and t not in types[label]:
                raise UsageError(f"{gate.origin}: no {label} claim of type {t!r} in {req.questions} "
                                 f"({label} types: {', '.join(sorted(types[label])) or 'none'})")
    if req.judge_model or req.sources:
        err.print("[yellow]--judge-model and --source apply to question sets; ignored for a claim set[/]")
    settings = _settings(req)
    out = _out_dir(req)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        store = build_store(settings)
        assistant = build_assistant(settings, store=store)
        ensure_indexed(settings, store)
        with err.status("Loading the embedding model"):
            assistant.retrieve(cset.claims[0].claim)
        with _progress() as bar:
            task = bar.add_task("Verifying", total=len(cset.claims))
            rows = run_claims(assistant, cset.claims,
                              on_result=lambda r: bar.update(task, advance=1, description=f"Verified {r.id}"))
    except _known_errors() as exc:
        raise RunError(str(exc)) from None
    verifier = type(assistant.verifier)
    run: dict[str, Any] = {
        "set_kind": "claims", "claims_file": str(req.questions), "claims": len(cset.claims),
        "malformed_lines": [{"line": e.line, "message": e.message} for e in cset.errors],
        "k": settings.top_k, "embedding_backend": settings.embedding_backend,
        "verifier": f"{verifier.__module__}.{verifier.__qualname__}",
        "min_relevance": settings.min_relevance, "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "started_at": started.isoformat(timespec="seconds"), "duration_s": round(time.perf_counter() - t0, 2),
    }
    metrics = aggregate_claims(rows)
    write_results(out / "results.jsonl", rows)
    write_metrics(out / "metrics.json", metrics, run)
    report = write_claims_report(out, rows, metrics, run)
    Console(width=max(Console().width, 100)).print(_summary_table(metrics))
    correct = sum(r.correct for r in rows)
    typer.echo(f"{correct}/{len(rows)} claims judged as labelled in {run['duration_s']:.1f} s. Report: {report}")
    return _report_gates(gates, metrics)


def _maybe_judge(req: EvalRequest, rows: list, run: dict[str, Any]) -> None:  # noqa: ANN001
    from assistant.evaluation.judge import JudgeConfig, JudgeUnavailableError, judge_rows

    config = JudgeConfig.resolve(req.judge_model, req.judge_base_url)
    if config is None:
        return
    err = _err()
    try:
        model = config.build()
    except JudgeUnavailableError as exc:
        err.print(f"[yellow]LLM judge skipped:[/] {exc}", highlight=False)
        return
    failures: list[str] = []
    with _progress() as bar:
        task = bar.add_task("Judging", total=len(rows))
        judge_rows(model, rows, on_error=lambda r, e: failures.append(f"{r.id}: {type(e).__name__}: {e}"),
                   on_done=lambda r: bar.advance(task))
    for f in failures[:3]:
        err.print(f"[yellow]LLM judge error[/] {f}", highlight=False)
    if len(failures) > 3:
        err.print(f"[yellow]... {len(failures) - 3} more judge errors (all in results.jsonl and report.md)[/]")
    run["judge_model"] = config.model
    run["judge_errors"] = len(failures)


def run_compare(a: Path, b: Path) -> None:
    """Print the differences between two runs' ``metrics.json``.

    Raises:
        UsageError: a file is missing or not a metrics.json.
    """
    from assistant.evaluation.compare import print_comparison
    from assistant.evaluation.outputs import RunFileError

    try:
        print_comparison(a, b)
    except RunFileError as exc:
        raise UsageError(str(exc)) from None
