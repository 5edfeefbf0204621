"""Thumbs-down feedback as evaluation cases, in the question-set format (``shared/eval/FORMAT.md``).

Each thumbs-down turn becomes one JSON Lines row with exactly the format's fields:

- ``id``: ``feedback-<row id>``, stable across exports.
- ``question``: the standalone question the assistant answered (a follow-up is exported as its
  rewrite, since evaluation asks each question without a conversation).
- ``answerable``: ``false`` when the user said the documents do not contain the answer; otherwise
  ``true`` (the user expected an answer, or a better one).
- ``reference_answer``: the user's comment, which is usually the correction ("" when none).
- ``key_facts`` and ``evidence``: empty; a person fills them in when promoting the case. The
  rejected answer's citations are not evidence of a correct answer, so none is copied.
- ``kind``: ``feedback``, so these cases are reported as their own group.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.feedback.store import FeedbackRecord

KIND = "feedback"


def to_question_row(record: FeedbackRecord) -> dict[str, Any]:
    """The question-set row of one feedback record."""
    answer = record.answer
    return {
        "id": f"feedback-{record.id}",
        "question": answer.standalone_question or answer.question,
        "answerable": record.reason != "not_in_documents",
        "reference_answer": record.comment.strip(),
        "key_facts": [],
        "evidence": [],
        "kind": KIND,
    }


def export_lines(records: list[FeedbackRecord]) -> list[str]:
    """JSON Lines (without newlines) for the thumbs-down records among ``records``, oldest first."""
    return [json.dumps(to_question_row(r), ensure_ascii=False) for r in records if r.rating == "down"]
