"""The offline MiniLM embedding: real vectors, no download."""

from __future__ import annotations

import math

import pytest

from index.embeddings import MiniLMOnnxEmbeddings, build_embeddings
from index.errors import ModelNotFoundError


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def test_vectors_are_unit_length_and_semantic(minilm: MiniLMOnnxEmbeddings) -> None:
    q = minilm.embed_query("Who invited the junta leader to Russia?")
    docs = minilm.embed_documents([
        "The head of Myanmar's military junta is traveling to Russia at the invitation of President Vladimir Putin.",
        "The recipe calls for two cups of flour and a pinch of salt.",
    ])
    assert len(q) == 384
    assert math.isclose(sum(x * x for x in q), 1.0, rel_tol=1e-4)
    assert _cos(q, docs[0]) > _cos(q, docs[1]) + 0.3


def test_batching_gives_the_same_vectors(minilm: MiniLMOnnxEmbeddings) -> None:
    texts = ["short", "a much longer sentence about Myanmar and Russia and their cooperation"]
    together = minilm.embed_documents(texts)
    alone = [minilm.embed_query(t) for t in texts]
    for a, b in zip(together, alone):
        assert _cos(a, b) > 0.9999


def test_a_missing_model_file_says_what_to_do(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="not found"):
        MiniLMOnnxEmbeddings(model_path=tmp_path / "nope.onnx")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="minilm, fake"):
        build_embeddings("word2vec")  # type: ignore[arg-type]


def test_batches_group_texts_of_similar_length_and_keep_the_order(minilm: MiniLMOnnxEmbeddings) -> None:
    """Each batch is padded to its longest text: mixed lengths would make the model read padding."""
    short, long = "short text", " ".join(["Myanmar and Russia signed agreements on energy and trade."] * 8)
    texts = [short, long, short + " two", long + " again"]
    emb = MiniLMOnnxEmbeddings(batch_size=2)
    shapes: list[tuple[int, int]] = []
    real = emb._session.run

    class Recording:
        def get_inputs(self):  # noqa: ANN202
            return emb.__dict__["_real"].get_inputs()

        def run(self, names, feeds):  # noqa: ANN001, ANN202
            shapes.append(feeds["input_ids"].shape)
            return real(names, feeds)

    emb.__dict__["_real"] = emb._session
    emb.__dict__["_session"] = Recording()
    vectors = emb.embed_documents(texts)
    widths = sorted(w for _, w in shapes)
    assert widths[0] < 10 < widths[1]  # one batch of the two short texts, one of the two long ones
    for text, vector in zip(texts, vectors):
        assert _cos(vector, minilm.embed_query(text)) > 0.9999


def test_a_question_asked_again_is_embedded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    emb = MiniLMOnnxEmbeddings()
    calls: list[list[str]] = []
    real = emb._embed
    monkeypatch.setattr(emb, "_embed", lambda texts: calls.append(texts) or real(texts))
    first = emb.embed_query("Who invited Min Aung Hlaing?")
    first[0] = 99.0  # a caller changing its copy changes nothing kept
    again = emb.embed_query("Who invited Min Aung Hlaing?")
    other = emb.embed_query("Where did he travel?")
    assert calls == [["Who invited Min Aung Hlaing?"], ["Where did he travel?"]]
    assert again == real(["Who invited Min Aung Hlaing?"])[0] and again != other
    for n in range(MiniLMOnnxEmbeddings.QUERY_MEMO):  # the oldest question is dropped past the bound
        emb.embed_query(f"q{n}")
    emb.embed_query("Who invited Min Aung Hlaing?")
    assert calls[-1] == ["Who invited Min Aung Hlaing?"] and len(emb._memo) == MiniLMOnnxEmbeddings.QUERY_MEMO
