"""The read path: retrieve -> prompt -> generate -> verify -> answer.

:class:`Assistant` is what every surface (CLI, HTTP API, chat UI, evaluation) calls, so they all share
one code path and one answer schema (:mod:`assistant.models`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from assistant import evidence as evidence_mod
from assistant import selector
from assistant.followups import Turn, depends_on_conversation, ellipsis_rewrite, usable_rewrite
from assistant.generation_queue import GenerationQueue
from assistant.models import (
    ABSTENTION_TEXT,
    DECLINE_INSTRUCTION_TEXT,
    DECLINE_LANGUAGE_TEXT,
    Answer,
    Citation,
    Passage,
    Timings,
)
from assistant.prompting import PromptTemplate, fit_prompt, load_prompt
from assistant.questions import QuestionAnalysis, analyse
from assistant.settings import Settings
from assistant.verifier import GroundingVerifier, SentenceVerdict, Verification, with_markers


class QuestionError(ValueError):
    """The question cannot be asked as given (empty, too long); the message says what to do."""


#: White space plus invisible format characters (zero-width space/joiners, BOM) around a question.
_INVISIBLE = " \t\n\r\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff"


def check_question(question: str, max_chars: int) -> str:
    """Validate and normalise a question (see :meth:`Assistant.check_question`)."""
    if not isinstance(question, str) or not question.strip(_INVISIBLE):
        raise QuestionError("The question is empty. Type a question about the documents.")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("The question contains characters that are not valid text (not UTF-8). Retype it.") from None
    q = question.strip(_INVISIBLE)
    if len(q) > max_chars:
        raise QuestionError(
            f"The question is {len(q):,} characters long; the limit is {max_chars:,} "
            "(setting max_question_chars). Shorten it to the question itself."
        )
    return q


@dataclass(frozen=True)
class StreamEvent:
    """One event of :meth:`Assistant.stream`.

    Attributes:
        kind: ``rewrite`` (the standalone question used for retrieval), ``passages`` (retrieval done),
            ``queued`` (the model is busy: ``position`` is this question's place in its line),
            ``progress`` (the model produced a token; nothing to show, but a point where a consumer
            can stop the answer), ``sentence`` (one verified sentence with its ``[n]`` markers,
            ready to show), or ``final``.
        text: The rewritten question or the sentence (empty for ``passages``/``final``).
        answer: The complete verified answer, on ``final`` only.
        passages: The retrieved passages, on ``passages``.
        position: 1-based place in the model's waiting line, on ``queued``.
    """

    kind: Literal["rewrite", "passages", "queued", "progress", "sentence", "final"]
    text: str = ""
    answer: Answer | None = None
    passages: list[Passage] | None = None
    position: int | None = None


@dataclass(frozen=True)
class _Queued:
    """Yielded by :meth:`Assistant._generate` while the question waits for the model."""

    position: int


#: Characters of each earlier turn kept for the follow-up rewrite, so that the condense prompt stays
#: far inside the model's context window whatever the history length.
_TURN_CHARS = 400



def _below(value: float, limit: float) -> str:
    """``value`` with the fewest decimals (2 to 6) that still show it below ``limit`` (0.149 < 0.15, not 0.15)."""
    for decimals in range(2, 7):
        shown = f"{value:.{decimals}f}"
        if float(shown) < limit:
            return shown
    return f"{value:.6f}"

class Assistant:
    """Answers questions from the index, with verified citations.

    Example:
        >>> assistant = build_assistant(load_settings())
        >>> answer = assistant.ask("Who invited Min Aung Hlaing to Russia?")
        >>> answer.answer, answer.citations[0].quote
        ('Putin invited him [1].', 'The head of Myanmar’s besieged military junta is traveling ...')

    Args:
        settings: The settings it was built from (top_k, min_relevance, limits).
        search: Function ``(query, k) -> list[Passage]`` (numbered from 1, best first).
        llm_factory: Function returning the LangChain chat model; called once, on first use.
        answer_prompt: Template for answering.
        condense_prompt: Template for rewriting follow-up questions.
        verifier: The grounding verifier.
        model_name: Label of the model, recorded in answers.
        embeddings: LangChain ``Embeddings`` for the dense signal of evidence selection (optional).
        page_of: Function ``(source, offset) -> page | None`` giving the 1-based page of a paged
            document (PDF) holding a character offset; passages and citations carry it (optional).
    """

    def __init__(self, settings: Settings, search: Callable[[str, int], list[Passage]],
                 llm_factory: Callable[[], object], answer_prompt: PromptTemplate,
                 condense_prompt: PromptTemplate, verifier: GroundingVerifier, model_name: str,
                 embeddings: object | None = None, page_of: Callable[[str, int], int | None] | None = None):
        self.settings = settings
        self._page_of = page_of
        self.embeddings = embeddings
        self._search = search
        self._llm_factory = llm_factory
        self._llm = None
        self._llm_lock = threading.Lock()
        # llama.cpp keeps one context per model: two generations at once would corrupt it. Only the
        # model call holds this lock; validation, retrieval and verification run outside it. Its line
        # is bounded by max_queue (a call beyond it raises QueueFullError).
        self.generation_queue = GenerationQueue(max_waiting=settings.max_queue)
        self.answer_prompt = answer_prompt
        self.condense_prompt = condense_prompt
        self.select_prompt = load_prompt("select")  # answer_mode "select" (assistant.selector)
        self.verifier = verifier
        self.model_name = model_name

    # -- pieces ---------------------------------------------------------------------------------

    @property
    def llm(self):  # noqa: ANN201 - BaseChatModel
        """The chat model, loaded on first use (thread-safe)."""
        with self._llm_lock:
            if self._llm is None:
                self._llm = self._llm_factory()
            return self._llm

    def check_question(self, question: str) -> str:
        """Validate and normalise a question.

        Returns:
            The question stripped of surrounding white space.

        Raises:
            QuestionError: empty/white space only, or longer than ``max_question_chars``.
        """
        return check_question(question, self.settings.max_question_chars)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """Top-k passages for a question, numbered from 1, most relevant first."""
        passages = self._search(question, k or self.settings.top_k)
        return [p.model_copy(update={"page": self._page(p.source, p.start)}) for p in passages]

    def _page(self, source: str, offset: int) -> int | None:
        return self._page_of(source, offset) if self._page_of is not None else None

    def condense(self, question: str, history: list[Turn]) -> str:
        """Rewrite a follow-up into a standalone question using the last ``history_turns`` turns.

        An elliptical follow-up ("And the SAC?", "What about Mishustin?") takes the frame of the
        previous question (:func:`assistant.followups.ellipsis_rewrite`, no model call). Otherwise
        only a question that depends on the conversation is rewritten: one with a pronoun (he, it,
        they, this...), or a short one (at most four words) that names nothing itself ("And the
        price?"). Any other question, such as "What is Rosatom?", is used as asked, with no model
        call. The model's rewrite is used when it is usable (:func:`assistant.followups.usable_rewrite`:
        one question that keeps the follow-up's content words and adds only words of the
        conversation). Small models often answer instead, return the previous question or invent a
        topic; then the follow-up is followed by the previous question in parentheses, which carries
        the names a pronoun refers to ("What did he sign? (Who is the junta's investment minister?)").
        The oldest turns are left out first when the prompt would not fit the model's context window
        (:func:`assistant.prompting.fit_prompt`); when none fits, the follow-up is used as asked.
        """
        return self._condense(question, history)[0]

    def _condense(self, question: str, history: list[Turn]) -> tuple[str, int, str]:
        """:meth:`condense`, with the number of model calls it made (0 or 1) and the text whose
        analysis drives evidence selection: the rewrite, or for the fallback "follow-up (previous
        question)" the follow-up alone (the previous question's words then steer retrieval only,
        and are not all required of the evidence)."""
        turns = history[-self.settings.history_turns:] if self.settings.history_turns else []
        if not turns:
            return question, 0, question
        elided = ellipsis_rewrite(question, turns[-1].question)
        if elided is not None:
            return elided, 0, elided
        if not depends_on_conversation(question):
            return question, 0, question

        def render(newest_first: list[Turn]) -> str:
            return "\n".join(f"User: {t.question[:_TURN_CHARS]}\nAssistant: {t.answer[:_TURN_CHARS]}"
                             for t in reversed(newest_first))

        # the oldest turns are left out first when the prompt would not fit the model's window
        fitted = fit_prompt(self.condense_prompt, {"question": question}, "history", turns[::-1], render, self.llm)
        if not fitted.fits or fitted.kept == 0:
            return question, 0, question
        turns = turns[-fitted.kept:]
        chain = self.condense_prompt.to_langchain() | self.llm
        with self.generation_queue:
            out = chain.invoke(fitted.inputs)
        text = str(getattr(out, "content", out)).strip().splitlines()
        rewrite = text[0].strip().strip('"').strip() if text else ""
        rewrite = rewrite.removeprefix("Standalone question:").strip()
        if usable_rewrite(question, rewrite, turns):
            return rewrite, 1, rewrite
        return f"{question} ({turns[-1].question[:_TURN_CHARS]})", 1, question

    # -- answering ------------------------------------------------------------------------------

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        """Answer one question (see :meth:`stream`, whose final event this returns).

        Raises:
            QuestionError: bad question (before any model call).
        """
        final = None
        for event in self.stream(question, history):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: list[Turn] | None = None,
               stop: threading.Event | None = None) -> Iterator[StreamEvent]:
        """Answer a question, yielding verified sentences as soon as each is complete.

        Each sentence is verified before it is yielded, so nothing unverified is ever shown. The
        ``final`` event carries the complete answer; when the answer-level checks decide to abstain
        after sentences were shown, its text (the abstention) replaces them.

        Args:
            question: The user's question.
            history: Earlier turns, oldest first, for rewriting a follow-up.
            stop: Set by another thread (the client went away): the model leaves its line (within
                0.5 s) or stops at its next token, without waiting for this generator to be closed.

        Raises:
            QuestionError: bad question (before any model call).
            QueueFullError: the model is busy and ``max_queue`` questions already wait for it.
            QueueCancelledError: ``stop`` was set while the question waited for the model.
        """
        t0 = time.perf_counter()
        q = self.check_question(question)
        intent = analyse(q)
        if intent.kind != "question" or intent.language != "en":
            yield StreamEvent("final", answer=self._reply(q, intent, time.perf_counter() - t0))
            return
        model_calls = 0
        standalone = q
        if history:
            standalone, calls, focus = self._condense(q, history)
            model_calls += calls
            yield StreamEvent("rewrite", text=standalone)
            if focus != q:
                intent = analyse(focus)
        t_retrieval = time.perf_counter()
        passages = self.retrieve(standalone)
        retrieval_s = time.perf_counter() - t_retrieval
        yield StreamEvent("passages", passages=passages)

        best = max((p.score for p in passages), default=None)
        if best is None or (best < self.settings.min_relevance and not any(p.lexical_score > 0 for p in passages)):
            shown_best = "none" if best is None else _below(best, self.settings.min_relevance)
            reason = (f"no passage is relevant enough (best cosine similarity {shown_best} < min_relevance "
                      f"{self.settings.min_relevance}, and no question term occurs in any passage)")
            verification = Verification([], [], [], True, reason)
            yield StreamEvent("final", answer=self._answer(q, standalone, "", passages, verification,
                                                          Timings(retrieval_s=retrieval_s, total_s=time.perf_counter() - t0,
                                                                  model_calls=model_calls)))
            return

        ranked = evidence_mod.rank(intent, passages, self.embeddings)
        chosen = evidence_mod.select(intent, ranked)
        mode = self.settings.answer_mode
        candidates = [e for e in ranked if e.answers(intent)][:selector.SELECT_CANDIDATES]
        if mode == "select" and len(candidates) > 1:
            # the model as selector: among the sentences that pass the evidence gates, it picks one
            # (or none) under a grammar; the answer is that sentence quoted, as in extractive mode
            t_gen = time.perf_counter()
            with self.generation_queue:
                pick = selector.choose(self.llm, self.select_prompt, standalone, candidates)
            generation_s = time.perf_counter() - t_gen
            model_calls += 1
            picked = (evidence_mod.answering_clause(intent, candidates[pick - 1]) if pick else None)
            verification = extractive_verification(intent, picked, ranked)
            if picked is None:
                verification = Verification([], [], [], True, "the model chose none of the best-ranked sentences"
                                            if pick == 0 else "the model's choice could not be read")
            else:
                yield StreamEvent("sentence", text=verification.marked(0))
            timings = Timings(retrieval_s=retrieval_s, generation_s=generation_s, total_s=time.perf_counter() - t0,
                              model_calls=model_calls)
            yield StreamEvent("final", answer=self._answer(q, standalone, str(pick), passages, verification, timings,
                                                          kind="extractive", notice=premise_notice(picked)))
            return
        if mode in ("extractive", "select") or chosen is None:
            # evidence first: without answering evidence the model is not asked (it would only add
            # what the documents do not say), and the abstention names the gate that failed
            verification = extractive_verification(intent, chosen, ranked)
            if not verification.abstained:
                yield StreamEvent("sentence", text=verification.marked(0))
            timings = Timings(retrieval_s=retrieval_s, total_s=time.perf_counter() - t0, model_calls=model_calls)
            yield StreamEvent("final", answer=self._answer(q, standalone, "", passages, verification, timings,
                                                          kind="extractive", notice=premise_notice(chosen)))
            return

        # the lowest-ranked evidence is left out first when the prompt would not fit the model's window
        fitted = fit_prompt(self.answer_prompt, {"question": standalone}, "passages", ranked[:EVIDENCE_IN_PROMPT],
                            format_evidence, self.llm)
        if not fitted.fits or fitted.kept == 0:
            verification = extractive_verification(intent, chosen, ranked)
            yield StreamEvent("sentence", text=verification.marked(0))
            timings = Timings(retrieval_s=retrieval_s, total_s=time.perf_counter() - t0, model_calls=model_calls,
                              prompt_tokens=fitted.tokens)
            notice = ("The evidence is too long for the model's context window (n_ctx); "
                      "the supporting sentence is quoted instead.")
            yield StreamEvent("final", answer=self._answer(q, standalone, "", passages, verification, timings,
                                                          kind="extractive", notice=notice,
                                                          evidence_dropped=fitted.dropped))
            return
        chain = self.answer_prompt.to_langchain() | self.llm
        t_gen = time.perf_counter()
        first_token_s = None
        raw = ""
        shown = n_shown = n_chunks = 0
        model_calls += 1
        for piece in self._generate(chain, fitted.inputs, stop):
            if isinstance(piece, _Queued):
                yield StreamEvent("queued", position=piece.position)
                continue
            if first_token_s is None:
                first_token_s = time.perf_counter() - t_gen
            raw += piece
            n_chunks += 1
            yield StreamEvent("progress")
            sentences = self.verifier.split_answer(raw)
            for sentence in sentences[shown:-1]:  # all complete sentences not yet handled
                shown += 1
                verdict = self.verifier.verify_sentence(sentence, passages)
                if verdict.supported:
                    n_shown += 1
                    yield StreamEvent("sentence", text=_marked(verdict))
        generation_s = time.perf_counter() - t_gen
        # A generation that used its whole token budget stopped mid-sentence: its unfinished last
        # sentence is not a claim the model made, so the verifier drops it.
        truncated = n_chunks >= self.settings.max_tokens
        verification = self.verifier.verify(standalone, raw, passages, truncated=truncated)
        kind, notice = "generative", None
        if verification.abstained and mode == "auto" and chosen is not None:
            fallback = extractive_verification(intent, chosen, ranked)
            verification = Verification(fallback.sentences, fallback.citations, verification.removed, False, None)
            kind = "extractive"
            notice = "The model's answer did not pass verification; the supporting sentence is quoted instead."
            yield StreamEvent("sentence", text=verification.marked(0))
        elif not verification.abstained and len(verification.sentences) > n_shown:
            yield StreamEvent("sentence", text=verification.marked(len(verification.sentences) - 1))
        timings = Timings(retrieval_s=retrieval_s, first_token_s=first_token_s, generation_s=generation_s,
                          total_s=time.perf_counter() - t0, model_calls=model_calls, prompt_tokens=fitted.tokens)
        yield StreamEvent("final", answer=self._answer(q, standalone, raw, passages, verification, timings,
                                                      kind=kind, notice=notice, evidence_dropped=fitted.dropped))

    def _reply(self, question: str, intent: QuestionAnalysis, elapsed: float) -> Answer:
        """The answer to input that is not an English question about the documents (no retrieval)."""
        if intent.kind == "greeting":
            text, kind, reason = "Hello! Ask me a question about the documents.", "smalltalk", None
        elif intent.kind == "thanks":
            text, kind, reason = "You're welcome. Ask another question about the documents any time.", "smalltalk", None
        elif intent.kind == "closing":
            text, kind, reason = "Glad to help. Ask another question about the documents any time.", "smalltalk", None
        elif intent.kind == "instruction":
            text, kind, reason = DECLINE_INSTRUCTION_TEXT, "declined", "an instruction, not a question about the documents"
        else:
            text, kind = DECLINE_LANGUAGE_TEXT, "declined"
            reason = f"the question is not in English (detected: {intent.language}); the documents are in English"
        return Answer(question=question, standalone_question=question, answer=text, abstained=kind == "declined",
                      abstention_reason=reason, model=self.model_name, answer_kind=kind,
                      timings=Timings(total_s=elapsed))

    def _generate(self, chain, inputs: dict,  # noqa: ANN001 - a LangChain runnable
                  stop: threading.Event | None = None) -> Iterator[str | _Queued]:
        """Stream the model's text pieces from a worker thread that holds the generation queue's slot.

        While the model is busy with other questions, yields :class:`_Queued` with this question's
        place in line each time it changes. The consumer never holds the slot while it renders, and
        closing this generator (the user pressed Stop, the client went away) leaves the line, or
        stops the model at its next token instead of letting it run to ``max_tokens``; so does
        setting ``stop`` from another thread, while this generator waits for the model's next piece.
        """
        pieces: queue.Queue = queue.Queue()
        cancel = threading.Event()
        done = object()

        def cancelled() -> bool:
            return cancel.is_set() or (stop is not None and stop.is_set())

        def produce() -> None:
            try:
                self.generation_queue.acquire(on_position=lambda n: pieces.put(_Queued(n)), cancelled=cancelled)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                pieces.put(exc)
                pieces.put(done)
                return
            try:
                try:
                    if cancelled():
                        return
                    it = iter(chain.stream(inputs))
                    try:
                        for chunk in it:
                            if cancelled():
                                break
                            piece = str(getattr(chunk, "content", chunk))
                            if piece:
                                pieces.put(piece)
                    finally:
                        close = getattr(it, "close", None)
                        if close:
                            close()
                finally:
                    self.generation_queue.release()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                pieces.put(exc)
            finally:
                pieces.put(done)

        worker = threading.Thread(target=produce, name="generation", daemon=True)
        worker.start()
        try:
            while (item := pieces.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()

    def _answer(self, question: str, standalone: str, raw: str, passages: list[Passage],
                v: Verification, timings: Timings, kind: str = "generative", notice: str | None = None,
                evidence_dropped: int = 0) -> Answer:
        return Answer(
            question=question,
            standalone_question=standalone,
            answer=ABSTENTION_TEXT if v.abstained else v.render(),
            abstained=v.abstained,
            abstention_reason=v.abstention_reason,
            sentences=v.sentences,
            citations=[c.model_copy(update={"page": self._page(c.source, c.start)}) for c in v.citations],
            passages=passages,
            removed=v.removed,
            raw_answer=raw,
            model=self.model_name,
            timings=timings,
            answer_kind="abstained" if v.abstained else kind,
            notice=notice,
            evidence_dropped=evidence_dropped,
        )


#: Evidence sentences shown to the model in ``generative``/``auto`` mode.
EVIDENCE_IN_PROMPT = 3


def format_evidence(evidence: list[evidence_mod.Evidence]) -> str:
    """The prompt's evidence block: the given sentences (the best :data:`EVIDENCE_IN_PROMPT` that fit
    the context window), each as ``[n] sentence`` with its passage number, in document order."""
    top = sorted(evidence, key=lambda e: (e.source, e.start))
    return "\n\n".join(f"[{e.passage_id}] {e.text}" for e in top)


def premise_notice(chosen: evidence_mod.Evidence | None) -> str | None:
    """A note when the question names a number or date its evidence does not (a premise the documents
    may contradict: "suspended in 2019?" answered with "suspended in 2013"), or, for a table row,
    the row read with its table's head (which column holds which value); else None."""
    if chosen is not None and chosen.reading and not chosen.missing_numbers:
        return f"Quoted from a table; read with its header: {chosen.reading}"
    if chosen is None or not chosen.missing_numbers:
        return None
    return (f"The question mentions {', '.join(chosen.missing_numbers)}, which this passage does not; "
            "it is quoted for what the documents do say.")


def extractive_verification(intent: QuestionAnalysis, chosen: evidence_mod.Evidence | None,
                            ranked: list[evidence_mod.Evidence]) -> Verification:
    """The extractive answer: the chosen evidence sentence, verbatim, cited with its exact offsets;
    or an abstention whose reason names the gate the best candidate failed."""
    if chosen is None:
        return Verification([], [], [], True, _no_evidence_reason(intent, ranked))
    citation = Citation(passage_id=chosen.passage_id, source=chosen.source, start=chosen.start, end=chosen.end,
                        quote=chosen.text, sentence_index=0)
    return Verification([chosen.text], [citation], [], False, None)


def _no_evidence_reason(intent: QuestionAnalysis, ranked: list[evidence_mod.Evidence]) -> str:
    if not ranked:
        return "no passage was retrieved"
    top = ranked[0]
    if top.coverage < evidence_mod.MIN_COVERAGE or not top.focus:
        return "no sentence of the retrieved passages holds most of what the question asks about"
    if not top.names:
        return "no sentence of the retrieved passages names " + " / ".join(sorted(intent.names))
    if not top.predicate:
        return ("no sentence of the retrieved passages says anything about "
                + " / ".join(sorted(intent.predicates)) + " (the question's verb)")
    return f"no sentence of the retrieved passages gives the kind of answer asked for ({intent.answer_type})"


def _marked(verdict: SentenceVerdict) -> str:
    return with_markers(verdict.text, sorted({c.passage_id for c in verdict.citations}))
