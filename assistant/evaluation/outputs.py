"""Reading and writing a run's files: ``results.jsonl`` and ``metrics.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from assistant.evaluation.aggregate import MetricValue
from assistant.evaluation.records import QuestionResult

#: Version of the ``metrics.json`` layout; bumped when keys change meaning.
METRICS_FORMAT = 1


class RunFileError(ValueError):
    """A ``metrics.json`` or ``results.jsonl`` cannot be read; the message names the file."""


def write_results(path: Path, rows: list[BaseModel]) -> None:
    """Write one JSON object per row (UTF-8, non-ASCII kept): question or claim results."""
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(r.model_dump_json() + "\n")


def read_results(path: Path) -> list[QuestionResult]:
    """Read ``results.jsonl`` back.

    Raises:
        RunFileError: missing file, not UTF-8, or a row that is not a result (with its line number).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: cannot read ({exc})") from None
    rows = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            try:
                rows.append(QuestionResult.model_validate_json(line))
            except ValidationError as exc:
                raise RunFileError(f"{path}: line {n}: not a result row ({exc.error_count()} problems)") from None
    return rows


def write_metrics(path: Path, metrics: dict[str, MetricValue], run: dict[str, Any]) -> None:
    """Write ``metrics.json``: ``{"format": 1, "run": {...}, "metrics": {name: MetricValue}}``."""
    doc = {"format": METRICS_FORMAT, "run": run,
           "metrics": {k: v.model_dump(mode="json") for k, v in metrics.items()}}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_metrics(path: str | Path) -> tuple[dict[str, MetricValue], dict[str, Any]]:
    """Read a ``metrics.json`` written by :func:`write_metrics`.

    Returns:
        (metrics by name, run information).

    Raises:
        RunFileError: missing file, not JSON, or not in this layout.
    """
    p = Path(path)
    if not p.is_file():
        raise RunFileError(f"{p}: no such file. Give the metrics.json of an `assistant eval` run.")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFileError(f"{p}: not a JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise RunFileError(f"{p}: not a metrics.json of `assistant eval` (no \"metrics\" object)")
    if doc.get("format") != METRICS_FORMAT:
        raise RunFileError(f"{p}: metrics format {doc.get('format')!r}, expected {METRICS_FORMAT}")
    try:
        metrics = {k: MetricValue.model_validate(v) for k, v in doc["metrics"].items()}
    except ValidationError as exc:
        raise RunFileError(f"{p}: malformed metric ({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})") from None
    return metrics, dict(doc.get("run") or {})
