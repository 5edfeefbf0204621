"""Grounding over the shared dev questions, with the real default configuration (extractive answers
from MiniLM-ranked evidence) and with the real SmolLM2-135M model writing answers (``auto`` mode).

Each question is answered once per configuration (module fixtures); the tests then check what
reached the user.
"""

from __future__ import annotations

import re

import pytest

from assistant.models import ABSTENTION_TEXT, DECLINE_INSTRUCTION_TEXT, DECLINE_LANGUAGE_TEXT, Answer
from assistant.textutil import canonical_number, is_number, words
from assistant.verifier import GroundingVerifier

pytestmark = pytest.mark.model

#: Floors on the share of answerable questions whose answer holds all their key facts, per
#: configuration (README, "Answer modes"): measured 27/29 for both on 2026-11-29. The default is one
#: question below (MiniLM numeric differences across CPUs); the model configuration two below, since
#: a model answer that passes the check may still leave a key fact out, and llama.cpp's output
#: varies across builds and CPUs.
KEY_FACT_FLOOR = {"default": 26 / 29, "model": 25 / 29}


@pytest.fixture(scope="module", params=["default", "model"])
def answers(request, dev_questions) -> dict[str, tuple[dict, Answer]]:
    assistant = request.getfixturevalue("real_assistant" if request.param == "default" else "real_model_assistant")
    out = {q["id"]: (q, assistant.ask(q["question"])) for q in dev_questions}
    out["_config"] = request.param  # type: ignore[assignment]
    return out


def _rows(answers):  # noqa: ANN001, ANN202
    return [(k, v) for k, v in answers.items() if k != "_config"]


def _has_key_facts(answer: Answer, key_facts: list[str]) -> bool:
    text = " ".join(answer.sentences).lower()
    return all(any(alt.strip().lower() in text for alt in fact.split("|")) for fact in key_facts)


def test_every_citation_points_to_a_retrieved_passage_and_quotes_the_source(answers, corpus_text) -> None:
    n = 0
    for qid, (_, a) in _rows(answers):
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


def test_every_sentence_shown_is_supported_by_its_quote(answers, minilm) -> None:
    verifier = GroundingVerifier(embeddings=minilm)  # as the product builds it (synonyms by MiniLM)
    for qid, (_, a) in _rows(answers):
        if a.abstained:
            assert a.answer in (ABSTENTION_TEXT, DECLINE_LANGUAGE_TEXT, DECLINE_INSTRUCTION_TEXT), qid
            assert not a.citations and not a.sentences, qid
            continue
        for i, sentence in enumerate(a.sentences):
            quotes = " ".join(c.quote for c in a.citations if c.sentence_index == i)
            assert quotes, (qid, sentence)
            quote_words = {w.lower() for w in words(quotes)}
            for w in words(sentence):
                if is_number(w):
                    assert canonical_number(w) in {canonical_number(q) for q in quote_words}, (qid, sentence, w)
            verdict = verifier.verify_sentence(sentence, a.passages)
            assert verdict.supported and not verdict.trimmed, (qid, sentence, verdict.reason)


#: Unanswerable dev questions the default configuration answers anyway (measured; README "Limits"):
#: d20 asks for the name of the Duma's speaker, and the one sentence about him lists him right after
#: a named prime minister ("Mikhail Mishustin, the speaker of the Russian State Duma, and ...").
ALLOWED_WRONG_ANSWERS = 1


def test_unanswerable_questions_abstain(answers) -> None:
    wrong = [(qid, a.answer) for qid, (q, a) in _rows(answers) if q["kind"] == "unanswerable" and not a.abstained]
    assert len(wrong) <= ALLOWED_WRONG_ANSWERS, wrong
    for qid, (q, a) in _rows(answers):
        if q["kind"] == "unanswerable" and a.abstained:
            assert a.citations == []


def test_false_premise_and_stated_unknown_are_declined_or_corrected(answers) -> None:
    for qid, (q, a) in _rows(answers):
        if q["kind"] in ("false_premise", "stated_unknown"):
            assert a.abstained or _has_key_facts(a, q["key_facts"]), (qid, a.answer)


@pytest.mark.parametrize("which", ["real_assistant", "real_model_assistant"])
def test_the_two_known_hallucinations_never_reach_the_user(which, request, corpus_text) -> None:
    assistant = request.getfixturevalue(which)
    nuclear = assistant.ask("Which Russian corporation is Myanmar negotiating with on nuclear power?")
    if not nuclear.abstained:
        names = {w for s in nuclear.sentences for w in words(s) if w[0].isupper()}
        assert names <= {w for w in words(corpus_text)}, nuclear.answer
    population = assistant.ask("What is the population of Myanmar?")
    assert population.abstained, population.answer
    assert not re.search(r"\d", population.answer)


def test_the_real_model_is_called_and_its_verified_answers_are_shown(real_model_assistant) -> None:
    a = real_model_assistant.ask("Who invited Min Aung Hlaing to Russia?")
    assert a.timings.model_calls == 1 and a.raw_answer.strip()
    assert not a.abstained and "Putin" in a.answer
    assert a.answer_kind in ("generative", "extractive")  # extractive: the model's sentences failed verification
    assert (a.answer_kind == "extractive") == (a.notice is not None)


def test_key_fact_rate_is_at_least_the_floor(answers, capsys) -> None:
    config = answers["_config"]
    facts = [(qid, q, a) for qid, (q, a) in _rows(answers) if q["answerable"]]
    hits = [qid for qid, q, a in facts if _has_key_facts(a, q["key_facts"])]
    answerable_abstained = [qid for qid, q, a in facts if a.abstained]
    unanswerable = [a for _, (q, a) in _rows(answers) if not q["answerable"] and q["kind"] == "unanswerable"]
    latencies = sorted(a.timings.total_s for _, (_, a) in _rows(answers))
    rate = len(hits) / len(facts)
    floor = KEY_FACT_FLOOR[config]
    with capsys.disabled():  # shown in the test run's output, passed or not
        print(
            f"\n[{config}] key-fact rate {len(hits)}/{len(facts)} = {rate:.2f} (floor {floor:.2f}); "
            f"abstention on unanswerable {sum(a.abstained for a in unanswerable)}/{len(unanswerable)}; "
            f"false abstention {len(answerable_abstained)}/{len(facts)}; "
            f"latency p50 {latencies[len(latencies) // 2]:.2f}s p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f}s"
        )
    assert rate >= floor, f"key facts found for {hits} only"
