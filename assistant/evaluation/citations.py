"""Citation metrics: validity of each citation, and ALCE citation recall/precision with a proxy NLI.

ALCE (Gao, Yen, Yu & Chen, "Enabling Large Language Models to Generate Text with Citations",
EMNLP 2023, section 2.2 and ``eval.py`` of github.com/princeton-nlp/ALCE) scores an answer's
statements against the passages they cite with an NLI model (TRUE, a T5-11B). Here the project's
deterministic :meth:`assistant.verifier.GroundingVerifier.verify_sentence` stands in for it: the
premise "passages P entail statement s" is ``verify_sentence(s, P).supported`` -- some sentence (or
pair of adjacent sentences) of one passage in P covers s's numbers, names and content words. It is a
lexical **proxy**, not entailment.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.evaluation.records import CheckedCitation
from assistant.markers import parse_markers
from assistant.evaluation.sources import SourceTexts
from assistant.models import Citation, Passage
from assistant.verifier import GroundingVerifier



def check_citation(citation: Citation, passages: list[Passage], sources: SourceTexts) -> CheckedCitation:
    """Check that a citation is valid.

    Valid means: the cited passage was retrieved and has the citation's source; the offsets lie
    inside that passage; ``quote == passage.text[start - passage.start : end - passage.start]``;
    and, when the source document is known to ``sources``, ``quote == source_text[start:end]``.

    Returns:
        The citation with ``valid``, ``checked_against`` and ``problem`` filled in.
    """
    def result(valid: bool, problem: str = "", against: str = "passage") -> CheckedCitation:
        return CheckedCitation(**citation.model_dump(), valid=valid, checked_against=against, problem=problem)

    passage = next((p for p in passages if p.passage_id == citation.passage_id), None)
    if passage is None:
        return result(False, f"cites passage [{citation.passage_id}], which was not retrieved")
    if citation.source != passage.source:
        return result(False, f"source {citation.source!r} differs from the cited passage's {passage.source!r}")
    if not citation.quote:
        return result(False, "empty quote")
    if not (passage.start <= citation.start < citation.end <= passage.end):
        return result(False, f"offsets {citation.start}-{citation.end} outside the cited passage "
                             f"({passage.start}-{passage.end})")
    if passage.text[citation.start - passage.start:citation.end - passage.start] != citation.quote:
        return result(False, "quote differs from the passage text at its offsets")
    text = sources.get(citation.source)
    if text is None:
        return result(True)
    if text[citation.start:citation.end] != citation.quote:
        return result(False, "quote differs from the source document at its offsets", "file")
    return result(True, against="file")


@dataclass(frozen=True)
class Statement:
    """One answer sentence (without markers) and the passage numbers it cites, in order."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class AlceScores:
    """ALCE scores of one answer.

    Attributes:
        recall: Share of statements whose cited passages jointly support them.
        precision: Share of citations that are not irrelevant (see :func:`alce_scores`); 0.0 when
            the answer has statements but no citation (as ALCE's ``eval.py``).
        supported: Number of statements supported by their cited passages.
        statements: Number of statements.
        citations: Number of citations.
    """

    recall: float
    precision: float
    supported: int
    statements: int
    citations: int


def statements_from_answer(sentences: list[str], citations: list[Citation]) -> list[Statement]:
    """The shown answer's statements: each verified sentence with the passages its citations name."""
    return [
        Statement(s, tuple(dict.fromkeys(c.passage_id for c in citations if c.sentence_index == i)))
        for i, s in enumerate(sentences)
    ]


def statements_from_raw(raw: str, verifier: GroundingVerifier, passages: list[Passage]) -> list[Statement]:
    """The raw model output's statements, split and their markers parsed as the verifier does
    (:func:`assistant.markers.parse_markers`). Numbers naming no retrieved passage stay cited: ALCE's
    ``eval.py`` scores a statement with an out-of-range citation as unsupported."""
    out = []
    for sentence in verifier.split_answer(raw):
        markers = parse_markers(sentence, (p.passage_id for p in passages), (p.text for p in passages))
        if markers.text:
            out.append(Statement(markers.text, tuple(markers.cited + markers.dropped)))
    return out


def alce_scores(statements: list[Statement], passages: list[Passage], verifier: GroundingVerifier) -> AlceScores | None:
    """ALCE citation recall and precision of one answer (Gao et al. 2023, section 2.2).

    For statement ``s`` citing passages ``C`` (``entails`` is the verifier proxy, see the module):

    - recall: ``s`` counts when ``C`` is non-empty, names only retrieved passages, and
      ``entails(C, s)``. Recall = supported statements / statements.
    - precision: citation ``c`` of ``s`` is *irrelevant* when ``entails({c}, s)`` fails and
      ``entails(C - {c}, s)`` holds; it is *precise* when ``entails(C, s)`` holds and it is not
      irrelevant. Precision = precise citations / citations.

    Args:
        statements: The answer's statements.
        passages: The retrieved passages (the citable ones).
        verifier: The verifier used as NLI proxy.

    Returns:
        The scores, or None when there is no statement.
    """
    if not statements:
        return None
    by_id = {p.passage_id: p for p in passages}

    def entails(ids: tuple[int, ...], text: str) -> bool:
        if not ids or any(i not in by_id for i in ids):
            return False
        return verifier.verify_sentence(text, [by_id[i] for i in ids]).supported

    supported = precise = n_citations = 0
    for s in statements:
        n_citations += len(s.cited)
        joint = entails(s.cited, s.text)
        supported += joint
        if not joint:
            continue
        if len(s.cited) == 1:
            precise += 1
            continue
        for c in s.cited:
            rest = tuple(i for i in s.cited if i != c)
            precise += entails((c,), s.text) or not entails(rest, s.text)
    return AlceScores(
        recall=supported / len(statements),
        precision=precise / n_citations if n_citations else 0.0,
        supported=supported,
        statements=len(statements),
        citations=n_citations,
    )
