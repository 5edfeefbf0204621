"""Follow-up questions: the condense step's rewrite, its fallback, and the rewrite the chat shows."""

from __future__ import annotations

import pytest

from assistant.llm import ScriptedChatModel
from assistant.models import Passage
from assistant.prompting import load_prompt
from assistant.service import Assistant, Turn
from assistant.settings import load_settings
from assistant.verifier import GroundingVerifier

PASSAGE = Passage(passage_id=1, chunk_id="a:0", source="a.txt", start=0, end=96, score=0.8,
                  text="Maxim Reshetnikov had signed an agreement with Kan Zaw, the junta's investment minister, in May.")
FIRST = Turn("Who is the junta's investment minister?", "Kan Zaw is the junta's investment minister [1].")


def _assistant(replies: list[str], tmp_path, history_turns: int = 4) -> tuple[Assistant, list[str], ScriptedChatModel]:
    queries: list[str] = []

    def search(query: str, k: int) -> list[Passage]:
        queries.append(query)
        return [PASSAGE]

    model = ScriptedChatModel(replies=list(replies))
    settings = load_settings(data_dir=tmp_path, llm_backend="fake", embedding_backend="fake",
                             history_turns=history_turns)
    assistant = Assistant(settings, search, lambda: model, load_prompt("answer"), load_prompt("condense"),
                          GroundingVerifier(), "scripted")
    return assistant, queries, model


@pytest.mark.parametrize("reply", [
    "The junta's investment minister was Kan Zaw [1].",           # answered instead of rewriting
    "The documents do not contain the answer.",                    # refused
    "What did he sign?",                                           # pronoun left unresolved
    "",                                                            # nothing
    "What " + "very " * 200 + "long question?",                    # implausibly long
])
def test_unusable_rewrite_falls_back_to_follow_up_with_previous_question(reply, tmp_path):
    assistant, _, _ = _assistant([reply], tmp_path)
    assert assistant.condense("What did he sign?", [FIRST]) == \
        "What did he sign? (Who is the junta's investment minister?)"


@pytest.mark.parametrize("follow_up", ["The price?", "What about them?", "Where was this signed?"])
def test_short_or_referring_follow_ups_count_as_dependent(follow_up, tmp_path):
    assistant, _, _ = _assistant(["Kan Zaw."], tmp_path)
    assert assistant.condense(follow_up, [FIRST]) == f"{follow_up} ({FIRST.question})"


@pytest.mark.parametrize("reply", ["The documents do not contain the answer.", "Brazil won it [1]."])
def test_self_contained_question_is_kept_when_the_rewrite_is_unusable(reply, tmp_path):
    assistant, _, _ = _assistant([reply], tmp_path)
    assert assistant.condense("Who won the football World Cup?", [FIRST]) == "Who won the football World Cup?"


def test_usable_rewrite_is_used(tmp_path):
    assistant, _, model = _assistant(["Standalone question: What did Kan Zaw sign?"], tmp_path)
    assert assistant.condense("What did he sign?", [FIRST]) == "What did Kan Zaw sign?"
    prompt = model.calls[0][-1].content
    assert "User: Who is the junta's investment minister?" in prompt and "Follow-up question: What did he sign?" in prompt


def test_standalone_follow_up_returned_unchanged_is_kept(tmp_path):
    assistant, _, _ = _assistant(["Who invited Min Aung Hlaing to Russia?"], tmp_path)
    assert assistant.condense("Who invited Min Aung Hlaing to Russia?", [FIRST]) == "Who invited Min Aung Hlaing to Russia?"


def test_no_history_means_no_model_call(tmp_path):
    assistant, _, model = _assistant(["never used?"], tmp_path)
    assert assistant.condense("What did he sign?", []) == "What did he sign?"
    assert model.calls == []


def test_history_turns_zero_disables_rewriting(tmp_path):
    assistant, _, model = _assistant(["What did Kan Zaw sign?"], tmp_path, history_turns=0)
    assert assistant.condense("What did he sign?", [FIRST]) == "What did he sign?"
    assert model.calls == []


def test_rewrite_is_announced_and_used_for_retrieval(tmp_path):
    assistant, queries, _ = _assistant(["The minister was Kan Zaw.", "He signed an agreement [1]."], tmp_path)
    events = list(assistant.stream("What did he sign?", [FIRST]))
    rewrite = [e.text for e in events if e.kind == "rewrite"]
    assert rewrite == ["What did he sign? (Who is the junta's investment minister?)"]
    assert queries == rewrite
    final = events[-1].answer
    assert final.question == "What did he sign?" and final.standalone_question == rewrite[0]


@pytest.mark.parametrize(("follow_up", "previous", "standalone"), [
    ("And the prime minister?", "Who is the junta's investment minister?", "Who is the prime minister?"),
    ("What about Rosatom?", "What is the SAC?", "What is Rosatom?"),
    ("and besides Putin", "Who will Min Aung Hlaing meet tomorrow?", "Who will Min Aung Hlaing meet tomorrow besides Putin?"),
    ("And in which year?", "Which project did Russia agree to restart?", "In which year did Russia agree to restart?"),
    ("How about the port?", "When was the economic zone suspended?", "When was the port suspended?"),
    ("What about Japan?", "Did Russia recognize the coup?", "Did Japan recognize the coup?"),
    ("and on which day?", "In what month was the harbour closed?", "On which day was the harbour closed?"),
])
def test_elliptical_follow_up_takes_the_previous_question_s_frame_without_a_model_call(follow_up, previous, standalone,
                                                                                      tmp_path):
    assistant, _, model = _assistant(["What did Kan Zaw sign?"], tmp_path)
    assert assistant.condense(follow_up, [Turn(previous, "An answer [1].")]) == standalone
    assert model.calls == []


@pytest.mark.parametrize("follow_up", [
    "And who signed it?",          # a full question with a verb and a pronoun: not a fragment
    "What about the agreement he signed?",  # a verb: not a fragment
    "Thanks, and the date?",       # does not open the follow-up with and / what about
])
def test_non_elliptical_follow_ups_are_not_given_the_previous_frame(follow_up, tmp_path):
    from assistant.followups import ellipsis_rewrite

    assert ellipsis_rewrite(follow_up, "Who is the junta's investment minister?") is None
    assert ellipsis_rewrite(follow_up, "Did the junta's investment minister sign it?") is None


@pytest.mark.parametrize("follow_up, previous, standalone", [
    ("What about Lena Hart?", "When did the council close the harbour?", None),  # a person is a new topic
    ("And Lena Hart?", "Why was the budget cut?", None),
    ("What about Lena Hart?", "Did Tom Reyes approve the budget?", "Did Lena Hart approve the budget?"),
])
def test_a_person_fills_only_a_name_s_slot(follow_up, previous, standalone) -> None:
    from assistant.followups import ellipsis_rewrite

    assert ellipsis_rewrite(follow_up, previous) == standalone


def test_a_wh_fragment_after_a_yes_no_question_has_no_slot() -> None:
    from assistant.followups import ellipsis_rewrite

    assert ellipsis_rewrite("And when?", "Did the junta's investment minister sign it?") is None


def test_stream_counts_only_model_calls_made(tmp_path):
    assistant, _, model = _assistant(["never used?"], tmp_path)
    final = list(assistant.stream("And the prime minister?", [FIRST]))[-1].answer
    assert model.calls == [] and final.timings.model_calls == 0
