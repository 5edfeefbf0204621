"""The report's figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.records import QuestionResult
from assistant.evaluation.specs import PER_KIND_PREFIX


def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _horizontal() -> dict[str, object]:
    """Keyword for a horizontal box plot: ``orientation`` since matplotlib 3.10, ``vert`` before."""
    import matplotlib

    major, minor = (int(x) for x in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def plot_pass_rates(metrics: dict[str, MetricValue], path: Path) -> None:
    """Bar chart of the pass rate per question kind, with Wilson 95% error bars and n under each bar.

    Args:
        metrics: Aggregates holding ``pass_rate.<kind>`` entries.
        path: PNG file to write.
    """
    plt = _pyplot()
    kinds = [(k[len(PER_KIND_PREFIX):], m) for k, m in metrics.items()
             if k.startswith(PER_KIND_PREFIX) and m.value is not None]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(kinds) + 1.5), 3.4))
    values = [m.value for _, m in kinds]
    low = [m.value - m.ci95[0] for _, m in kinds]
    high = [m.ci95[1] - m.value for _, m in kinds]
    ax.bar(range(len(kinds)), values, yerr=[low, high], capsize=4, color="#4878a8")
    ax.set_xticks(range(len(kinds)), [f"{k}\n(n={m.n})" for k, m in kinds])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("pass rate")
    ax.set_title("Pass rate per question kind (95% Wilson interval)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(rows: list[QuestionResult], path: Path) -> None:
    """Box plots with the individual points of retrieval time, time to first token and total time.

    Args:
        rows: Scored questions (rows without timings are skipped).
        path: PNG file to write.
    """
    plt = _pyplot()
    timed = [r.timings for r in rows if r.timings is not None]
    series = [
        ("retrieval", [t.retrieval_s for t in timed]),
        ("time to first token", [t.first_token_s for t in timed if t.first_token_s is not None]),
        ("total", [t.total_s for t in timed]),
    ]
    series = [(name, vals) for name, vals in series if vals]
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    if series:
        ax.boxplot([v for _, v in series], showfliers=False, **_horizontal())
        for i, (_, vals) in enumerate(series, start=1):
            ax.scatter(vals, [i] * len(vals), s=12, alpha=0.6, color="#c44e52", zorder=3)
        ax.set_yticks(range(1, len(series) + 1), [f"{n}\n(n={len(v)})" for n, v in series])
    ax.set_xlabel("seconds")
    ax.set_title("Latency per question")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
