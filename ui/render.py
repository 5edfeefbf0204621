"""Rendering of answers and sources as text-safe chat Markdown and panel HTML.

Pure functions over :mod:`assistant.models` types, with no Gradio import, so they are unit-tested
directly. Every piece of document or model text passes through :func:`md_text` (chat messages) or
:func:`html.escape` (the sources panel) before it reaches the page: markup inside a document, such
as ``<img src=x onerror=alert(1)>``, is shown as text and never parsed as HTML.

Citation markers link to ``#src-<turn>-<passage>``, the id of the passage's card in the sources
panel; the panel holds one section per answered turn (the newest shown) and the page script in
:mod:`ui.assets` reveals the right section when a marker is clicked.
"""

from __future__ import annotations

import html
import re

from assistant.models import Answer, Citation, Passage

#: Characters that Markdown (CommonMark + GFM) may treat as syntax; each is backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$^:])")
#: Sentence-final punctuation (and closing quotes), after which no marker goes (see ``with_markers``).
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*$")


def md_text(text: str) -> str:
    """Escape text so that chat Markdown shows it literally (no HTML, links, emphasis or lists)."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def _marker_links(turn: int, ids: list[int]) -> str:
    return "".join(f'<a class="cite" href="#src-{turn}-{i}" title="Show source {i}">[{i}]</a>' for i in ids)


def _sentence_with_links(sentence: str, turn: int, ids: list[int]) -> str:
    """One answer sentence, escaped, with its markers as links before the final punctuation."""
    if not ids:
        return md_text(sentence)
    m = _SENTENCE_END.search(sentence)
    body, end = (sentence[:m.start()], sentence[m.start():]) if m else (sentence, "")
    return f"{md_text(body)} {_marker_links(turn, ids)}{md_text(end)}"


def rewrite_note(answer_or_question: Answer | str, question: str | None = None) -> str:
    """The small "Searched for" line shown under an answer whose question was rewritten.

    Args:
        answer_or_question: The final answer, or (while streaming) the rewritten question.
        question: The question as typed (only with a rewritten-question string).

    Returns:
        The Markdown line, or "" when the question was used as typed.
    """
    if isinstance(answer_or_question, Answer):
        standalone, asked = answer_or_question.standalone_question, answer_or_question.question
    else:
        standalone, asked = answer_or_question, question or ""
    if not standalone or standalone.strip() == asked.strip():
        return ""
    return f'<small class="rewrite">Searched for: “{md_text(standalone)}”</small>'


#: What the user is told about how each kind of answer was made.
KIND_LABELS = {
    "extractive": "Quoted from the documents",
    "generative": "Written by the model from the documents; every sentence checked against its source",
}


def kind_note(answer: Answer) -> str:
    """A small line saying which kind of answer this is (and any notice), or ``""``."""
    label = KIND_LABELS.get(answer.answer_kind, "")
    if answer.notice:
        label = f"{label}. {answer.notice}" if label else answer.notice
    return f'<small class="kind">{md_text(label)}</small>' if label else ""


def abstention_message(answer: Answer) -> str:
    """Chat Markdown for an abstention: marked as such, with a short explanation and no sources."""
    if answer.answer_kind == "declined":
        return f'<div class="abstain"><strong>Not a question I can answer.</strong> {esc(answer.answer)}</div>'
    reason = answer.abstention_reason or ""
    if reason.startswith("no passage is relevant"):
        why = "No passage of the indexed documents is about this question."
    else:
        why = "The passages found do not support an answer to it, so none is given."
    # An HTML block: Markdown is not applied inside it, so the text is only HTML-escaped.
    return f'<div class="abstain"><strong>Not in the documents.</strong> {esc(answer.answer)} {esc(why)}</div>'



def answer_message(answer: Answer, turn: int) -> str:
    """Chat Markdown for a final answer: sentences with clickable ``[n]`` markers, or the abstention.

    Args:
        answer: The verified answer.
        turn: 0-based number of the turn in the conversation (for the marker links).
    """
    if answer.abstained:
        body = abstention_message(answer)
    else:
        parts = []
        for i, sentence in enumerate(answer.sentences):
            ids = sorted({c.passage_id for c in answer.citations if c.sentence_index == i})
            parts.append(_sentence_with_links(sentence, turn, ids))
        body = " ".join(parts) if parts else md_text(answer.answer)
        kind = kind_note(answer)
        if kind:
            body += f"\n\n{kind}"
    note = rewrite_note(answer)
    return body + (f"\n\n{note}" if note else "")


def streaming_message(sentences: list[str], rewrite: str, question: str, status: str) -> str:
    """Chat Markdown while an answer streams: the verified sentences so far, then a status line."""
    parts = []
    if sentences:
        parts.append(" ".join(md_text(s) for s in sentences))
    if status:
        parts.append(f'<small class="status">{md_text(status)}</small>')
    note = rewrite_note(rewrite, question)
    if note:
        parts.append(note)
    return "\n\n".join(parts)


def user_message(question: str) -> str:
    """Chat Markdown for the user's question, shown literally."""
    return md_text(question)


# -- sources panel ------------------------------------------------------------------------------

def quote_spans(passage: Passage, citations: list[Citation]) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` spans of ``passage.text`` that the citations quote.

    A citation's offsets are in source coordinates; when they do not land on the quote inside the
    passage (a stale or edited passage), the quote is looked up in the text instead.
    """
    spans = []
    for c in citations:
        s, e = c.start - passage.start, c.end - passage.start
        if not (0 <= s < e <= len(passage.text) and passage.text[s:e] == c.quote):
            s = passage.text.find(c.quote) if c.quote else -1
            if s < 0:
                continue
            e = s + len(c.quote)
        spans.append((s, e))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def esc(text: str) -> str:
    """Escape text for the panel's HTML.

    Besides ``& < > " '``, braces and dollar signs become character references, so that text can
    never look like template syntax to the page (Gradio's HTML component is templated).
    """
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;")


def highlighted(text: str, spans: list[tuple[int, int]]) -> str:
    """HTML of ``text`` (escaped) with each span wrapped in ``<mark>``."""
    out, pos = [], 0
    for s, e in spans:
        out.append(esc(text[pos:s]))
        out.append(f'<mark class="quote">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def _card(turn: int, p: Passage, citations: list[Citation]) -> str:
    spans = quote_spans(p, citations)
    return (
        f'<article class="src-card" id="src-{turn}-{p.passage_id}" data-passage="{p.passage_id}">'
        f'<header><span class="src-num">[{p.passage_id}]</span> '
        f'<span class="src-name">{esc(p.source)}</span> '
        + (f'<span class="src-page">page {p.page}</span> ' if p.page is not None else "")
        + f'<span class="src-loc">characters {p.start:,}–{p.end:,}</span> '
        f'<span class="src-score" title="Cosine similarity of question and passage">score {p.score:.2f}</span>'
        f'</header><p class="src-text">{highlighted(p.text, spans)}</p></article>'
    )


def sources_section(answer: Answer, turn: int, visible: bool) -> str:
    """The panel section of one answered turn: cited passages first, the others collapsed.

    Returns "" for an abstention, which has no sources.
    """
    if answer.abstained:
        return ""
    cited_ids = sorted({c.passage_id for c in answer.citations})
    by_id = {p.passage_id: p for p in answer.passages}
    cited = [by_id[i] for i in cited_ids if i in by_id]
    others = [p for p in answer.passages if p.passage_id not in cited_ids]
    parts = [f'<section class="src-turn" data-turn="{turn}"{"" if visible else " hidden"}>',
             f'<p class="src-for">Sources for “{esc(answer.question)}”</p>']
    parts += [_card(turn, p, [c for c in answer.citations if c.passage_id == p.passage_id]) for p in cited]
    if others:
        parts.append(f'<details class="src-uncited"><summary>Retrieved but not cited ({len(others)})</summary>')
        parts += [_card(turn, p, []) for p in others]
        parts.append("</details>")
    parts.append("</section>")
    return "".join(parts)


def sources_panel(turns: list[tuple[int, Answer | None]]) -> str:
    """The whole sources panel for a conversation.

    Args:
        turns: ``(turn_id, answer)`` per turn, oldest first; ``answer`` is None for a turn without
            a final answer (still streaming, stopped, failed).

    Returns:
        HTML with a section per answered, non-abstained turn; the newest turn's section is shown
        when the newest turn has sources, otherwise every section is hidden (an abstention shows no
        sources panel). A hint is shown before the first answer.
    """
    if not turns:
        return ('<p class="src-hint">Sources appear here: each passage an answer cites, with the '
                "supporting words highlighted.</p>")
    last = turns[-1][0]
    return "".join(sources_section(a, t, visible=(t == last)) for t, a in turns if a is not None)


def error_message(detail: str) -> str:
    """Chat Markdown for an answer that failed (the model could not be loaded, for example)."""
    return f'<div class="error"><strong>The assistant could not answer.</strong> {esc(detail)}</div>'
