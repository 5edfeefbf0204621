"""Event handlers of the chat page: ask (streamed), stop, clear, rate and comment.

Every handler takes the session's turns (``gr.State``) as input and returns the new turns, so two
browser sessions never see each other's conversation. The handlers only call the
:class:`assistant.service.Assistant` and the feedback store, and render; no retrieval or model logic
lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.feedback.store import FeedbackStore
from assistant.generation_queue import QueueFullError
from assistant.llm import backend_failure
from assistant.service import Assistant, QuestionError
from ui import render
from ui.session import (
    TurnRecord,
    append,
    feedback_values,
    history,
    messages,
    next_turn_id,
    turn_of_message,
    with_last,
    with_turn,
)

log = logging.getLogger(__name__)

#: Shown while the assistant works, before the first verified sentence.
SEARCHING = "Searching the documents…"


def queued_status(position: int) -> str:
    """Shown while the question waits for the model, ``position`` (1-based) in line."""
    return (f"The model is answering other questions: yours is number {position} in line and starts when "
            "those before it are answered…")


#: Shown under what was already verified when the user stops an answer.
STOPPED = "Stopped before the answer was complete."


class ChatController:
    """The handlers of one chat page, bound to an assistant and a feedback store.

    Args:
        assistant: Answers the questions.
        feedback: Where ratings are stored.
    """

    def __init__(self, assistant: Assistant, feedback: FeedbackStore):
        self.assistant = assistant
        self.feedback = feedback

    # -- rendering helpers ----------------------------------------------------------------------

    @staticmethod
    def chat(records: list[TurnRecord]) -> dict:
        """The chatbot update for ``records``: messages and the thumbs already given."""
        return gr.update(value=messages(records, render.user_message), feedback_value=feedback_values(records))

    @staticmethod
    def panel(records: list[TurnRecord]) -> str:
        """The sources panel for ``records``."""
        return render.sources_panel([(r.turn_id, r.answer) for r in records])

    @staticmethod
    def buttons(busy: bool) -> tuple[dict, dict]:
        """Updates of the Ask and Stop buttons (Stop is shown only while an answer streams)."""
        return gr.update(visible=not busy), gr.update(visible=busy)

    # -- asking -----------------------------------------------------------------------------------

    def respond(self, question: str, records: list[TurnRecord]) -> Iterator[tuple[Any, ...]]:
        """Answer ``question``, streaming verified sentences, then the final answer and its sources.

        Yields:
            ``(chat, records, panel, question box, ask button, stop button)`` updates.
        """
        records = list(records or [])
        try:
            q = self.assistant.check_question(question)
        except QuestionError as exc:  # empty, invisible-only or too long: say so, as the CLI and API do
            gr.Warning(str(exc))
            yield gr.skip(), records, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turns = history(records, self.assistant.settings.history_turns)
        turn_id = next_turn_id(records)
        records = append(records, TurnRecord(turn_id, q, render.streaming_message([], "", q, SEARCHING)))
        yield (self.chat(records), records, gr.skip(), "", *self.buttons(True))
        sentences: list[str] = []
        rewrite = ""
        status = checking = SEARCHING
        queued = False
        try:
            for ev in self.assistant.stream(q, turns):
                if ev.kind == "progress" and not queued:  # a token: nothing new to show, but Stop can act here
                    yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                    continue
                if ev.kind == "progress":  # the first token after waiting in line: the model is ours
                    queued, status = False, checking
                if ev.kind == "rewrite":
                    rewrite = ev.text
                elif ev.kind == "queued":
                    queued, status = True, queued_status(ev.position or 1)
                elif ev.kind == "passages":
                    n = len(ev.passages or [])
                    status = checking = f"Checking the answer against {n} passage{'s' if n != 1 else ''}…"
                elif ev.kind == "sentence":
                    sentences.append(ev.text)
                elif ev.kind == "final" and ev.answer is not None:
                    records = with_last(records, answer=ev.answer, display=render.answer_message(ev.answer, turn_id))
                    yield (self.chat(records), records, self.panel(records), gr.skip(), *self.buttons(False))
                    return
                records = with_last(records, display=render.streaming_message(sentences, rewrite, q, status),
                                    partial=tuple(sentences), rewrite=rewrite)
                yield (self.chat(records), records, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        except Exception as exc:  # shown in the chat rather than as a bare "Error"
            records = with_last(records, display=render.error_message(self.failure_message(exc, q)))
        yield (self.chat(records), records, self.panel(records), gr.skip(), *self.buttons(False))

    def failure_message(self, exc: Exception, question: str) -> str:
        """What the chat says when answering ``question`` failed: what to do, never a traceback."""
        if isinstance(exc, QueueFullError):
            return str(exc)
        failure = backend_failure(exc, self.assistant.settings)
        if failure is not None:
            log.warning("answering %r failed: %s: %s", question, type(exc).__name__, exc)
            return failure[1]
        log.exception("answering %r failed", question)
        return f"{type(exc).__name__}: {exc}"

    def stop(self, records: list[TurnRecord]) -> tuple[Any, ...]:
        """After Stop: mark the unfinished answer as stopped (what was already verified stays)."""
        records = list(records or [])
        if records and records[-1].answer is None:
            last = records[-1]
            records = with_last(records, display=render.streaming_message(
                list(last.partial), last.rewrite, last.question, STOPPED))
        return (self.chat(records), records, self.panel(records), *self.buttons(False))

    def clear(self) -> tuple[Any, ...]:
        """Start a new conversation: no turns, an empty panel, no open feedback form."""
        return (self.chat([]), [], self.panel([]), *self.buttons(False), gr.update(visible=False), None, "")

    # -- feedback ---------------------------------------------------------------------------------

    def rate(self, records: list[TurnRecord], data: gr.LikeData) -> tuple[Any, ...]:
        """Store a thumbs up/down at once, then offer the optional reason and comment.

        Returns:
            ``(records, feedback box, rated turn, reason, comment, title)`` updates.
        """
        records = list(records or [])
        turn = turn_of_message(data.index)
        unchanged = (records, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        if turn >= len(records) or records[turn].answer is None:
            gr.Info("Feedback can be given once the answer is complete.")
            return unchanged
        record = records[turn]
        rating = "up" if data.liked is True else "down" if data.liked is False else None
        if rating is None:  # the thumb was clicked again: the rating is taken back
            if record.feedback_id is not None:
                self.feedback.delete(record.feedback_id)
            return (with_turn(records, turn, feedback_id=None, rating=None), gr.update(visible=False), None,
                    gr.skip(), gr.skip(), gr.skip())
        if record.feedback_id is None:
            fid = self.feedback.add(rating, record.answer, self.assistant.settings.model_dump(mode="json"))
        else:
            fid = record.feedback_id
            self.feedback.update(fid, rating=rating, clear_reason=(rating == "up"))
        records = with_turn(records, turn, feedback_id=fid, rating=rating)
        asked = render.md_text(record.question)
        title = (f"**Thanks.** What was wrong with the answer to “{asked}”? Optional; it helps build test cases."
                 if rating == "down" else f"**Thanks.** Anything to add about the answer to “{asked}”? (optional)")
        return (records, gr.update(visible=True), turn, gr.update(visible=rating == "down", value=None),
                gr.update(value=""), title)

    def save_details(self, records: list[TurnRecord], turn: int | None, reason: str | None,
                     comment: str) -> tuple[Any, ...]:
        """Store the optional reason and comment of the rating just given.

        Returns:
            ``(feedback box, status)`` updates.
        """
        records = list(records or [])
        if turn is None or turn >= len(records) or records[turn].feedback_id is None:
            return gr.update(visible=False), "Rate an answer with the thumbs first."
        self.feedback.update(records[turn].feedback_id, reason=reason or None, comment=(comment or "").strip())
        return gr.update(visible=False), "Feedback saved. Thank you."
