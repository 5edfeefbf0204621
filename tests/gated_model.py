"""A scripted model's reply function that holds every call until the test releases it (queue tests)."""

from __future__ import annotations

import threading

from assistant.llm import extractive_reply


class GatedModel:
    """reply_fn of a ScriptedChatModel: each call waits for ``release`` and then answers extractively."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, messages) -> str:  # noqa: ANN001
        self.entered.set()
        assert self.release.wait(60), "the test never released the model"
        return extractive_reply(messages)
