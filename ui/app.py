"""The chat UI: streamed, verified answers followed by their sources."""

from __future__ import annotations

import html
from collections.abc import Iterator

from assistant.models import Answer
from assistant.service import Assistant, QuestionError, Turn


def render_sources(answer: Answer) -> str:
    """Markdown list of an answer's citations (quotes escaped so document markup is shown, not run)."""
    if answer.abstained or not answer.citations:
        return ""
    lines = ["**Sources**"]
    for c in answer.citations:
        lines.append(f"- [{c.passage_id}] {html.escape(c.source)}, chars {c.start}–{c.end}: “{html.escape(c.quote)}”")
    return "\n".join(lines)


def build_ui(assistant: Assistant):  # noqa: ANN201 - gr.Blocks
    """The Gradio Blocks app over ``assistant``."""
    import gradio as gr

    def respond(message: str, history: list[dict]) -> Iterator[str]:
        turns: list[Turn] = []
        pending_q = None
        for m in history or []:
            if m["role"] == "user":
                pending_q = m["content"] if isinstance(m["content"], str) else ""
            elif m["role"] == "assistant" and pending_q is not None:
                turns.append(Turn(pending_q, m["content"] if isinstance(m["content"], str) else ""))
                pending_q = None
        try:
            shown = ""
            for ev in assistant.stream(message, turns):
                if ev.kind == "sentence":
                    shown = (shown + " " + ev.text).strip()
                    yield html.escape(shown)
                elif ev.kind == "final":
                    a = ev.answer
                    text = html.escape(a.answer)
                    sources = render_sources(a)
                    yield text + ("\n\n" + sources if sources else "")
        except QuestionError as exc:
            yield str(exc)

    with gr.Blocks(title="Grounded assistant") as demo:
        gr.Markdown("## Ask the documents\nEvery sentence is checked against the passage it cites.")
        gr.ChatInterface(respond)
    return demo
