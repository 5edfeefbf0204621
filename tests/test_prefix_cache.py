"""KV prefix cache of the fixed instruction prefix (issue 10, "model speed knobs, measured").

With ``prefix_cache`` on, :class:`assistant.llm.LlamaCppChatModel` starts each call from the saved
KV state of the prompt's instruction prefix (the system message and the next role header) instead
of an empty context, so the prefix is evaluated once per model, not once per question, and the
reply still does not depend on the calls before.

The fast tests read SmolLM2's tokenizer and chat template only (``vocab_only``); the ``model``
tests run the real model through the real answer path (generative mode) over the bundled article.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.llm import MIN_PREFIX_TOKENS, PREFIX_CACHE_SIZE, LlamaCppChatModel
from assistant.prompting import load_prompt

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev-questions.jsonl"


def _answer_messages(question: str, passages: str = "[1] Putin invited Min Aung Hlaing to Russia.") -> list[dict]:
    prompt = load_prompt("answer")
    return [{"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user.format(passages=passages, question=question)}]


@pytest.fixture(scope="module")
def vocab_model() -> LlamaCppChatModel:
    """The default GGUF's tokenizer and chat template, without its weights (no inference possible)."""
    from llama_cpp import Llama

    from assistant.settings import load_settings

    path = load_settings().resolved_model_path()
    return LlamaCppChatModel(model_path=str(path), client=Llama(model_path=str(path), vocab_only=True, verbose=False))


def test_prefix_is_the_system_message_and_role_header_whatever_the_question(vocab_model) -> None:
    prefixes = []
    for question, passages in (("Who invited him?", "[1] Putin invited him."), ("When?", "Passages:\n[1] In 2021.")):
        messages = _answer_messages(question, passages)
        tokens = vocab_model.prompt_tokens(messages)
        prefix = vocab_model.instruction_prefix(messages, tokens)
        assert tokens[:len(prefix)] == prefix and len(prefix) < len(tokens)
        text = vocab_model.client.detokenize(prefix, special=True).decode()
        assert text.endswith(load_prompt("answer").system + "<|im_end|>\n<|im_start|>user\n")
        prefixes.append(prefix)
    assert prefixes[0] == prefixes[1]


def test_prefix_leaves_a_token_to_evaluate_and_needs_a_non_system_message(vocab_model) -> None:
    empty = _answer_messages("q")[:1] + [{"role": "user", "content": ""}]
    tokens = vocab_model.prompt_tokens(empty)
    prefix = vocab_model.instruction_prefix(empty, tokens)
    assert prefix and len(prefix) < len(tokens)  # the empty content's end marker and the reply header follow
    only_system = _answer_messages("q")[:1]
    assert vocab_model.instruction_prefix(only_system, vocab_model.prompt_tokens(only_system)) == []
    no_system = [{"role": "user", "content": "Hello"}]  # SmolLM2's template adds its default system message
    assert vocab_model.client.detokenize(vocab_model.instruction_prefix(no_system, vocab_model.prompt_tokens(no_system)),
                                         special=True).decode().endswith("Hugging Face<|im_end|>\n<|im_start|>user\n")


class _Client:
    """Stands in for ``llama_cpp.Llama``: logs resets, evaluations and state saves and loads."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.saved = 0

    def reset(self) -> None:
        self.log.append(("reset", None))

    def eval(self, tokens: list[int]) -> None:
        self.log.append(("eval", len(tokens)))

    def save_state(self) -> int:
        self.saved += 1
        return self.saved

    def load_state(self, state: int) -> None:
        self.log.append(("load", state))

    def create_chat_completion(self, **kwargs: Any):
        self.log.append(("complete", None))
        return iter([{"choices": [{"delta": {"content": "Yes."}, "finish_reason": "stop"}]}])


class _CharModel(LlamaCppChatModel):
    """One token per character of ``S<system>|U<content>|A``: a stand-in template and tokenizer."""

    def prompt_tokens(self, dicts: list[dict[str, str]]) -> list[int]:
        text = "".join(("S" if d["role"] == "system" else "U") + d["content"] + "|" for d in dicts) + "A"
        return [ord(c) for c in text]


def _ask(model: LlamaCppChatModel, system: str, question: str) -> list[tuple[str, Any]]:
    from langchain_core.messages import HumanMessage, SystemMessage

    start = len(model.client.log)
    model.invoke([SystemMessage(system), HumanMessage(question)])
    return model.client.log[start:]


def test_a_saved_prefix_state_is_loaded_instead_of_evaluated() -> None:
    model = _CharModel(model_path="unused.gguf", client=_Client(), prefix_cache=True)
    system = "x" * 40  # prefix: "S" + 40 + "|U" = 43 tokens
    assert _ask(model, system, "first?") == [("reset", None), ("eval", 43), ("complete", None)]
    assert _ask(model, system, "second?") == [("load", 1), ("complete", None)]
    assert _ask(model, "y" * 40, "other prompt?") == [("reset", None), ("eval", 43), ("complete", None)]
    assert _ask(model, system, "third?") == [("load", 1), ("complete", None)]


def test_short_prefixes_and_the_setting_off_reset_every_call() -> None:
    model = _CharModel(model_path="unused.gguf", client=_Client(), prefix_cache=True)
    short = "x" * (MIN_PREFIX_TOKENS - 4)  # prefix MIN_PREFIX_TOKENS - 1 tokens
    assert _ask(model, short, "q?") == _ask(model, short, "q?") == [("reset", None), ("complete", None)]
    off = _CharModel(model_path="unused.gguf", client=_Client())
    assert _ask(off, "x" * 40, "q?") == _ask(off, "x" * 40, "q?") == [("reset", None), ("complete", None)]


def test_the_least_recently_used_prefix_is_dropped_beyond_the_bound() -> None:
    model = _CharModel(model_path="unused.gguf", client=_Client(), prefix_cache=True)
    systems = [c * 40 for c in "abcdefgh"[:PREFIX_CACHE_SIZE + 1]]
    for s in systems[:PREFIX_CACHE_SIZE]:
        _ask(model, s, "q?")
    assert _ask(model, systems[0], "q?")[0][0] == "load"  # systems[0] is now the most recently used
    _ask(model, systems[-1], "q?")  # one more prefix: systems[1] is dropped
    assert len(model.prefix_states) == PREFIX_CACHE_SIZE
    assert _ask(model, systems[0], "q?")[0][0] == "load"
    assert _ask(model, systems[1], "q?")[0][0] == "reset"


# -- the real model -----------------------------------------------------------------------------------

#: d01 asked twice in a row gave two different replies with llama-cpp-python's own prefix reuse
#: (README, "Reproducible replies"); d09 and d19 are answered by the model in generative mode.
IDS = ("d01", "d09", "d19")


def _questions() -> list[str]:
    rows = {r["id"]: r for r in map(json.loads, DEV.read_text(encoding="utf-8").splitlines()) if r}
    return [rows[i]["question"] for i in IDS]


def _assistant(real_settings, prefix_cache: bool):  # noqa: ANN001, ANN202
    """A generative assistant over the real index with its own SmolLM2, and that model's ``Llama``."""
    from assistant.composition import build_assistant, build_store, ensure_indexed
    from assistant.llm import build_llm

    settings = real_settings.model_copy(update={"answer_mode": "generative", "prefix_cache": prefix_cache})
    store = build_store(settings)
    ensure_indexed(settings, store)
    llm = build_llm(settings)
    return build_assistant(settings, store=store, llm=llm), llm


class _Recorder:
    """Logs a ``Llama``'s reset, eval (token count), load_state and create_chat_completion calls.

    :meth:`ask` asks a question and returns its log split at the completion: the calls that set
    the context up before it, the completion's prompt and prefix lengths, and the eval token
    counts during it (the prompt's rest first, then one per generated token).
    """

    def __init__(self, assistant, llm: LlamaCppChatModel) -> None:  # noqa: ANN001
        self.assistant, self.log = assistant, []
        client = llm.client
        for name in ("reset", "eval", "load_state"):
            setattr(client, name, self._wrap(name, getattr(client, name)))
        complete = client.create_chat_completion

        def create_chat_completion(messages, **kwargs):  # noqa: ANN001, ANN202
            tokens = llm.prompt_tokens(messages)
            self.log.append(("complete", (len(tokens), len(llm.instruction_prefix(messages, tokens)))))
            return complete(messages=messages, **kwargs)

        client.create_chat_completion = create_chat_completion

    def _wrap(self, name: str, fn):  # noqa: ANN001, ANN202
        def wrapped(*args):  # noqa: ANN002, ANN202
            self.log.append((name, len(args[0]) if name == "eval" else None))
            return fn(*args)
        return wrapped

    def ask(self, question: str) -> tuple[list, int, int, list[int]]:
        """(calls before the completion, prompt tokens, prefix tokens, eval token counts during it)."""
        self.log.clear()
        assert self.assistant.ask(question).timings.model_calls == 1
        i = next(j for j, e in enumerate(self.log) if e[0] == "complete")
        assert all(e[0] != "load_state" for e in self.log[i:])
        return self.log[:i], *self.log[i][1], [n for name, n in self.log[i + 1:] if name == "eval"]


@pytest.mark.model
def test_reply_is_the_same_asked_first_after_another_and_after_itself(real_settings) -> None:
    a_question, b_question, _ = _questions()
    assistant, _ = _assistant(real_settings, prefix_cache=True)
    first = assistant.ask(a_question).raw_answer
    assistant.ask(b_question)
    after_other = assistant.ask(a_question).raw_answer
    after_itself = assistant.ask(a_question).raw_answer
    assert first and first == after_other == after_itself


@pytest.mark.model
def test_prefix_is_evaluated_once_across_questions(real_settings) -> None:
    recorder = _Recorder(*_assistant(real_settings, prefix_cache=True))
    (before, prompt, prefix, evals), *later = [recorder.ask(q) for q in _questions()]
    assert prefix >= MIN_PREFIX_TOKENS
    assert before == [("reset", None), ("eval", prefix)] and evals[0] == prompt - prefix
    for before, prompt, p, evals in later:  # the prefix's state is loaded; only the rest is evaluated
        assert p == prefix and before == [("load_state", None)]
        assert evals[0] == prompt - prefix


@pytest.mark.model
def test_prefix_cache_off_resets_and_evaluates_every_prompt_whole(real_settings) -> None:
    recorder = _Recorder(*_assistant(real_settings, prefix_cache=False))
    for q in _questions()[:2]:
        before, prompt, prefix, evals = recorder.ask(q)
        assert prefix >= MIN_PREFIX_TOKENS and before == [("reset", None)] and evals[0] == prompt
