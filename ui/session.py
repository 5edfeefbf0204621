"""Per-session conversation state of the chat UI.

A session's turns live in a ``gr.State`` (one copy per browser session, never a global), as a list of
:class:`TurnRecord`. The chat messages are always rebuilt from it, so the messages, the sources panel
and the feedback buttons can never disagree about which answer is which.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.models import Answer
from assistant.service import Turn

#: Turns kept per session. Only the last ``settings.history_turns`` of them are sent to the
#: assistant (whose condense step also cuts each turn short), so this only bounds memory.
MAX_TURNS = 200


@dataclass(frozen=True)
class TurnRecord:
    """One question and what the chat shows for it.

    Attributes:
        turn_id: Number of the turn in the session, counted from 0 and never reused (citation
            links and sources-panel sections are keyed by it).
        question: The question as typed (stripped).
        display: The assistant message's Markdown as currently shown.
        answer: The final answer; None while it streams, after a stop, or after an error.
        partial: The verified sentences shown so far while the answer streams.
        rewrite: The standalone question the follow-up was rewritten into ("" if none yet).
        feedback_id: Row id of this answer's feedback in the feedback store, if rated.
        rating: ``up``, ``down`` or None, shown on the answer's thumbs.
    """

    turn_id: int
    question: str
    display: str
    answer: Answer | None = None
    partial: tuple[str, ...] = ()
    rewrite: str = ""
    feedback_id: int | None = None
    rating: str | None = None


def messages(records: list[TurnRecord], question_markdown) -> list[dict]:  # noqa: ANN001 - str -> str
    """The chatbot value: a user message and an assistant message per turn.

    Args:
        records: The session's turns.
        question_markdown: Renders a question as chat Markdown (see ``ui.render.user_message``).
    """
    out: list[dict] = []
    for r in records:
        out.append({"role": "user", "content": question_markdown(r.question)})
        out.append({"role": "assistant", "content": r.display})
    return out


def feedback_values(records: list[TurnRecord]) -> list[str | None]:
    """The chatbot's thumbs state, one entry per assistant message ("Like", "Dislike" or None)."""
    return [{"up": "Like", "down": "Dislike"}.get(r.rating or "") for r in records]


def turn_of_message(index: int | list[int] | tuple[int, ...]) -> int:
    """The turn number of a chat message index (two messages per turn)."""
    if isinstance(index, (list, tuple)):
        index = index[0]
    return int(index) // 2


def history(records: list[TurnRecord], limit: int) -> list[Turn]:
    """The last ``limit`` answered turns, oldest first, as the assistant's follow-up context.

    Turns without a final answer (stopped, failed) are left out. Each turn carries the question the
    assistant actually answered (the rewrite of a follow-up), so chains of follow-ups stay resolved.
    """
    if limit <= 0:
        return []
    answered = [r.answer for r in records if r.answer is not None]
    return [Turn(a.standalone_question or a.question, a.answer) for a in answered[-limit:]]


def with_last(records: list[TurnRecord], **changes) -> list[TurnRecord]:  # noqa: ANN003
    """A copy of ``records`` whose last turn has ``changes`` applied."""
    return records[:-1] + [replace(records[-1], **changes)]


def with_turn(records: list[TurnRecord], turn: int, **changes) -> list[TurnRecord]:  # noqa: ANN003
    """A copy of ``records`` whose turn ``turn`` has ``changes`` applied."""
    return records[:turn] + [replace(records[turn], **changes)] + records[turn + 1:]


def next_turn_id(records: list[TurnRecord]) -> int:
    """The id of the session's next turn."""
    return records[-1].turn_id + 1 if records else 0


def append(records: list[TurnRecord], record: TurnRecord) -> list[TurnRecord]:
    """``records`` plus ``record``, dropping the oldest turns beyond :data:`MAX_TURNS`."""
    return (records + [record])[-MAX_TURNS:]
