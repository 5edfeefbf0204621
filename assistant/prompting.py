"""Prompt templates, stored as TOML data files in the ``prompts`` package and loaded by name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from assistant.models import Passage


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


def format_passages(passages: list[Passage]) -> str:
    """Number passages for the prompt: ``[1] text`` blocks separated by blank lines."""
    return "\n\n".join(f"[{p.passage_id}] {p.text}" for p in passages)
