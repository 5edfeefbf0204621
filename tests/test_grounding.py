"""Grounding with the real default model (SmolLM2-135M via llama.cpp) over the shared dev questions.

Each question is answered once (module fixture); the tests then check what reached the user.
"""

from __future__ import annotations

import re

import pytest

from assistant.models import ABSTENTION_TEXT, Answer
from assistant.textutil import canonical_number, is_number, words
from assistant.verifier import GroundingVerifier

pytestmark = pytest.mark.model

#: Floor on the share of answerable `fact` questions whose verified answer holds all their key
#: facts. Measured 4/12 = 0.33 on this machine (greedy decoding, prompt answer@2, top_k 4); the
#: floor is one question below that, for llama.cpp's numeric differences across builds and CPUs.
KEY_FACT_FLOOR = 3 / 12


@pytest.fixture(scope="module")
def answers(real_assistant, dev_questions) -> dict[str, tuple[dict, Answer]]:
    return {q["id"]: (q, real_assistant.ask(q["question"])) for q in dev_questions}


def _has_key_facts(answer: Answer, key_facts: list[str]) -> bool:
    text = " ".join(answer.sentences).lower()
    return all(any(alt.strip().lower() in text for alt in fact.split("|")) for fact in key_facts)


def test_every_citation_points_to_a_retrieved_passage_and_quotes_the_source(answers, corpus_text) -> None:
    n = 0
    for qid, (_, a) in answers.items():
        by_id = {p.passage_id: p for p in a.passages}
        for c in a.citations:
            n += 1
            assert c.passage_id in by_id, (qid, c)
            p = by_id[c.passage_id]
            assert p.start <= c.start < c.end <= p.end, (qid, c)
            assert corpus_text[c.start:c.end] == c.quote, (qid, c)
            assert f"[{c.passage_id}]" in a.answer
        for p in a.passages:
            assert corpus_text[p.start:p.end] == p.text
    assert n > 0, "no answer was cited at all"


def test_every_sentence_shown_is_supported_by_its_quote(answers) -> None:
    verifier = GroundingVerifier()
    for qid, (_, a) in answers.items():
        if a.abstained:
            assert a.answer == ABSTENTION_TEXT and not a.citations and not a.sentences, qid
            continue
        for i, sentence in enumerate(a.sentences):
            quotes = " ".join(c.quote for c in a.citations if c.sentence_index == i)
            assert quotes, (qid, sentence)
            quote_words = {w.lower() for w in words(quotes)}
            for w in words(sentence):
                if is_number(w):
                    assert canonical_number(w) in {canonical_number(q) for q in quote_words}, (qid, sentence, w)
            assert verifier.verify_sentence(sentence, a.passages).supported, (qid, sentence)


def test_unanswerable_questions_abstain(answers) -> None:
    for qid, (q, a) in answers.items():
        if q["kind"] == "unanswerable":
            assert a.abstained, (qid, a.answer, a.raw_answer)
            assert a.citations == []


def test_false_premise_is_declined_or_corrected(answers) -> None:
    for qid, (q, a) in answers.items():
        if q["kind"] == "false_premise":
            assert a.abstained or _has_key_facts(a, q["key_facts"]), (qid, a.answer)


def test_the_two_known_hallucinations_never_reach_the_user(real_assistant, corpus_text) -> None:
    nuclear = real_assistant.ask("Which Russian corporation is Myanmar negotiating with on nuclear power?")
    if not nuclear.abstained:
        names = {w for s in nuclear.sentences for w in words(s) if w[0].isupper()}
        assert names <= {w for w in words(corpus_text)}, nuclear.answer
    population = real_assistant.ask("What is the population of Myanmar?")
    assert population.abstained, population.answer
    assert not re.search(r"\d", population.answer)


def test_key_fact_rate_is_at_least_the_floor(answers, capsys) -> None:
    facts = [(qid, q, a) for qid, (q, a) in answers.items() if q["answerable"] and q["kind"] == "fact"]
    hits = [qid for qid, q, a in facts if _has_key_facts(a, q["key_facts"])]
    answerable_abstained = [qid for qid, q, a in facts if a.abstained]
    unanswerable = [a for _, (q, a) in answers.items() if not q["answerable"] and q["kind"] == "unanswerable"]
    latencies = sorted(a.timings.total_s for _, (_, a) in answers.items())
    rate = len(hits) / len(facts)
    with capsys.disabled():  # shown in the test run's output, passed or not
        print(
            f"\nkey-fact rate {len(hits)}/{len(facts)} = {rate:.2f} (floor {KEY_FACT_FLOOR:.2f}); "
            f"abstention on unanswerable {sum(a.abstained for a in unanswerable)}/{len(unanswerable)}; "
            f"false abstention {len(answerable_abstained)}/{len(facts)}; "
            f"latency p50 {latencies[len(latencies) // 2]:.2f}s p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f}s"
        )
    assert rate >= KEY_FACT_FLOOR, f"key facts found for {hits} only"
