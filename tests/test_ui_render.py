"""Rendering of answers and sources: text stays text, markers link to cards, quotes are highlighted."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from assistant.models import Answer, Citation, Passage
from ui import render

XSS = "<img src=x onerror=alert(1)>"
TEXT = ("Maxim Reshetnikov had signed an agreement with Kan Zaw, the junta's investment minister. "
        "The Dawei project was suspended in 2013.")
P1 = Passage(passage_id=1, chunk_id="a:1", source="a.txt", start=100, end=100 + len(TEXT), score=0.61, text=TEXT)
P2 = Passage(passage_id=2, chunk_id="a:2", source="a.txt", start=500, end=520, score=0.2, text="Unrelated passage 2.")
SENTENCE = "Maxim Reshetnikov had signed an agreement with Kan Zaw, the junta's investment minister."


def _answer(**kw) -> Answer:
    base = dict(question="Who signed with Kan Zaw?", standalone_question="Who signed with Kan Zaw?",
                answer=f"{SENTENCE[:-1]} [1].", abstained=False, sentences=[SENTENCE],
                citations=[Citation(passage_id=1, source="a.txt", start=100, end=100 + len(SENTENCE),
                                    quote=SENTENCE, sentence_index=0)],
                passages=[P1, P2], model="fake")
    base.update(kw)
    return Answer(**base)


def _shown(markdown: str) -> str:
    """The text a reader sees when CommonMark renders ``markdown`` (tags dropped, entities decoded)."""
    rendered = MarkdownIt("commonmark").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize("text", [
    XSS, "**bold** _it_ `code` [link](http://x) ![img](x)", "# heading", "1. not a list", "> quote",
    "a\\b & c &amp; d", "$$x$$ and ${alert(1)} {{value}}", "<script>alert(1)</script>", "- item | a | b |",
])
def test_md_text_shows_any_text_literally(text):
    out = render.md_text(text)
    assert "<" not in out and ">" not in out
    assert _shown(out) == text


def test_answer_markers_link_to_their_source_cards():
    msg = render.answer_message(_answer(), turn=3)
    body, kind = msg.split("\n\n")
    assert body.endswith('<a class="cite" href="#src-3-1" title="Show source 1">[1]</a>\\.')
    assert _shown(body) == f"{SENTENCE[:-1]} [1]."
    assert "Searched for" not in msg


def test_the_kind_of_answer_is_shown_under_it():
    written = render.answer_message(_answer(), turn=0)
    assert written.endswith('<small class="kind">Written by the model from the documents; every sentence checked '
                            'against its source</small>')
    quoted = render.answer_message(_answer(answer_kind="extractive"), turn=0)
    assert quoted.endswith('<small class="kind">Quoted from the documents</small>')
    fallback = render.answer_message(_answer(answer_kind="extractive", notice="The model's answer failed."), turn=0)
    assert fallback.endswith("Quoted from the documents\\. The model's answer failed\\.</small>")


def test_a_declined_request_says_so_without_sources():
    from assistant.models import DECLINE_INSTRUCTION_TEXT

    a = _answer(abstained=True, answer=DECLINE_INSTRUCTION_TEXT, sentences=[], citations=[], answer_kind="declined",
                abstention_reason="an instruction, not a question about the documents")
    msg = render.answer_message(a, turn=0)
    assert msg.startswith('<div class="abstain"><strong>Not a question I can answer.</strong>')
    assert DECLINE_INSTRUCTION_TEXT in msg and "cite" not in msg


def test_answer_with_markup_in_its_sentence_is_escaped():
    sentence = f"The report shows {XSS} as its logo."
    msg = render.answer_message(_answer(sentences=[sentence], answer=sentence), turn=0)
    assert "<img" not in msg and "&lt;img src=x onerror=alert\\(1\\)&gt;" in msg
    assert _shown(msg).startswith(f"The report shows {XSS} as its logo")


def test_rewritten_question_is_shown_under_the_answer():
    msg = render.answer_message(_answer(question="What did he sign?",
                                        standalone_question="What did Kan Zaw sign?"), turn=0)
    body, _kind, note = msg.split("\n\n")
    assert '<a class="cite"' in body
    assert note == '<small class="rewrite">Searched for: “What did Kan Zaw sign?”</small>'


def test_abstention_has_no_markers_and_says_why():
    a = _answer(abstained=True, answer="The documents do not contain the answer to this question.", sentences=[],
                citations=[], abstention_reason="no passage is relevant enough (best cosine similarity 0.1)")
    msg = render.answer_message(a, turn=0)
    assert msg.startswith('<div class="abstain"><strong>Not in the documents.</strong>')
    assert "cite" not in msg and "No passage of the indexed documents is about this question." in msg
    other = render.abstention_message(a.model_copy(update={"abstention_reason": "the supported sentences do not address"}))
    assert "do not support an answer" in other


def test_quote_is_highlighted_in_its_passage_card():
    section = render.sources_section(_answer(), turn=0, visible=True)
    assert f'<mark class="quote">{html.escape(SENTENCE)}</mark> The Dawei project' in section
    card_1 = section.index('id="src-0-1"')
    assert 'class="src-name">a.txt<' in section[card_1:]
    assert "characters 100–" in section and "score 0.61" in section


def test_cited_passages_first_and_the_others_collapsed():
    section = render.sources_section(_answer(), turn=0, visible=True)
    details = section.index('<details class="src-uncited"><summary>Retrieved but not cited (1)</summary>')
    assert section.index('id="src-0-1"') < details < section.index('id="src-0-2"')
    assert "<details open" not in section


def test_quote_spans_fall_back_to_text_search_and_merge_overlaps():
    stale = Citation(passage_id=1, source="a.txt", start=0, end=5, quote="Kan Zaw", sentence_index=0)
    overlapping = [Citation(passage_id=1, source="a.txt", start=100, end=110, quote=TEXT[:10]),
                   Citation(passage_id=1, source="a.txt", start=105, end=120, quote=TEXT[5:20])]
    assert render.quote_spans(P1, [stale]) == [(TEXT.index("Kan Zaw"), TEXT.index("Kan Zaw") + 7)]
    assert render.quote_spans(P1, overlapping) == [(0, 20)]
    missing = Citation(passage_id=1, source="a.txt", start=0, end=3, quote="not there")
    assert render.quote_spans(P1, [missing]) == []


def test_panel_text_with_markup_and_template_syntax_is_inert():
    text = f"{XSS} ${{alert(3)}} {{{{value}}}} <script>x</script>"
    p = Passage(passage_id=1, chunk_id="b:0", source=f"{XSS}.txt", start=0, end=len(text), score=0.5, text=text)
    a = _answer(passages=[p], citations=[Citation(passage_id=1, source="b", start=0, end=len(XSS), quote=XSS)],
                question=XSS)
    section = render.sources_section(a, turn=0, visible=True)
    assert "<img" not in section and "<script" not in section
    assert "{" not in section and "}" not in section and "$" not in section
    assert html.unescape(re.sub(r"<[^>]+>", "", section)).count(XSS) == 3  # question, source, text


def test_panel_shows_newest_turn_and_nothing_after_an_abstention():
    answered, abstained = _answer(), _answer(abstained=True, citations=[], sentences=[])
    panel = render.sources_panel([(0, answered), (1, answered)])
    assert panel.count("<section") == 2
    assert '<section class="src-turn" data-turn="0" hidden>' in panel
    assert '<section class="src-turn" data-turn="1">' in panel
    after_abstention = render.sources_panel([(0, answered), (1, abstained)])
    assert after_abstention.count("<section") == 1 and "hidden" in after_abstention
    assert "src-hint" in render.sources_panel([])
    assert render.sources_panel([(0, None)]) == ""


def test_streaming_message_shows_sentences_status_and_rewrite():
    msg = render.streaming_message(["Kan Zaw signed [1]."], "What did Kan Zaw sign?", "What did he sign?", "Writing…")
    assert _shown(msg).splitlines() == ["Kan Zaw signed [1].", "Writing…", "Searched for: “What did Kan Zaw sign?”"]
    assert render.streaming_message([], "", "q?", "Searching…") == '<small class="status">Searching…</small>'


def test_a_passage_from_a_paged_document_shows_its_page():
    paged = P1.model_copy(update={"source": "docs/report.pdf", "page": 2})
    section = render.sources_section(_answer(passages=[paged, P2]), turn=0, visible=True)
    card_1 = section[section.index('id="src-0-1"'):section.index('id="src-0-2"')]
    assert 'class="src-name">docs/report.pdf</span> <span class="src-page">page 2</span>' in card_1
    assert "page" not in section[section.index('id="src-0-2"'):].split("</header>")[0]  # unpaged: no page
