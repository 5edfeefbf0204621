"""Run a question set through the assistant, the same code path as the chat and the HTTP API."""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.evaluation.dataset import EvalQuestion
from assistant.evaluation.records import QuestionResult
from assistant.evaluation.scoring import error_result, score_answer
from assistant.evaluation.sources import SourceTexts
from assistant.service import Assistant, QuestionError, Turn


def run_questions(assistant: Assistant, questions: list[EvalQuestion], sources: SourceTexts,
                  on_result: Callable[[QuestionResult], None] | None = None) -> list[QuestionResult]:
    """Ask every question with :meth:`Assistant.stream` and score the final answer.

    A question with ``history`` is asked as a follow-up in that conversation (its turns become the
    assistant's history); any other question is asked on its own.

    A question the assistant refuses (:class:`assistant.service.QuestionError`, e.g. too long) is
    recorded as a failed row with its error; any other exception (model or index unavailable)
    propagates, since it would fail every question alike.

    Args:
        assistant: Built with :func:`assistant.composition.build_assistant`, index ready.
        questions: The questions, asked in order.
        sources: Source texts for the citation offset check.
        on_result: Called with each row as soon as it is scored (progress display).

    Returns:
        One row per question, in question order.
    """
    rows: list[QuestionResult] = []
    for q in questions:
        t0 = time.perf_counter()
        try:
            final = None
            history = [Turn(t.question, t.answer) for t in q.history]
            for event in assistant.stream(q.question, history or None):
                if event.kind == "final":
                    final = event.answer
            if final is None:  # pragma: no cover - stream always ends with a final event
                raise RuntimeError("Assistant.stream ended without a final answer")
            row = score_answer(q, final, sources, assistant.verifier, time.perf_counter() - t0)
        except QuestionError as exc:
            row = error_result(q, f"QuestionError: {exc}", time.perf_counter() - t0)
        rows.append(row)
        if on_result is not None:
            on_result(row)
    return rows
