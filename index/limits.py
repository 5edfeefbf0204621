"""Input limits of the embedding models, importable without loading any model library."""

from __future__ import annotations

#: all-MiniLM-L6-v2 was trained with a 256-word-piece limit (its ``max_seq_length`` in
#: ``sentence_bert_config.json``), [CLS] and [SEP] included; the embedder cuts longer input off.
MINILM_MAX_TOKENS = 256
#: Special tokens the MiniLM tokenizer adds to every input ([CLS] and [SEP]).
MINILM_SPECIAL_TOKENS = 2


def max_input_tokens(backend: str) -> int | None:
    """Most tokens (special tokens included) the embedding backend reads, or None for no limit."""
    return MINILM_MAX_TOKENS if backend == "minilm" else None


def max_chunk_tokens(backend: str) -> int | None:
    """Largest ``chunk_size`` the backend can embed whole: its input limit less its special tokens
    (254 for MiniLM), or None for no limit. Counted in the model's word pieces; English text has at
    least as many word pieces as cl100k tokens, so a chunk of this many cl100k tokens may still be
    cut shorter by the chunker's word-piece check."""
    limit = max_input_tokens(backend)
    return limit - MINILM_SPECIAL_TOKENS if limit else None
