"""Optional LLM judge (OpenAI-compatible server): faithfulness and answer correctness, informative only.

Off unless a judge model is configured (``--judge-model`` or ``ASSISTANT_EVAL_JUDGE_MODEL``; server
``--judge-base-url`` or ``ASSISTANT_EVAL_JUDGE_BASE_URL``; key from ``OPENAI_API_KEY``). Needs the
``openai`` extra (``langchain-openai``), imported only when a judge is configured. Judge metrics are
marked ``[judge]`` everywhere and can never be thresholds.

The rubric is the binary one of LLM-as-a-judge (Zheng et al., "Judging LLM-as-a-Judge with
MT-Bench and Chatbot Arena", NeurIPS 2023, reference-guided grading): one YES/NO question per
answer, temperature 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from assistant.evaluation.records import QuestionResult

FAITHFULNESS_PROMPT = """You check whether an answer is supported by the quoted sources.
Sources:
{sources}

Answer: {answer}

Is every claim in the answer supported by the sources? Reply with one word: YES or NO."""

CORRECTNESS_PROMPT = """Question: {question}
Reference answer: {reference}
Candidate answer: {answer}

Does the candidate answer the question correctly, agreeing with the reference answer? A candidate
that says the documents do not contain the answer is correct only when the reference says so too.
Reply with one word: YES or NO."""


class JudgeUnavailableError(RuntimeError):
    """A judge is configured but cannot be built (extra not installed)."""


class UnreadableVerdictError(ValueError):
    """The judge replied with neither YES nor NO (a judge error, reported like a failed call)."""


@dataclass(frozen=True)
class JudgeConfig:
    """Which judge to use.

    Attributes:
        model: Model name on the OpenAI-compatible server.
        base_url: Server URL (None: OpenAI's).
    """

    model: str
    base_url: str | None = None

    @classmethod
    def resolve(cls, model: str | None, base_url: str | None) -> JudgeConfig | None:
        """From CLI values, falling back to ``ASSISTANT_EVAL_JUDGE_MODEL``/``_BASE_URL``; None when unset."""
        model = model or os.environ.get("ASSISTANT_EVAL_JUDGE_MODEL")
        if not model:
            return None
        return cls(model, base_url or os.environ.get("ASSISTANT_EVAL_JUDGE_BASE_URL"))

    def build(self):  # noqa: ANN201 - langchain_openai.ChatOpenAI
        """The chat model.

        Raises:
            JudgeUnavailableError: ``langchain-openai`` is not installed, or the client cannot be
                configured (for example no ``OPENAI_API_KEY``).
        """
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise JudgeUnavailableError("the LLM judge needs the extra: pip install 'grounded-assistant[openai]'") from None
        try:
            return ChatOpenAI(model=self.model, base_url=self.base_url, temperature=0, max_tokens=4)
        except Exception as exc:  # noqa: BLE001 - the client validates its configuration (API key) here
            raise JudgeUnavailableError(f"cannot configure the judge {self.model!r}: {exc}") from None


def parse_verdict(reply: str) -> bool | None:
    """YES -> True, NO -> False (first word, any case, punctuation ignored); anything else -> None."""
    first = reply.strip().split()[0].strip(".,!:;\"'*").upper() if reply.strip() else ""
    return {"YES": True, "NO": False}.get(first)


def judge_row(model, row: QuestionResult) -> tuple[dict[str, bool | None], list[str]]:  # noqa: ANN001
    """Judge one answered row: ``faithful`` (asked only when answered with citations) and ``correct``.

    Returns:
        The verdicts (None: not asked, or the reply was unreadable) and the judge errors, one message
        per reply that :func:`parse_verdict` cannot read, naming the verdict and quoting the reply.
    """
    errors: list[str] = []

    def ask(name: str, prompt: str) -> bool | None:
        reply = str(model.invoke(prompt).content)
        verdict = parse_verdict(reply)
        if verdict is None:
            errors.append(f"{name}: unreadable reply {reply.strip()[:80]!r} (neither YES nor NO)")
        return verdict

    faithful = None
    if not row.abstained and row.citations:
        sources = "\n".join(f"[{c.passage_id}] {c.quote}" for c in row.citations)
        faithful = ask("faithful", FAITHFULNESS_PROMPT.format(sources=sources, answer=row.answer))
    correct = ask("correct", CORRECTNESS_PROMPT.format(question=row.question, reference=row.reference_answer,
                                                       answer=row.answer))
    return {"faithful": faithful, "correct": correct}, errors


def judge_rows(model, rows: list[QuestionResult], on_error: Callable[[QuestionResult, Exception], None],  # noqa: ANN001
               on_done: Callable[[QuestionResult], None] | None = None) -> None:
    """Fill ``row.judge`` and ``row.judge_errors`` for every row without an error.

    A failed call leaves that row unjudged (``judge`` None) with one judge error; an unreadable reply
    leaves that verdict None with one judge error. Both count in ``judge.error_rate``.

    Args:
        model: LangChain chat model (the judge).
        rows: Rows to judge, modified in place.
        on_error: Called with the row and the exception for each judge error (a failed call, or an
            :class:`UnreadableVerdictError`); the run goes on: the judge is never required.
        on_done: Called after each row (progress display).
    """
    for row in rows:
        if row.error is None:
            try:
                row.judge, row.judge_errors = judge_row(model, row)
            except Exception as exc:  # noqa: BLE001 - any server/network failure; the judge is optional
                row.judge_errors = [f"call failed: {type(exc).__name__}: {exc}"]
                on_error(row, exc)
            else:
                for message in row.judge_errors:
                    on_error(row, UnreadableVerdictError(message))
        if on_done is not None:
            on_done(row)
