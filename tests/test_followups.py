"""Follow-up questions in a conversation, measured with the real default configuration.

``tests/data/followups.jsonl`` (24 questions over the bundled article, each asked after one earlier
turn) holds the kinds of follow-up of issue 12: a pronoun ("Who invited him?"), an ellipsis ("And
the SAC?"), a topic switch (a full question on another topic), small talk ("Thanks!") and follow-ups
the article does not answer. Each is asked through the evaluation runner, the same code path as the
chat, and scored against its labels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.dataset import load_questions
from assistant.evaluation.runner import run_questions
from assistant.evaluation.sources import SourceTexts

pytestmark = pytest.mark.model

FOLLOWUPS = Path(__file__).parent / "data" / "followups.jsonl"

#: Measured 2026-11-29 with the default configuration: 21/24 (first look, before the ellipsis and
#: small-talk rules: 18/24). One below, since the pronoun follow-ups go through SmolLM2's rewrite,
#: whose output varies across llama.cpp builds and CPUs.
PASS_FLOOR = 20


@pytest.fixture(scope="module")
def rows(real_assistant):
    qset = load_questions(FOLLOWUPS, strict=True)
    return run_questions(real_assistant, qset.questions, SourceTexts.from_files())


def test_follow_ups_pass_at_least_the_measured_floor(rows) -> None:
    failed = [(r.id, r.question, r.standalone_question, r.answer[:80]) for r in rows if not r.metrics.passed]
    assert sum(bool(r.metrics.passed) for r in rows) >= PASS_FLOOR, failed


def test_small_talk_is_answered_without_retrieval_or_citations(rows) -> None:
    talk = [r for r in rows if r.kind == "smalltalk"]
    assert len(talk) == 5
    for r in talk:
        assert r.answer_kind == "smalltalk" and r.retrieved == [] and r.citations == [], r
        assert r.standalone_question == r.question  # never rewritten into the earlier topic


def test_a_full_question_on_another_topic_is_searched_as_asked(rows) -> None:
    for r in rows:
        if r.kind == "topic_switch":
            assert r.standalone_question == r.question, r
