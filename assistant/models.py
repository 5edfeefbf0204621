"""The project's own answer and citation schema, shared by the CLI, the HTTP API, the UI and evaluation.

No LangChain or Chroma type crosses this boundary: every surface serialises these models, so a
citation looks the same in ``assistant ask --json``, in ``POST /v1/ask`` and in the chat's sources panel.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

ABSTENTION_TEXT = "The documents do not contain the answer to this question."
#: Reply to a request that is not a question about the documents ("ignore your instructions...").
DECLINE_INSTRUCTION_TEXT = "I can only answer questions about the documents."
#: Reply to a question in a language other than English (see the README's language policy).
DECLINE_LANGUAGE_TEXT = ("I can only answer questions asked in English, the language of the documents. "
                         "Please ask again in English.")
#: Answer kinds, as shown to the user and recorded in evaluations.
ANSWER_KINDS = ("extractive", "generative", "abstained", "declined", "smalltalk")


class Passage(BaseModel):
    """One retrieved chunk, numbered as the prompt numbered it.

    Attributes:
        passage_id: 1-based number the prompt gave the passage (the ``[n]`` the model cites).
        chunk_id: Deterministic id of the stored chunk.
        source: Source document id: its path relative to the indexed root (``docs/a/README.md``).
        start: Character offset of the chunk in the source text (inclusive).
        end: Character offset of the chunk in the source text (exclusive).
        score: Cosine similarity of the question and passage embeddings, in [-1, 1]; higher is
            more relevant. Passages are ordered by hybrid rank (see ``assistant.retrieval``), so
            scores need not decrease monotonically.
        lexical_score: BM25 score of the passage for the question (0.0: no query term in it).
        text: The chunk text, exactly ``source_text[start:end]``.
        context: Source text read before ``text`` but outside ``start``/``end``: the head (caption,
            header and delimiter rows) of the table whose rows the passage holds, when the head lies
            before the passage; else "". Retrieval, evidence selection and the verifier read it;
            citations never quote it.
        page: 1-based page of the source holding ``start``, for paged documents (PDF); else None.
    """

    passage_id: int
    chunk_id: str
    source: str
    start: int
    end: int
    score: float
    lexical_score: float = 0.0
    text: str
    context: str = ""
    page: int | None = None


class Citation(BaseModel):
    """A verified link from one answer sentence to the passage span that supports it.

    Attributes:
        passage_id: Number of the cited passage (matches a ``Passage.passage_id``).
        source: Source document name.
        start: Character offset of ``quote`` in the source text (inclusive).
        end: Character offset of ``quote`` in the source text (exclusive).
        quote: Exact source text ``source_text[start:end]`` that supports the sentence.
        sentence_index: Index of the answer sentence (in ``Answer.sentences``) this citation backs.
        page: 1-based page of the source holding ``start``, for paged documents (PDF); else None.
    """

    passage_id: int
    source: str
    start: int
    end: int
    quote: str
    sentence_index: int = 0
    page: int | None = None


class RemovedSentence(BaseModel):
    """A sentence the model produced that the verifier did not let through, with the reason."""

    text: str
    reason: str


class Timings(BaseModel):
    """Latencies of one answer, in seconds, and its model usage.

    Attributes:
        prompt_tokens: Tokens of the answer prompt by the model's own count (None: no answer prompt
            was built, or the backend is remote and sizes its own window).
    """

    retrieval_s: float = 0.0
    first_token_s: float | None = None
    generation_s: float = 0.0
    total_s: float = 0.0
    model_calls: int = 0
    prompt_tokens: int | None = None


class Answer(BaseModel):
    """A verified answer.

    Attributes:
        question: The question as asked.
        standalone_question: The question used for retrieval (differs after a follow-up rewrite).
        answer: The text shown to the user: verified sentences with ``[n]`` markers, or the
            fixed abstention text.
        abstained: True when the answer is the fixed abstention (then ``citations`` is empty).
        abstention_reason: Why the assistant abstained (``None`` when it answered).
        sentences: The verified answer sentences, without citation markers.
        citations: One or more citations per kept sentence.
        passages: Every retrieved passage, cited or not, in prompt order.
        removed: Sentences of the raw model output the verifier removed, with reasons.
        raw_answer: The model's unverified output (for evaluation and debugging, never shown as the answer).
        model: Name of the LLM backend/model that generated the raw answer.
        timings: Latencies.
        answer_kind: ``extractive`` (a sentence quoted from a passage, no model call), ``generative``
            (written by the model, every sentence verified), ``abstained`` (the documents do not
            hold the answer), ``declined`` (not a question about the documents, or not in English:
            ``answer`` says which) or ``smalltalk`` (a greeting or thanks, answered without retrieval).
        notice: A note for the user about how the answer was made (e.g. the model's answer failed
            verification and the supporting sentence is quoted instead), or None.
        evidence_dropped: Evidence sentences left out of the answer prompt, lowest-ranked first, so
            that the prompt and the answer reserve (``max_tokens``) fit the model's ``n_ctx``.
    """

    question: str
    standalone_question: str
    answer: str
    abstained: bool
    abstention_reason: str | None = None
    sentences: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    removed: list[RemovedSentence] = Field(default_factory=list)
    raw_answer: str = ""
    model: str = ""
    timings: Timings = Field(default_factory=Timings)
    answer_kind: str = "generative"
    notice: str | None = None
    evidence_dropped: int = 0
