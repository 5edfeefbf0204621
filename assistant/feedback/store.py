"""Durable storage of thumbs up/down feedback in SQLite under ``settings.data_dir``.

One row per rated answer: the rating, the optional reason and comment, the whole
:class:`assistant.models.Answer` (question, rewritten question, answer text, citations, passages) as
JSON, and the settings it was produced with. Each call opens its own connection, so one store is
safe to share between the chat sessions' threads; SQLite's locking orders concurrent writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from assistant.models import Answer

Rating = Literal["up", "down"]

#: Why a thumbs-down answer was wrong (optional); decides ``answerable`` when it is exported.
REASONS: dict[str, str] = {
    "wrong": "The answer is wrong or not supported by its sources",
    "missed": "The documents do contain the answer",
    "not_in_documents": "The documents do not contain the answer",
}

FILE_NAME = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    reason TEXT,
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    model TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    settings_json TEXT NOT NULL
)
"""


class FeedbackError(ValueError):
    """A feedback value is not allowed (unknown rating or reason, missing row)."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored piece of feedback.

    Attributes:
        id: Row id (stable; exported as ``feedback-<id>``).
        created_at: When the answer was first rated (ISO 8601, UTC).
        updated_at: When the rating, reason or comment last changed.
        rating: ``up`` or ``down``.
        reason: A key of :data:`REASONS`, or None.
        comment: The user's comment ("" when none).
        answer: The rated answer, with its question, citations and passages.
        settings: The settings the answer was produced with.
    """

    id: int
    created_at: str
    updated_at: str
    rating: Rating
    reason: str | None
    comment: str
    answer: Answer
    settings: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check(rating: str | None, reason: str | None) -> None:
    if rating is not None and rating not in ("up", "down"):
        raise FeedbackError(f"rating must be 'up' or 'down', not {rating!r}")
    if reason is not None and reason not in REASONS:
        raise FeedbackError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")


class FeedbackStore:
    """Feedback rows in one SQLite file.

    Example:
        >>> store = FeedbackStore.for_data_dir(settings.data_dir)
        >>> fid = store.add("down", answer, settings.model_dump(mode="json"), comment="It was Kan Zaw")
        >>> store.get(fid).comment
        'It was Kan Zaw'

    Args:
        path: The database file; its folder is created when missing.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> FeedbackStore:
        """The store of a data folder (``<data_dir>/feedback.sqlite3``)."""
        return cls(Path(data_dir) / FILE_NAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction, committed on success
                yield db
        finally:
            db.close()

    def add(self, rating: Rating, answer: Answer, settings: dict[str, Any], *, reason: str | None = None,
            comment: str = "") -> int:
        """Store a rating of ``answer``; returns the new row's id.

        Raises:
            FeedbackError: unknown rating or reason.
        """
        _check(rating, reason)
        now = _now()
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, updated_at, rating, reason, comment, question, standalone_question,"
                " answer_text, abstained, model, answer_json, settings_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (now, now, rating, reason, comment, answer.question, answer.standalone_question, answer.answer,
                 int(answer.abstained), answer.model, answer.model_dump_json(), json.dumps(settings, default=str)),
            )
            return int(cur.lastrowid)

    def update(self, feedback_id: int, *, rating: Rating | None = None, reason: str | None = None,
               comment: str | None = None, clear_reason: bool = False) -> None:
        """Change the rating, reason or comment of a row (``None`` leaves a field as it is).

        Raises:
            FeedbackError: unknown rating or reason, or no such row.
        """
        _check(rating, reason)
        with self._connect() as db:
            cur = db.execute(
                "UPDATE feedback SET updated_at = ?, rating = COALESCE(?, rating),"
                " reason = CASE WHEN ? THEN NULL ELSE COALESCE(?, reason) END, comment = COALESCE(?, comment)"
                " WHERE id = ?",
                (_now(), rating, int(clear_reason), reason, comment, feedback_id),
            )
            if cur.rowcount == 0:
                raise FeedbackError(f"no feedback with id {feedback_id}")

    def delete(self, feedback_id: int) -> None:
        """Remove a row (the user took the rating back); a missing row is not an error."""
        with self._connect() as db:
            db.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,))

    def get(self, feedback_id: int) -> FeedbackRecord | None:
        """The row with that id, or None."""
        rows = self._select("WHERE id = ?", (feedback_id,))
        return rows[0] if rows else None

    def records(self, rating: Rating | None = None) -> list[FeedbackRecord]:
        """All rows, oldest first, optionally only those with ``rating``."""
        if rating is None:
            return self._select("", ())
        _check(rating, None)
        return self._select("WHERE rating = ?", (rating,))

    def _select(self, where: str, args: tuple) -> list[FeedbackRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created_at, updated_at, rating, reason, comment, answer_json, settings_json"
                f" FROM feedback {where} ORDER BY id", args,
            ).fetchall()
        return [
            FeedbackRecord(id=r[0], created_at=r[1], updated_at=r[2], rating=r[3], reason=r[4], comment=r[5],
                           answer=Answer.model_validate_json(r[6]), settings=json.loads(r[7]))
            for r in rows
        ]
