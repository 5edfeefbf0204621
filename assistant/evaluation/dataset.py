"""Loading question sets in the JSON Lines format of ``docs/question-format.md``.

A line that is not a valid question is reported with its 1-based line number and, unless the caller
asks for strictness, skipped; problems with the file as a whole (missing, not UTF-8, no question at
all) raise :class:`DatasetError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Kinds with a scoring rule of their own; any other kind is scored by its ``answerable`` flag.
UNANSWERABLE = "unanswerable"
FALSE_PREMISE = "false_premise"


class DatasetError(ValueError):
    """The question file cannot be used; the message names the file and, where known, the line."""


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
        line: 1-based line of the file the question came from (0 when built in code).
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    reference_answer: str = ""
    key_facts: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    kind: str = ""
    line: int = 0

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

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
        """True when the right behaviour is to abstain (answerable false, not a false premise)."""
        return not self.answerable and self.kind != FALSE_PREMISE

    @property
    def is_false_premise(self) -> bool:
        """True for ``kind == "false_premise"``."""
        return self.kind == FALSE_PREMISE


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
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file. Give the path of a JSON Lines question file.")
    if not p.is_file():
        raise DatasetError(f"{p}: not a regular file.")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{p}: line {line}: not valid UTF-8 (byte {exc.start}). Save the file as UTF-8.") from None
    questions: list[EvalQuestion] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    rows = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        rows += 1
        try:
            q = parse_line(raw, number)
            if q.id in seen:
                raise ValueError(f"id {q.id!r} already used on line {seen[q.id]}")
        except ValueError as exc:
            if strict:
                raise DatasetError(f"{p}: line {number}: {exc}") from None
            errors.append(LineError(number, str(exc)))
            continue
        seen[q.id] = number
        questions.append(q)
    if rows == 0:
        raise DatasetError(f"{p}: the file is empty; expected one JSON question per line.")
    if not questions:
        listed = "; ".join(str(e) for e in errors[:5])
        raise DatasetError(f"{p}: no valid question ({len(errors)} malformed lines: {listed})")
    return QuestionSet(p, questions, errors)
