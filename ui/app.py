"""The chat page: streamed, verified answers beside their sources.

Layout: the conversation on the left (question box, Ask/Stop, Clear, example questions, and a
feedback form that opens after a thumbs up/down); on the right the sources panel and a Settings
accordion. The handlers are in :mod:`ui.chat`, the rendering in :mod:`ui.render`.
"""

from __future__ import annotations

from assistant.feedback.store import REASONS, FeedbackStore
from assistant.service import Assistant
from ui.assets import CITE_JS, CSS
from ui.chat import ChatController
from ui.render import md_text

#: Example questions about the bundled article (assistant/data/corpus/myanmar-russia-visit.txt).
EXAMPLES = [
    "What did Min Aung Hlaing praise Putin for?",
    "Who is the junta's investment minister?",
    "How did the Global New Light of Myanmar describe the trip?",
    "What did Putin's office say the two sides planned to adopt?",
]

HEADER = """
<div id="app-header">
  <h2 style="margin:0">Ask the documents</h2>
  <p style="margin:4px 0 0;color:var(--body-text-color-subdued)">Every sentence of an answer is checked
  against the passage it cites; click a marker such as [1] to see the quoted words. When the documents do
  not contain the answer, the assistant says so.</p>
</div>
"""


def settings_markdown(assistant: Assistant) -> str:
    """The read-only settings table shown in the Settings accordion."""
    s = assistant.settings
    modes = {"extractive": "extractive (quotes the best evidence sentence; no model call)",
             "generative": "generative (the model writes; every sentence checked)",
             "auto": "auto (the model writes; a quote when its answer fails the check)"}
    rows = [
        ("Answer mode", modes.get(s.answer_mode, s.answer_mode)),
        ("Model", f"{assistant.model_name} ({s.llm_backend})"),
        ("Passages retrieved (top-k)", str(s.top_k)),
        ("Minimum relevance", f"{s.min_relevance:g}"),
        ("Follow-up context", f"last {s.history_turns} turns"),
        ("Embeddings", s.embedding_backend),
        ("Longest answer", f"{s.max_tokens} tokens"),
    ]
    lines = ["| Setting | Value |", "|---|---|"] + [f"| {md_text(k)} | {md_text(v)} |" for k, v in rows]
    lines.append("\nSet them with `ASSISTANT_*` variables or a `--profile` when starting `assistant ui`.")
    return "\n".join(lines)


def build_ui(assistant: Assistant):  # noqa: ANN201 - gr.Blocks
    """The Gradio Blocks app over ``assistant`` (mounted at ``/`` by :func:`assistant.api.serve`).

    Feedback is stored in ``<settings.data_dir>/feedback.sqlite3``.
    """
    import gradio as gr

    ctl = ChatController(assistant, FeedbackStore.for_data_dir(assistant.settings.data_dir))

    with gr.Blocks(title="Grounded assistant", analytics_enabled=False) as demo:
        records = gr.State([])  # this session's turns (ui.session.TurnRecord)
        rated_turn = gr.State(None)
        gr.HTML(CSS + HEADER)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="chat", label="Conversation", height=520, latex_delimiters=[],
                    feedback_options=("Like", "Dislike"), buttons=["copy"], group_consecutive_messages=False,
                    placeholder="Ask a question about the documents. Answers cite their sources as [1], [2]…",
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                          elem_id="question", scale=8, max_lines=4, autofocus=True, container=False)
                    ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=90)
                    stop = gr.Button("Stop", variant="stop", elem_id="stop", scale=1, min_width=90, visible=False)
                with gr.Column(visible=False, elem_id="feedback-box", variant="panel") as feedback_box:
                    feedback_title = gr.Markdown(elem_id="feedback-title")
                    reason = gr.Radio([(label, key) for key, label in REASONS.items()], label="What was wrong?",
                                      elem_id="feedback-reason")
                    comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="feedback-comment",
                                         placeholder="For example, the correct answer and where it is.")
                    save = gr.Button("Save feedback", elem_id="feedback-save", size="sm", variant="primary")
                feedback_status = gr.Markdown(elem_id="feedback-status")
                examples = gr.Examples(EXAMPLES, inputs=[question], elem_id="examples",
                                       label="Example questions about the bundled article (click one to ask it)")
                with gr.Row():
                    clear = gr.Button("Clear conversation", elem_id="clear", size="sm", variant="secondary",
                                      scale=0, min_width=160)
            with gr.Column(scale=2, min_width=320):
                panel = gr.HTML(ctl.panel([]), elem_id="sources-panel", js_on_load=CITE_JS, max_height=640)
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    gr.Markdown(settings_markdown(assistant), elem_id="settings-table")

        answer_outputs = [chatbot, records, panel, question, ask, stop]
        # Answers run concurrently across sessions; the assistant serialises the model call itself.
        triggers = (question.submit, ask.click, examples.load_input_event.then)
        asked = [trigger(ctl.respond, [question, records], answer_outputs, concurrency_limit=None,
                         show_progress="hidden")
                 for trigger in triggers]
        for trigger in triggers:  # a new question replaces the last "Feedback saved"
            trigger(lambda: "", None, feedback_status, queue=False)
        stop.click(ctl.stop, [records], [chatbot, records, panel, ask, stop], cancels=asked, queue=False)
        reset_outputs = [chatbot, records, panel, ask, stop, feedback_box, rated_turn, feedback_status]
        clear.click(ctl.clear, None, reset_outputs, cancels=asked, queue=False)
        chatbot.clear(ctl.clear, None, reset_outputs, cancels=asked, queue=False)
        chatbot.like(ctl.rate, [records], [records, feedback_box, rated_turn, reason, comment, feedback_title],
                     queue=False)
        save.click(ctl.save_details, [records, rated_turn, reason, comment], [feedback_box, feedback_status],
                   queue=False)
    return demo
