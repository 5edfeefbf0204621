"""The answer and follow-up prompts fit the model's context window (issue 12, item 2).

A text whose sentences are long and tokenize badly (Cyrillic with numbers, chunked at the largest
``chunk_size``) made three evidence sentences exceed SmolLM2's 2048-token window: llama-cpp-python
raised ``ValueError: Requested tokens (...) exceed context window``. The prompt is now counted with
the model's own tokenizer and the lowest-ranked evidence is left out first; the answer records it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from assistant.composition import build_assistant, build_chunker, build_store
from assistant.llm import ScriptedChatModel
from assistant.service import EVIDENCE_IN_PROMPT, Turn
from index.pipeline import index_documents

QUESTION = "When did Rosatom build the new reactor at Kursk?"
_WORDS = ("бюджет город область население доход расход строительство школа больница дорога мост завод "
          "рабочие зарплата налог отчёт комиссия решение проект").split()


def cyrillic_report(path: Path) -> Path:
    """Twelve one-sentence paragraphs of about 470 cl100k tokens: an English clause, then Cyrillic
    words and numbers (about 1.7x more SmolLM2 tokens than cl100k ones)."""
    rng = random.Random(2)
    paras = []
    for i in range(12):
        body = []
        for j in range(110):
            body.append(rng.choice(_WORDS))
            if j % 4 == 0:
                body.append(str(rng.randint(1000, 99999)))
        paras.append(f"Rosatom built the new reactor at Kursk in {2010 + i} " + " ".join(body) + ".")
    path.write_text("\n\n".join(paras), encoding="utf-8")
    return path


def _indexed(settings, tmp_path: Path):
    store = build_store(settings)
    index_documents([cyrillic_report(tmp_path / "report-ru.txt")], store, build_chunker(settings))
    return store


@pytest.fixture
def budget_settings(fake_settings):
    return fake_settings.model_copy(update={"chunk_size": 512, "chunk_overlap": 0})


def _blocks(model: ScriptedChatModel) -> list[str]:
    return [b for b in str(model.calls[-1][-1].content).split("\n\n") if b.startswith("[")]


def test_evidence_is_dropped_lowest_ranked_first_to_fit_the_window(budget_settings, tmp_path) -> None:
    store = _indexed(budget_settings, tmp_path)
    roomy = ScriptedChatModel(n_ctx=100_000, max_tokens=budget_settings.max_tokens)
    full = build_assistant(budget_settings, store=store, llm=roomy).ask(QUESTION)
    assert full.evidence_dropped == 0 and len(_blocks(roomy)) == EVIDENCE_IN_PROMPT
    # a window one token too small for the whole prompt and the answer reserve
    n_ctx = full.timings.prompt_tokens + budget_settings.max_tokens - 1
    model = ScriptedChatModel(n_ctx=n_ctx, max_tokens=budget_settings.max_tokens)
    answer = build_assistant(budget_settings.model_copy(update={"n_ctx": n_ctx}), store=store, llm=model).ask(QUESTION)
    sent = model.get_num_tokens_from_messages(model.calls[-1])
    assert sent + model.max_tokens <= model.n_ctx
    assert answer.timings.prompt_tokens == sent
    assert 1 <= answer.evidence_dropped < EVIDENCE_IN_PROMPT
    assert len(_blocks(model)) == EVIDENCE_IN_PROMPT - answer.evidence_dropped
    assert set(_blocks(model)) < set(_blocks(roomy))
    assert '"evidence_dropped":' in answer.model_dump_json()  # shown in the API's JSON
    assert answer.answer_kind in ("generative", "abstained")


def test_no_evidence_fits_quotes_the_evidence_instead_of_failing(budget_settings, tmp_path) -> None:
    settings = budget_settings.model_copy(update={"n_ctx": 600})
    model = ScriptedChatModel(n_ctx=600, max_tokens=settings.max_tokens)
    answer = build_assistant(settings, store=_indexed(settings, tmp_path), llm=model).ask(QUESTION)
    assert model.calls == []  # not sent a prompt it cannot hold
    assert answer.evidence_dropped == EVIDENCE_IN_PROMPT
    assert answer.answer_kind == "extractive" and "context window" in (answer.notice or "")
    assert "Rosatom built the new reactor at Kursk" in answer.answer


def test_the_follow_up_prompt_leaves_out_the_oldest_turns_to_fit(budget_settings, tmp_path) -> None:
    settings = budget_settings.model_copy(update={"n_ctx": 1200})
    model = ScriptedChatModel(n_ctx=1200, max_tokens=settings.max_tokens, replies=["When did it open?"])
    a = build_assistant(settings, store=_indexed(settings, tmp_path), llm=model)
    old = [Turn(f"Question {i} about the budget?", "Бюджет город " * 40) for i in range(4)]
    a.condense("When did it open?", old)
    sent = model.calls[0]
    assert model.get_num_tokens_from_messages(sent) + model.max_tokens <= model.n_ctx
    history = str(sent[-1].content)
    assert "Question 3 about" in history and "Question 0 about" not in history  # newest kept


@pytest.mark.model
def test_real_model_answers_within_its_window(tmp_path) -> None:
    """Before: ValueError "Requested tokens (2372) exceed context window of 2048"."""
    from assistant.settings import load_settings

    # the largest chunk_size MiniLM reads whole is 254, whose three evidence sentences fit 2048 tokens:
    # a 768-token window (chunk_size up to 138 for it) is what overflows now
    settings = load_settings(data_dir=tmp_path / "data", answer_mode="generative", n_ctx=768, chunk_size=138,
                             chunk_overlap=0)
    a = build_assistant(settings, store=_indexed(settings, tmp_path))
    answer = a.ask(QUESTION)
    assert answer.evidence_dropped >= 1
    assert answer.timings.prompt_tokens + settings.max_tokens <= settings.n_ctx
    assert answer.answer_kind in ("generative", "abstained")
