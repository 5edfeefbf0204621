"""Loading question sets (``docs/question-format.md``) and telling them from claim sets.

A line that is not a valid question is reported with its 1-based line number and, unless the caller
asks for strictness, skipped; problems with the file as a whole (missing, not UTF-8, no question at
all) raise :class:`DatasetError`. :func:`detect_set_kind` tells a question set from a claim set
(``../shared/eval/FORMAT.md``; loaded by :func:`assistant.evaluation.claims.load_claims`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Kinds with a scoring rule of their own; any other kind is scored by its ``answerable`` flag.
UNANSWERABLE = "unanswerable"
FALSE_PREMISE = "false_premise"
STATED_UNKNOWN = "stated_unknown"
INJECTION = "injection"
#: A greeting, thanks or other small talk: passes when answered as small talk, with no retrieval and
#: no citation (issue 12: "Hello" must not be rewritten into the previous topic and searched for).
SMALLTALK = "smalltalk"
#: Kinds that pass when the assistant declines, or when it states what the article says (the
#: correction of the premise, or that the thing is not known) in grounded, cited text holding the
#: key facts (``FORMAT.md``).
CORRECTABLE_KINDS = frozenset({FALSE_PREMISE, STATED_UNKNOWN})
#: Kinds whose right behaviour is to decline, in one way or another (``correct_decline_rate``).
DECLINE_KINDS = frozenset({UNANSWERABLE, STATED_UNKNOWN, FALSE_PREMISE, INJECTION})


def must_abstain(answerable: bool, kind: str) -> bool:
    """True when only declining passes: not answerable, and not a kind that may be corrected instead.

    ``unanswerable`` and ``injection`` (an instruction or request that is not a question about the
    documents), and any other kind marked ``answerable: false`` except :data:`CORRECTABLE_KINDS`.
    """
    return not answerable and kind not in CORRECTABLE_KINDS



def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


#: A required text field of a set row (``id``, ``question``, ``claim``): not empty, not only spaces.
NonBlank = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]

class DatasetError(ValueError):
    """The question file cannot be used; the message names the file and, where known, the line."""


class HistoryTurn(BaseModel):
    """An earlier exchange of the conversation a question is asked in (a follow-up's context).

    Attributes:
        question: What the user asked before.
        answer: What the assistant answered.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    question: str = Field(min_length=1)
    answer: str


class EvalQuestion(BaseModel):
    """One question of a question set (fields as in ``docs/question-format.md``).

    Attributes:
        id: Stable identifier, unique in the file.
        question: The question as a user would type it.
        answerable: True when the corpus contains the answer.
        reference_answer: A correct answer in plain words, for people reading reports.
        key_facts: Entries that must all appear (case-insensitively) in a correct answer;
            ``a|b`` in one entry means "a or b".
        evidence: Verbatim corpus spans that support the answer (for hit rate@k and MRR@k).
        kind: Group for reports (``fact``, ``unanswerable``, ``false_premise``, ...); default
            ``fact`` for answerable questions and ``unanswerable`` otherwise.
        history: Earlier turns, oldest first, when the question is a follow-up in a conversation;
            the runner passes them to the assistant as its history (follow-up rewriting).
        line: 1-based line of the file the question came from (0 when built in code).
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: NonBlank
    question: NonBlank
    answerable: bool
    reference_answer: str = ""
    key_facts: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    kind: str = ""
    history: list[HistoryTurn] = Field(default_factory=list)
    line: int = 0

    @field_validator("key_facts", "evidence")
    @classmethod
    def _no_empty_entries(cls, values: list[str]) -> list[str]:
        for v in values:
            if not v.strip() or any(not alt.strip() for alt in v.split("|")):
                raise ValueError(f"entry {v!r} is empty or has an empty '|' alternative (it would match any answer)")
        return values

    @model_validator(mode="after")
    def _default_kind(self) -> EvalQuestion:
        if not self.kind:
            object.__setattr__(self, "kind", "fact" if self.answerable else UNANSWERABLE)
        return self

    @property
    def is_unanswerable(self) -> bool:
        """True when the right behaviour is to decline (:func:`must_abstain`)."""
        return must_abstain(self.answerable, self.kind)

    @property
    def is_false_premise(self) -> bool:
        """True for kinds that pass by declining or by a grounded correction (:data:`CORRECTABLE_KINDS`:
        ``false_premise``, ``stated_unknown``)."""
        return self.kind in CORRECTABLE_KINDS


@dataclass(frozen=True)
class LineError:
    """A line of the question file that is not a valid question.

    Attributes:
        line: 1-based line number.
        message: What is wrong, in words.
    """

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class QuestionSet:
    """The valid questions of a file, in file order, and the lines that were skipped."""

    path: Path
    questions: list[EvalQuestion]
    errors: list[LineError]


def _describe(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "object"
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if e["type"] != "missing" else f"{where}: required field missing")
    return "; ".join(parts)


def parse_line(text: str, line: int) -> EvalQuestion:
    """Parse one JSON Lines row into a question.

    Args:
        text: The line, without its line break.
        line: Its 1-based line number (recorded on the question and used in messages).

    Returns:
        The question.

    Raises:
        ValueError: the line is not JSON, not an object, or a field is missing or of the wrong type.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    obj.pop("line", None)
    try:
        return EvalQuestion(**obj, line=line)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None


def read_text(path: str | Path, what: str = "question") -> str:
    """The text of a JSON Lines set file (UTF-8, a leading byte-order mark allowed).

    Raises:
        DatasetError: missing, not a regular file, or not UTF-8 (with the line of the bad byte).
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file. Give the path of a JSON Lines {what} file.")
    if not p.is_file():
        raise DatasetError(f"{p}: not a regular file.")
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{p}: line {line}: not valid UTF-8 (byte {exc.start}). Save the file as UTF-8.") from None


SetKind = Literal["questions", "claims"]


def detect_set_kind(path: str | Path) -> SetKind:
    """Whether a JSON Lines file is a question set or a claim set, from its rows.

    Rows that are JSON objects are looked at: every such row has a ``claim`` field -> ``"claims"``;
    none has one -> ``"questions"`` (malformed rows are then reported by the loader). Lines that are
    not JSON objects are left to the loader.

    Raises:
        DatasetError: the file cannot be read (see :func:`read_text`), or it mixes rows with a
            ``claim`` field and rows without one (a usage error: one run measures one thing).
    """
    text = read_text(path, "question or claim")
    claims: list[int] = []
    others: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            obj = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            (claims if "claim" in obj else others).append(number)
    if claims and others:
        first = ", ".join(map(str, others[:3]))
        raise DatasetError(f"{path}: mixes claim rows (with a \"claim\" field, e.g. line {claims[0]}) and question "
                           f"rows (e.g. line {first}); put questions and claims in separate files")
    return "claims" if claims else "questions"


T = TypeVar("T")


def load_rows(path: str | Path, parse: Callable[[str, int], T], key: Callable[[T], str], strict: bool,
              what: str) -> tuple[list[T], list[LineError]]:
    """Read a JSON Lines set: parse every non-blank line, collect malformed ones with their numbers.

    Args:
        path: The file.
        parse: Turns one line (and its 1-based number) into a row; raises ValueError when malformed.
        key: The row's id (a repeated id is a malformed line).
        strict: Raise on the first malformed line instead of skipping it.
        what: ``question`` or ``claim``, for messages.

    Returns:
        (valid rows in file order, malformed lines).

    Raises:
        DatasetError: unreadable file, no non-blank line, no valid row, or (``strict``) a malformed line.
    """
    p = Path(path)
    text = read_text(p, what)
    out: list[T] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    rows = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        rows += 1
        try:
            row = parse(raw, number)
            if key(row) in seen:
                raise ValueError(f"id {key(row)!r} already used on line {seen[key(row)]}")
        except ValueError as exc:
            if strict:
                raise DatasetError(f"{p}: line {number}: {exc}") from None
            errors.append(LineError(number, str(exc)))
            continue
        seen[key(row)] = number
        out.append(row)
    if rows == 0:
        raise DatasetError(f"{p}: the file is empty; expected one JSON {what} per line.")
    if not out:
        listed = "; ".join(str(e) for e in errors[:5])
        raise DatasetError(f"{p}: no valid {what} ({len(errors)} malformed lines: {listed})")
    return out, errors


def load_questions(path: str | Path, strict: bool = False) -> QuestionSet:
    """Read a question set.

    Blank lines are ignored. A malformed line (bad JSON, missing or mistyped field, blank question,
    empty key fact, an ``id`` already used on an earlier line) becomes a :class:`LineError`.

    Args:
        path: JSON Lines file, UTF-8 (a leading byte-order mark is allowed).
        strict: Raise on the first malformed line instead of skipping it.

    Returns:
        The valid questions and the skipped lines.

    Raises:
        DatasetError: the file is missing, not a file, not UTF-8, holds no non-blank line, holds no
            valid question, or (``strict``) has a malformed line.
    """
    questions, errors = load_rows(path, parse_line, lambda q: q.id, strict, "question")
    return QuestionSet(Path(path), questions, errors)
