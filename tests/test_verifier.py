"""The grounding verifier on crafted answers: invented names and numbers, bad citations, uncited text."""

from __future__ import annotations

import pytest

from assistant.models import ABSTENTION_TEXT, Passage
from assistant.verifier import GroundingVerifier


def _passage(corpus: str, pid: int, needle: str, paragraphs: int = 1) -> Passage:
    """``paragraphs`` corpus paragraphs from the one containing ``needle``, as a retrieved passage."""
    start = corpus.index(needle)
    start = corpus.rfind("\n", 0, start) + 1
    end = start
    for _ in range(paragraphs):
        end = corpus.find("\n", end + 1)
    end = len(corpus) if end < 0 else end
    return Passage(passage_id=pid, chunk_id=f"c{pid}", source="article.txt", start=start, end=end,
                   score=0.5, text=corpus[start:end])


@pytest.fixture
def passages(corpus_text: str) -> list[Passage]:
    return [
        _passage(corpus_text, 1, "On the first count"),          # Rosatom, jets
        _passage(corpus_text, 2, "The head of Myanmar", paragraphs=2),          # Putin's invitation
        _passage(corpus_text, 3, "Russia has also played"),       # Kan Zaw
    ]


V = GroundingVerifier()


def _check_citations(result, passages, corpus: str) -> None:
    ids = {p.passage_id for p in passages}
    for c in result.citations:
        assert c.passage_id in ids
        assert corpus[c.start:c.end] == c.quote


def test_supported_cited_sentence_is_kept_with_exact_quote(passages, corpus_text) -> None:
    r = V.verify("Which Russian corporation is Myanmar negotiating with on nuclear power?",
                 "Myanmar's junta has begun negotiations with Rosatom, Russia's state-run nuclear corporation [1].", passages)
    assert not r.abstained
    assert r.render() == "Myanmar's junta has begun negotiations with Rosatom, Russia's state-run nuclear corporation [1]."
    assert len(r.citations) == 1 and "Rosatom" in r.citations[0].quote
    _check_citations(r, passages, corpus_text)


def test_invented_corporation_name_is_removed_and_the_answer_abstains(passages) -> None:
    raw = "Myanmar is negotiating with Gazprom, Russia's state-run nuclear corporation [1]."
    r = V.verify("Which Russian corporation is Myanmar negotiating with on nuclear power?", raw, passages)
    assert r.abstained and r.render() == ABSTENTION_TEXT
    assert r.citations == []
    assert "gazprom" in r.removed[0].reason


def test_invented_population_number_is_removed(passages) -> None:
    raw = "The population of Myanmar is 54 million people [2]."
    r = V.verify("What is the population of Myanmar?", raw, passages)
    assert r.abstained
    assert "54" in r.removed[0].reason


def test_invented_sentence_is_cut_while_supported_one_stays(passages, corpus_text) -> None:
    raw = ("Putin invited Min Aung Hlaing to Russia [2]. "
           "They will also visit Moscow's Red Square in 2025 [2].")
    r = V.verify("Who invited Min Aung Hlaing to Russia?", raw, passages)
    assert not r.abstained
    assert r.sentences == ["Putin invited Min Aung Hlaing to Russia."]
    assert r.citations[0].passage_id == 2
    assert len(r.removed) == 1
    _check_citations(r, passages, corpus_text)


def test_out_of_range_citation_is_dropped_and_sentence_recited(passages, corpus_text) -> None:
    r = V.verify("Who invited him?", "He was invited by President Vladimir Putin [7].", passages)
    assert not r.abstained
    assert "[7]" not in r.render()
    assert r.citations[0].passage_id == 2
    _check_citations(r, passages, corpus_text)


def test_wrong_citation_is_corrected_to_the_supporting_passage(passages) -> None:
    r = V.verify("Who is the junta's investment minister?", "Kan Zaw is the junta's investment minister [1].", passages)
    assert r.render() == "Kan Zaw is the junta's investment minister [3]."


def test_uncited_supported_sentence_gets_a_citation(passages) -> None:
    r = V.verify("Who is the junta's investment minister?", "Kan Zaw is the junta's investment minister.", passages)
    assert r.render() == "Kan Zaw is the junta's investment minister [3]."
    assert r.citations[0].sentence_index == 0


def test_citation_marker_after_the_period_belongs_to_the_sentence_before(passages) -> None:
    r = V.verify("Who is the junta's investment minister, and who invited Min Aung Hlaing?",
                 "Kan Zaw is the junta's investment minister. [3] Putin invited him. [2]", passages)
    assert [c.passage_id for c in r.citations] == [3, 2]


def test_model_saying_it_cannot_answer_becomes_the_fixed_abstention(passages) -> None:
    r = V.verify("Who won the World Cup?", "The documents do not contain the answer.", passages)
    assert r.abstained and r.render() == ABSTENTION_TEXT


def test_supported_but_off_topic_sentence_does_not_answer(passages) -> None:
    r = V.verify("Who won the most recent football World Cup?", "Kan Zaw is the junta's investment minister [3].", passages)
    assert r.abstained and "address" in (r.abstention_reason or "")


def test_quantity_question_needs_a_number(passages) -> None:
    raw = "Min Aung Hlaing brokered deals for modern Russian-made jet fighters [1]."
    r = V.verify("What was the price of the jet fighters Myanmar bought?", raw, passages)
    assert r.abstained and "quantity" in (r.abstention_reason or "")


def test_paraphrase_with_one_unsupported_content_word_is_removed(passages) -> None:
    strict = V.verify("Who invited the junta leader?", "Putin angrily and secretly invited the leader [2].", passages)
    assert strict.abstained


def test_every_kept_sentence_is_supported_by_its_quote(passages, corpus_text) -> None:
    raw = ("Rosatom is Russia's state-run nuclear corporation [1]. Kan Zaw is the investment minister [3]. "
           "The Dawei project was suspended in 2013 [3]. It cost 8 billion dollars [3].")
    r = V.verify("Tell me about Rosatom, Kan Zaw and Dawei.", raw, passages)
    assert len(r.sentences) == 3
    assert r.removed[0].text.startswith("It cost 8 billion")
    _check_citations(r, passages, corpus_text)


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ValueError):
        GroundingVerifier(min_content_coverage=0)


def test_unfinished_last_sentence_at_the_token_limit_is_removed(passages) -> None:
    raw = "Kan Zaw is the junta's investment minister [3]. The Irrawaddy reported that Min Aung Hlaing will also meet with Russian"
    cut = V.verify("Who is the junta's investment minister?", raw, passages, truncated=True)
    assert cut.sentences == ["Kan Zaw is the junta's investment minister."]
    assert cut.removed[0].reason.startswith("unfinished")
    finished = V.verify("Who is the junta's investment minister?", raw + ".", passages, truncated=True)
    assert len(finished.removed) == 0 or not finished.removed[0].reason.startswith("unfinished")


def test_an_answer_that_only_shares_topic_words_does_not_address_the_question(passages) -> None:
    # "Russia" and "Min Aung Hlaing" are in most passages; "invited" is the question's focus.
    raw = "Min Aung Hlaing has made three visits to Russia [1]."
    r = V.verify("Who invited Min Aung Hlaing to Russia?", raw, passages)
    assert r.abstained and "invit" in (r.abstention_reason or "")
    ok = V.verify("Who invited Min Aung Hlaing to Russia?", "Putin invited Min Aung Hlaing to Russia [2].", passages)
    assert not ok.abstained


def test_when_question_needs_a_time(passages) -> None:
    raw = "Min Aung Hlaing brokered deals for modern Russian-made jet fighters [1]."
    r = V.verify("When did Min Aung Hlaing broker deals for jet fighters?", raw, passages)
    assert r.abstained and "when" in (r.abstention_reason or "")
    dated = V.verify("When was the Dawei project suspended?", "The Dawei project was suspended in 2013 [3].", passages)
    assert not dated.abstained


def test_a_number_about_something_else_does_not_answer_a_quantity_question(passages) -> None:
    raw = "The Dawei project was suspended in 2013 [3]."
    r = V.verify("What is the population of the Dawei region?", raw, passages)
    assert r.abstained and "population" in (r.abstention_reason or "")
    ok = V.verify("How many visits has Min Aung Hlaing made to Russia?",
                  "Min Aung Hlaing has made three visits to Russia [1].", passages)
    assert not ok.abstained


def test_a_sentence_naming_its_subject_as_its_object_is_removed(passages) -> None:
    raw = "Min Aung Hlaing is expected to meet with Min Aung Hlaing, the head of Myanmar's besieged military junta [2]."
    r = V.verify("Which Russian officials is Min Aung Hlaing expected to meet?", raw, passages)
    assert r.abstained and "degenerate" in r.removed[0].reason


# -- answers that say nothing, or too much (cases from a trial of the answer checks) ---------------

_REFUNDS = "Refunds are issued within 14 days of receiving the returned item. Shipping is free for orders over 50 euros."
_GATES = "Deliveries arrive at the North Gate within two days. Parking is available at the South Gate for visitors."


def _two_passages():
    from assistant.models import Passage

    return [Passage(passage_id=1, chunk_id="r", source="r.txt", start=0, end=len(_REFUNDS), score=0.5, text=_REFUNDS),
            Passage(passage_id=2, chunk_id="g", source="g.txt", start=0, end=len(_GATES), score=0.5, text=_GATES)]


@pytest.mark.parametrize("question, raw", [
    ("When are refunds issued?", "Refund rules [1]."),
    ("What about delivery?", "The vendor notes say about delivery: [1]"),
    ("When can refunds be issued?", "Question: When can refunds be issued [1]?"),
    ("How long does delivery take?", "Deliveries arrive at the North Gate in one day [2]."),
])
def test_answers_that_state_nothing_or_a_number_no_passage_has_are_not_shown(question, raw) -> None:
    assert GroundingVerifier().verify(question, raw, _two_passages()).abstained


def test_a_supported_but_unrelated_sentence_is_not_appended_to_the_answer() -> None:
    raw = ("Parking is available at the South Gate for visitors [2]. "
           "Refunds are issued within 14 days of receiving the returned item [1].")
    result = GroundingVerifier().verify("Where can visitors park?", raw, _two_passages())
    assert result.sentences == ["Parking is available at the South Gate for visitors."]
    assert [c.passage_id for c in result.citations] == [2] and result.citations[0].sentence_index == 0
    assert result.removed[-1].reason == "supported, but does not address the question"
