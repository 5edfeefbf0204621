"""The model as a selector, not a writer (``answer_mode = "select"``).

Instead of writing an answer, the model is shown the question and the best-ranked evidence
sentences, numbered, and replies with one number: the sentence that answers, or 0 for none. With
llama.cpp the reply is constrained by a grammar to one of those digits, so the model cannot write
anything else; the answer is then the chosen sentence quoted verbatim (its answering clause), with
its exact offsets, as in extractive mode. This is the "model as reranker/selector" alternative of
issue 8, measured against the deterministic selection in README ("Answer modes").
"""

from __future__ import annotations

import re
from typing import Any

from assistant.evidence import Evidence
from assistant.prompting import PromptTemplate

#: Candidate sentences shown to the model (one digit each, so at most 9).
SELECT_CANDIDATES = 4


def candidates_block(candidates: list[Evidence]) -> str:
    """The numbered candidate list of the select prompt: ``"1. sentence"`` lines, in rank order."""
    return "\n".join(f"{i}. {' '.join(e.text.split())}" for i, e in enumerate(candidates, start=1))


def digit_grammar(n: int) -> Any | None:
    """A llama.cpp grammar accepting exactly one of the digits 0..n, or None without llama_cpp."""
    try:
        from llama_cpp import LlamaGrammar
    except ImportError:  # pragma: no cover - every install has llama_cpp
        return None
    return LlamaGrammar.from_string(f"root ::= [0-{n}]", verbose=False)


def parse_choice(reply: str, n: int) -> int | None:
    """The chosen candidate (1..n), 0 for "none", or None when the reply names no number in range."""
    m = re.search(r"\d+", reply)
    if not m:
        return None
    value = int(m.group(0))
    return value if 0 <= value <= n else None


def choose(llm: Any, prompt: PromptTemplate, question: str, candidates: list[Evidence]) -> int | None:
    """Ask ``llm`` which candidate answers ``question``.

    Args:
        llm: A LangChain chat model; a ``LlamaCppChatModel`` gets the digit grammar, any other
            model's reply is parsed for its first number.
        prompt: The ``select`` template.
        question: The (standalone) question.
        candidates: The best-ranked evidence sentences, best first (1..9 of them).

    Returns:
        1..len(candidates) for a chosen sentence, 0 when the model says none answers, None when its
        reply cannot be read.
    """
    from assistant.llm import LlamaCppChatModel

    kwargs: dict[str, Any] = {"max_tokens": 2}
    if isinstance(llm, LlamaCppChatModel):
        grammar = digit_grammar(len(candidates))
        if grammar is not None:
            kwargs["grammar"] = grammar
    messages = prompt.to_langchain().format_messages(question=question, candidates=candidates_block(candidates))
    reply = llm.invoke(messages, **kwargs)
    return parse_choice(str(getattr(reply, "content", reply)), len(candidates))
