"""``assistant eval --compare A/metrics.json B/metrics.json``: differences metric by metric."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.outputs import read_metrics
from assistant.evaluation.specs import GROUPS

#: Run settings shown side by side when they differ (a difference makes metrics hard to compare).
_RUN_KEYS = ("set_kind", "questions_file", "questions", "claims_file", "claims", "verifier", "k", "llm_backend", "model", "embedding_backend", "prompt_name",
             "min_relevance", "chunk_size", "chunk_overlap")


def _fmt(m: MetricValue | None) -> str:
    if m is None or m.value is None:
        return "-"
    return f"{m.value:.3f}{m.unit} (n={m.n})"


#: Below this n a bootstrap or Wilson interval says little; differences are flagged, not ranked.
MIN_N = 5


def verdict(a: MetricValue | None, b: MetricValue | None) -> str:
    """``better``, ``worse``, ``same``, or ``-`` (not measured on one side), judged by the metric's direction.

    "same" means equal to 4 significant digits; the report says nothing about significance, but
    ``overlap`` marks differences whose 95% intervals overlap, and a side measured on fewer than
    :data:`MIN_N` items is marked as too few to tell (a bootstrap interval of 2 values collapses and
    would not show the overlap).
    """
    if a is None or b is None or a.value is None or b.value is None:
        return "-"
    if f"{a.value:.4g}" == f"{b.value:.4g}":
        return "same"
    up = b.value > a.value
    word = "better" if up == b.higher_is_better else "worse"
    if min(a.n, b.n) < MIN_N:
        word += f" (n<{MIN_N}: too few to tell)"
    elif a.ci95 and b.ci95 and a.ci95[0] <= b.ci95[1] and b.ci95[0] <= a.ci95[1]:
        word += " (overlap)"
    return word


def compare_table(path_a: str | Path, path_b: str | Path) -> tuple[Table, list[str]]:
    """Build the comparison.

    Returns:
        (a rich table with metric, A, B, B - A, verdict; lines describing run settings that differ).

    Raises:
        assistant.evaluation.outputs.RunFileError: a file cannot be read.
    """
    ma, ra = read_metrics(path_a)
    mb, rb = read_metrics(path_b)
    names = list(ma) + [n for n in mb if n not in ma]
    order = {g: i for i, g in enumerate(GROUPS)}
    names.sort(key=lambda n: order.get((ma.get(n) or mb[n]).group, len(order)))
    table = Table(title=f"A = {path_a}\nB = {path_b}", title_justify="left")
    for col in ("metric", "A", "B", "B - A", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    for n in names:
        a, b = ma.get(n), mb.get(n)
        delta = f"{b.value - a.value:+.3f}" if a and b and a.value is not None and b.value is not None else "-"
        table.add_row(n + (" [judge]" if (a or b).judge else ""), _fmt(a), _fmt(b), delta, verdict(a, b))
    notes = [f"{k}: A={ra.get(k)!r} B={rb.get(k)!r}" for k in _RUN_KEYS if ra.get(k) != rb.get(k)]
    return table, notes


def print_comparison(path_a: str | Path, path_b: str | Path, console: Console | None = None) -> None:
    """Print :func:`compare_table` (and the differing run settings) to ``console`` (default stdout)."""
    if console is None:
        console = Console(width=max(Console().width, 120))  # wide enough not to wrap the metric names
    table, notes = compare_table(path_a, path_b)
    console.print(table)
    if notes:
        console.print("Runs differ in: " + "; ".join(notes))
