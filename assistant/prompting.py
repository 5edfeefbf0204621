"""Prompt templates, stored as TOML data files in the ``prompts`` package and loaded by name, and the
fitting of a prompt into the model's context window (:func:`fit_prompt`)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

T = TypeVar("T")


class PromptNotFoundError(LookupError):
    """No template of that name exists in ``prompts/``."""


@dataclass(frozen=True)
class PromptTemplate:
    """A chat prompt: a system message and a user message with ``{placeholders}``.

    Attributes:
        name: Template name (the file stem).
        version: Integer version; bump it when the wording changes so results can be compared.
        system: System message.
        user: User message template.
    """

    name: str
    version: int
    system: str
    user: str

    def to_langchain(self):  # noqa: ANN201 - ChatPromptTemplate
        """The template as a LangChain ``ChatPromptTemplate``."""
        from langchain_core.prompts import ChatPromptTemplate

        return ChatPromptTemplate.from_messages([("system", self.system), ("human", self.user)])

    @property
    def id(self) -> str:
        """``name@version``, recorded with answers and evaluation runs."""
        return f"{self.name}@{self.version}"


@lru_cache(maxsize=None)
def load_prompt(name: str) -> PromptTemplate:
    """Load ``prompts/<name>.toml``.

    Raises:
        PromptNotFoundError: no such file; the message lists the available names.
    """
    files = resources.files("prompts")
    f = files.joinpath(f"{name}.toml")
    if not f.is_file():
        names = sorted(p.name.removesuffix(".toml") for p in files.iterdir() if p.name.endswith(".toml"))
        raise PromptNotFoundError(f"prompt {name!r} not found in prompts/; available: {', '.join(names)}")
    data = tomllib.loads(f.read_text(encoding="utf-8"))
    return PromptTemplate(name=data["name"], version=int(data["version"]), system=data["system"], user=data["user"])


@dataclass(frozen=True)
class FittedPrompt:
    """A prompt's inputs cut to fit the model's context window (see :func:`fit_prompt`).

    Attributes:
        inputs: The template inputs, the budgeted one rendered from the kept items.
        kept: Items kept (the first ``kept`` of the priority order).
        dropped: Items left out to make the prompt fit.
        tokens: Prompt tokens by the model's own count (None: the model has no window to budget).
        fits: False when even the prompt without any item exceeds the budget.
    """

    inputs: dict[str, str]
    kept: int
    dropped: int
    tokens: int | None
    fits: bool = True


def context_budget(llm: Any) -> int | None:
    """Prompt tokens a model may be sent: ``n_ctx - max_tokens`` (the answer's reserve), or None.

    Only in-process models with a window and their own token count declare it (``LlamaCppChatModel``,
    ``ScriptedChatModel``: attributes ``n_ctx`` and ``max_tokens``, and an override of LangChain's
    ``get_num_tokens_from_messages``, whose default needs GPT-2's tokenizer from ``transformers``).
    Remote backends (openai, ollama) size and check their own window and return None here.
    """
    from langchain_core.language_models import BaseLanguageModel

    n_ctx, reserve = getattr(llm, "n_ctx", None), getattr(llm, "max_tokens", None)
    counts = getattr(type(llm), "get_num_tokens_from_messages", None)
    if (not isinstance(n_ctx, int) or not isinstance(reserve, int)
            or counts in (None, BaseLanguageModel.get_num_tokens_from_messages)):
        return None
    return n_ctx - reserve


def fit_prompt(template: PromptTemplate, inputs: dict[str, str], key: str, items: Sequence[T],
               render: Callable[[list[T]], str], llm: Any) -> FittedPrompt:
    """Fill ``inputs[key]`` with as many of ``items`` as the model's context window allows.

    The prompt (system + user message, counted by ``llm.get_num_tokens_from_messages`` -- the
    model's own tokenizer and chat template for llama.cpp) plus the answer reserve
    ``llm.max_tokens`` must be at most ``llm.n_ctx``: llama-cpp-python raises ``ValueError``
    ("Requested tokens exceed context window") past it, and shortens the answer when the
    reserve does not fit. Items are dropped from the end of ``items`` (lowest priority) first.

    Args:
        template: The prompt template.
        inputs: The other placeholders' values.
        key: The placeholder the items fill.
        items: The items, most important first.
        render: Text of a list of kept items (in priority order) for ``inputs[key]``.
        llm: The chat model (see :func:`context_budget`).

    Returns:
        The fitted inputs and how many items were kept and dropped. With no budget (remote
        model) every item is kept and ``tokens`` is None.
    """
    budget = context_budget(llm)
    chat = template.to_langchain()

    def attempt(n: int) -> tuple[dict[str, str], int | None]:
        filled = {**inputs, key: render(list(items[:n]))}
        if budget is None:
            return filled, None
        return filled, llm.get_num_tokens_from_messages(chat.format_messages(**filled))

    n = len(items)
    filled, tokens = attempt(n)
    while budget is not None and tokens > budget and n > 0:
        n -= 1
        filled, tokens = attempt(n)
    return FittedPrompt(filled, n, len(items) - n, tokens, budget is None or tokens <= budget)
