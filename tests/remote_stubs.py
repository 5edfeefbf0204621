"""Stand-ins for the optional ``langchain-openai`` / ``langchain-ollama`` packages, used by the tests only
when those extras are not installed.

Each keeps the constructor arguments :func:`assistant.llm.build_llm` passes and hands them to the
same network client the real class uses, as the real class does (read in langchain-openai's
``BaseChatOpenAI`` and langchain-ollama's ``ChatOllama._set_clients``):

- ``ChatOpenAI(timeout=..., max_retries=...)`` -> ``openai.OpenAI(base_url, timeout, max_retries)``
  (the real ``openai`` SDK: its retries and timeout exceptions are the real ones);
- ``ChatOllama(client_kwargs=..., sync_client_kwargs=...)`` -> ``ollama.Client(host, **kwargs)``, which
  is ``httpx.Client(base_url=host, **kwargs)``; here that httpx client is built directly.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant"}.get(m.type, m.type)


class ChatOpenAI(BaseChatModel):
    model: str
    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    timeout: Any = None
    max_retries: int = 2

    @property
    def _llm_type(self) -> str:
        return "openai-stub"

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:  # noqa: ANN001
        import openai

        client = openai.OpenAI(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout,
                               max_retries=self.max_retries)
        stream = client.chat.completions.create(model=self.model, stream=True, max_tokens=self.max_tokens,
                                                messages=[{"role": _role(m), "content": m.content} for m in messages])
        for part in stream:
            text = part.choices[0].delta.content or "" if part.choices else ""
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:  # noqa: ANN001
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))


class ChatOllama(BaseChatModel):
    model: str
    base_url: str | None = None
    temperature: float | None = None
    num_predict: int | None = None
    client_kwargs: dict = {}
    sync_client_kwargs: dict = {}
    async_client_kwargs: dict = {}

    @property
    def _llm_type(self) -> str:
        return "ollama-stub"

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:  # noqa: ANN001
        import httpx

        # ollama.Client's own default is timeout=None (wait forever), not httpx's 5 s
        kwargs = {"timeout": None, **self.client_kwargs, **self.sync_client_kwargs}
        with httpx.Client(base_url=self.base_url, **kwargs) as client:
            body = {"model": self.model, "stream": True,
                    "messages": [{"role": _role(m), "content": m.content} for m in messages]}
            with client.stream("POST", "/api/chat", json=body) as r:
                for line in r.iter_lines():
                    if line:
                        yield ChatGenerationChunk(message=AIMessageChunk(content=json.loads(line)["message"]["content"]))

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:  # noqa: ANN001
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))


def install(monkeypatch) -> None:  # noqa: ANN001 - pytest's MonkeyPatch
    """Make ``import langchain_openai`` / ``langchain_ollama`` give these stand-ins when not installed."""
    import importlib.util
    import sys

    for name, cls in (("langchain_openai", ChatOpenAI), ("langchain_ollama", ChatOllama)):
        if importlib.util.find_spec(name) is None:
            module = types.ModuleType(name)
            setattr(module, cls.__name__, cls)
            monkeypatch.setitem(sys.modules, name, module)
