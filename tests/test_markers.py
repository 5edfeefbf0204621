"""Citation marker forms in model replies (issue 12, item 4): parsed once, in assistant.markers.

Before, only ``[n]``-style markers were read: ``[^1]``, ``[1-2]``, ``【1】`` or a final ``(1)`` stayed
in the sentence as words, the sentence was not supported, and the assistant abstained.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.composition import build_assistant, build_chunker, build_store
from assistant.llm import ScriptedChatModel
from assistant.markers import parse_markers
from index.pipeline import index_documents

POLICY = """Returns policy of the Northwind store.

Customers may return unused items within 30 days of delivery. Refunds are issued within 14 days of receiving the return. The original receipt is required for every warranty claim.

Shipping is free for orders above 50 euros. Orders below that pay a flat fee of 4 euros. Express delivery takes two working days.

The conditions for a return are listed in the store rules (2022). A returned item must meet two conditions: (1) it is unused and (2) it is in its original packaging. Gift cards are never refunded [3].
"""
SENTENCE = "Refunds are issued within 14 days of receiving the return"


@pytest.mark.parametrize(("sentence", "cited"), [
    ("Refunds are issued within 14 days [1].", [1]),
    ("Refunds are issued within 14 days [^1].", [1]),
    ("Refunds are issued within 14 days [^2][^1].", [2, 1]),
    ("Refunds are issued within 14 days [1-3].", [1, 2, 3]),
    ("Refunds are issued within 14 days [1–3].", [1, 2, 3]),
    ("Refunds are issued within 14 days [1 — 2].", [1, 2]),
    ("Refunds are issued within 14 days [1, 3].", [1, 3]),
    ("Refunds are issued within 14 days [1][2].", [1, 2]),
    ("Refunds are issued within 14 days [1 and 2].", [1, 2]),
    ("Refunds are issued within 14 days [Passage 2].", [2]),
    ("Refunds are issued within 14 days [Sources 1-2, 4].", [1, 2, 4]),
    ("Refunds are issued within 14 days 【1】.", [1]),
    ("Refunds are issued within 14 days (1).", [1]),
    ("Refunds are issued within 14 days (1, 2).", [1, 2]),
    ("Refunds are issued within 14 days (Passage 3).", [3]),
    ("Refunds are issued within 14 days [1] (2).", [1, 2]),
])
def test_every_marker_form_names_its_passages(sentence: str, cited: list[int]) -> None:
    got = parse_markers(sentence, range(1, 5))
    assert (got.text, got.cited, got.dropped) == ("Refunds are issued within 14 days.", cited, [])


@pytest.mark.parametrize(("sentence", "cited", "dropped"), [
    ("Refunds take 14 days [7].", [], [7]),
    ("Refunds take 14 days [^9].", [], [9]),
    ("Refunds take 14 days [3-6].", [3, 4], [5, 6]),
    ("Refunds take 14 days 【2】【8】.", [2], [8]),
])
def test_bracketed_numbers_of_no_retrieved_passage_are_dropped(sentence: str, cited: list[int],
                                                               dropped: list[int]) -> None:
    got = parse_markers(sentence, range(1, 5))
    assert (got.text, got.cited, got.dropped) == ("Refunds take 14 days.", cited, dropped)


@pytest.mark.parametrize("sentence", [
    "The rules were set in the store rules (2022).",  # a year
    "Refunds take 14 days (7).",  # a number of no retrieved passage: text, not a dropped citation
    "(1) it is unused and (2) it is in its original packaging.",  # list items
    "An item must be (1) unused and in its packaging.",  # not at the end of the sentence
    "Refunds are described in section 4 (1-2022).",  # a wide "range" is no citation
])
def test_parenthesised_numbers_that_are_text_stay_text(sentence: str) -> None:
    got = parse_markers(sentence, range(1, 5))
    assert (got.text, got.cited, got.dropped) == (sentence, [], [])


def test_a_documents_own_bracketed_numbers_are_not_citations() -> None:
    sources = ["Gift cards are never refunded [3].", "Each item must be unused (2)."]
    got = parse_markers("Gift cards are never refunded [3] [1].", range(1, 5), sources)
    assert (got.text, got.cited) == ("Gift cards are never refunded [3].", [1])
    got = parse_markers("Each item must be unused (2).", range(1, 5), sources)
    assert (got.text, got.cited) == ("Each item must be unused (2).", [])


def test_a_range_wider_than_max_range_is_its_end_numbers() -> None:
    assert parse_markers("It is so [1-2022].", range(1, 5)).cited == [1]


# -- through the whole service, generative mode ----------------------------------------------------


@pytest.fixture(scope="module")
def policy_store(tmp_path_factory):
    from assistant.settings import load_settings

    tmp = tmp_path_factory.mktemp("markers")
    settings = load_settings(data_dir=tmp / "data", embedding_backend="fake", llm_backend="fake",
                             answer_mode="generative", chunk_size=32, chunk_overlap=0)
    doc = Path(tmp / "returns-policy.txt")
    doc.write_text(POLICY, encoding="utf-8")
    store = build_store(settings)
    index_documents([doc], store, build_chunker(settings))
    return settings, store


def _ask(policy_store, reply: str):
    settings, store = policy_store
    return build_assistant(settings, store=store, llm=ScriptedChatModel(replies=[reply])).ask("When are refunds issued?")


@pytest.mark.parametrize("marker", ["[^1]", "[1-2]", "[1–2]", "(1)", "[1, 2]", "[1][2]", "【1】", "[^1][^2]"])
def test_a_supported_sentence_is_kept_whatever_its_marker_form(policy_store, marker: str) -> None:
    answer = _ask(policy_store, f"{SENTENCE} {marker}.")
    assert not answer.abstained, answer.removed
    assert answer.sentences == [SENTENCE + "."]
    source = next(p for p in answer.passages if SENTENCE in p.text)
    assert [c.passage_id for c in answer.citations] == [source.passage_id]
    assert answer.answer == f"{SENTENCE} [{source.passage_id}]."


def test_out_of_range_markers_never_become_links(policy_store) -> None:
    from ui.render import answer_message

    answer = _ask(policy_store, f"{SENTENCE} [9].")
    assert not answer.abstained and answer.sentences == [SENTENCE + "."]
    shown = answer_message(answer, turn=0)
    assert "#src-0-9" not in shown and "[9]" not in shown
    valid = {p.passage_id for p in answer.passages}
    assert {c.passage_id for c in answer.citations} <= valid
