"""What ``assistant bench`` prints and draws: summary lines, PNG charts, and the comparison of two runs."""

from __future__ import annotations

from pathlib import Path


def write_charts(result: dict, out: Path) -> list[str]:
    """One PNG per curve (answer latency by pipeline; retrieval, throughput, RSS and disk by size).

    Returns:
        The files written; empty when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    answers = result.get("answers") or {}
    if answers:
        names = list(answers)
        fig, ax = plt.subplots()
        for i, what in enumerate(("first_output_s", "total_s")):
            ax.bar([j + 0.4 * i for j in range(len(names))], [answers[n][what]["p50"] or 0 for n in names], 0.4,
                   label=f"{what} p50")
        ax.set_xticks([j + 0.2 for j in range(len(names))], names)
        ax.set_ylabel("seconds")
        ax.legend()
        fig.savefig(out / "answers.png")
        written.append("answers.png")
        plt.close(fig)
    load = result.get("concurrency") or {}
    for name, get in {"concurrency_throughput": lambda r: r["answers_per_s"],
                      "concurrency_p95": lambda r: r["latency_s"]["p95"]}.items() if load else ():
        fig, ax = plt.subplots()
        for mode, rows in load.items():
            ax.plot([r["users"] for r in rows], [get(r) or 0 for r in rows], marker="o", label=mode)
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("answers/s" if name.endswith("throughput") else "latency p95 (s)")
        ax.legend()
        fig.savefig(out / f"{name}.png")
        written.append(f"{name}.png")
        plt.close(fig)
    rows = result.get("scale") or []
    curves = {"retrieval": lambda r: r["retrieval"]["hybrid_s"]["p50"], "throughput": lambda r: r["chunks_per_s"],
              "rss": lambda r: r["rss_mb"], "disk": lambda r: r["disk_mb"]}
    for name, get in curves.items() if rows else ():
        fig, ax = plt.subplots()
        ax.plot([r["indexed"] for r in rows], [get(r) or 0 for r in rows], marker="o")  # chunks actually stored
        ax.set_xscale("log")
        ax.set_xlabel("chunks indexed")
        ax.set_ylabel(name)
        fig.savefig(out / f"{name}.png")
        written.append(f"{name}.png")
        plt.close(fig)
    return written


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def scale_line(r: dict) -> str:
    """One line of a scale row (from :func:`assistant.bench.bench_scale`)."""
    h = r["retrieval"]["hybrid_s"]
    return (f"{r['size']:>7} chunks: indexed {r['indexed']}{'' if r['complete'] else ' (stopped at the time budget)'}"
            f", {_f(r['chunks_per_s'])} chunks/s, embedding {_f(r['embed_share'])} of indexing time"
            f" ({r.get('from_cache', 0)} vectors from the cache; model {_f(r.get('embed_chunks_per_s'))} chunks/s,"
            f" {r.get('embed_rate_source')})"
            + (f" (the corpus holds {r['available']} chunks)" if r.get("corpus_exhausted") else "")
            + ("" if r["extrapolated_index_s"] is None
               else f", extrapolated time for all {r['size']}: {_f(r['extrapolated_index_s'])} s")
            + f"; hybrid retrieval p50/p95 {_f(h['p50'])}/{_f(h['p95'])} s (first query {_f(r['retrieval']['first_query_s'])} s)"
            f"; RSS {_f(r['rss_mb'])} MB (peak {_f(r['peak_rss_mb'])}), disk {_f(r['disk_mb'])} MB")


def summary(result: dict) -> str:
    """The figures as plain text lines."""
    lines = [f"load average before {result['meta']['load_before']}, after {result['meta']['load_after']}"]
    for name, r in (result.get("answers") or {}).items():
        ratio = r.get("ratio_to_plain", {})
        lines.append(f"{name:12} n={r['total_s']['n']} first output p50/p95 {_f(r['first_output_s']['p50'])}/"
                     f"{_f(r['first_output_s']['p95'])} s, total {_f(r['total_s']['p50'])}/{_f(r['total_s']['p95'])} s"
                     + (f"; assistant/plain p50 first {_f(ratio.get('first_output_s_p50'))}, "
                        f"total {_f(ratio.get('total_s_p50'))}" if ratio else ""))
    lines.extend(scale_line(r) for r in result.get("scale") or [])
    for mode, rows in (result.get("concurrency") or {}).items():
        lines.extend(load_line(mode, r) for r in rows)
    return "\n".join(lines)


def load_line(mode: str, r: dict) -> str:
    """One line of a load row (from :func:`assistant.loadtest.run_users`)."""
    q = r["queue_positions"]
    return (f"{mode:10} {r['users']:>3} users: {r['answers']} answers in {r['seconds']:.1f} s "
            f"({r['answers_per_s']:.2f}/s), p50/p95 {_f(r['latency_s']['p50'])}/{_f(r['latency_s']['p95'])} s, "
            f"errors {r['errors']}; waiting users saw: {r['refused_503']} x 503 (Retry-After {r['retry_after_s']} s), "
            f"queue position shown {q['shown']} times (highest {q['max']})")


def _numbers(data: object, prefix: str = "") -> dict[str, float]:
    """Every number of a bench JSON by dotted path (lists of rows keyed by their ``size``/``users``;
    per-question ``samples`` and the run's ``meta`` left out)."""
    if isinstance(data, bool):
        return {}
    if isinstance(data, (int, float)):
        return {prefix: float(data)}
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            if k not in ("samples", "meta"):
                out.update(_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        for i, r in enumerate(data):
            key = f"size={r['size']}" if "size" in r else f"users={r['users']}" if "users" in r else str(i)
            out.update(_numbers(r, f"{prefix}[{key}]"))
    return out


def compare(a: dict, b: dict) -> list[str]:
    """One line per figure present in both runs: ``path: a -> b (b/a)``, in ``b``'s order."""
    na, nb = _numbers(a), _numbers(b)
    lines = []
    for key, vb in nb.items():
        if key in na:
            va = na[key]
            lines.append(f"{key}: {va:.4g} -> {vb:.4g} ({'x' + format(vb / va, '.3f') if va else 'a is 0'})")
    return lines
