"""answer_mode "select": the model picks one numbered evidence sentence (or none); the answer quotes it."""

from __future__ import annotations

import re

import pytest

from assistant.llm import ScriptedChatModel
from assistant.models import Passage
from assistant.prompting import load_prompt
from assistant.selector import candidates_block, parse_choice
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.verifier import GroundingVerifier

QUESTION = "Who is the junta's investment minister?"


TEXT = ("Kan Zaw is the junta's investment minister. Rosatom is a nuclear corporation. "
        "In May, the junta's investment minister, Kan Zaw, signed the port agreement.")
PASSAGE = Passage(passage_id=1, chunk_id="a:0", source="a.txt", start=0, end=len(TEXT), score=0.8, text=TEXT)


def _selecting(reply: str, tmp_path, text: str = TEXT) -> tuple[Assistant, ScriptedChatModel]:
    passage = PASSAGE.model_copy(update={"text": text, "end": len(text)})
    model = ScriptedChatModel(replies=[reply])
    settings = load_settings(data_dir=tmp_path, llm_backend="fake", embedding_backend="fake", answer_mode="select")
    return Assistant(settings, lambda q, k: [passage], lambda: model, load_prompt("answer"), load_prompt("condense"),
                     GroundingVerifier(), "scripted"), model


def _numbered(prompt: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d)\. (.+)$", prompt, re.M)}


@pytest.mark.parametrize("reply", ["1", "2"])
def test_the_chosen_candidate_is_quoted_with_exact_offsets(reply, tmp_path) -> None:
    assistant, model = _selecting(reply, tmp_path)
    answer = assistant.ask(QUESTION)
    shown = _numbered(model.calls[0][-1].content)
    assert len(shown) == 2 and "Rosatom" not in " ".join(shown.values())  # only sentences that pass the gates
    assert answer.answer_kind == "extractive" and answer.timings.model_calls == 1
    c = answer.citations[0]
    assert TEXT[c.start:c.end] == c.quote == answer.sentences[0]
    assert c.quote in shown[int(reply)]  # the pick decides which sentence (or its clause) is quoted


@pytest.mark.parametrize("reply, reason", [("0", "chose none"), ("I think the first one", "could not be read"),
                                           ("9", "could not be read")])
def test_none_or_an_unreadable_pick_is_an_abstention(reply, reason, tmp_path) -> None:
    assistant, _ = _selecting(reply, tmp_path)
    answer = assistant.ask(QUESTION)
    assert answer.abstained and answer.citations == [] and reason in answer.abstention_reason


def test_one_answering_sentence_needs_no_model_and_none_is_declined_without_one(tmp_path) -> None:
    assistant, model = _selecting("2", tmp_path, text="Kan Zaw is the junta's investment minister. Rosatom builds reactors.")
    assert "Kan Zaw" in assistant.ask(QUESTION).answer and model.calls == []
    assert assistant.ask("Who won the football World Cup?").abstained and model.calls == []


def test_candidate_list_and_reply_parsing() -> None:
    assert parse_choice(" 3", 4) == 3 and parse_choice("0", 4) == 0
    assert parse_choice("5", 4) is None and parse_choice("none", 4) is None


@pytest.mark.model
def test_the_real_model_replies_with_one_digit_under_the_grammar(real_settings) -> None:
    from assistant.evidence import rank
    from assistant.llm import build_llm
    from assistant.questions import analyse
    from assistant.selector import choose

    text = "Kan Zaw is the junta's investment minister. The port was suspended in 2013. Rosatom builds reactors."
    passages = [Passage(passage_id=1, chunk_id="a:0", source="a.txt", start=0, end=len(text), score=0.9, text=text)]
    q = analyse(QUESTION)
    ranked = rank(q, passages)
    pick = choose(build_llm(real_settings), load_prompt("select"), QUESTION, ranked[:3])
    assert pick in range(0, len(ranked[:3]) + 1)
    assert candidates_block(ranked[:2]).startswith("1. ")
