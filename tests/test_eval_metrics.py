"""Evaluation metrics on small hand-made inputs with known values."""

from __future__ import annotations

import pytest

from assistant.evaluation.citations import Statement, alce_scores, check_citation, statements_from_raw
from assistant.evaluation.scoring import reciprocal_rank
from assistant.evaluation.sources import SourceTexts
from assistant.evaluation.stats import bootstrap_interval, percentile, wilson_interval
from assistant.evaluation.textmatch import contains_evidence, key_fact_found, missing_key_facts, normalize
from assistant.models import Citation, Passage
from assistant.verifier import GroundingVerifier, SentenceVerdict


class SubstringVerifier:
    """NLI stand-in with an obvious rule: a passage supports a statement it contains verbatim."""

    def verify_sentence(self, sentence: str, passages: list[Passage], index: int = 0) -> SentenceVerdict:
        return SentenceVerdict(sentence, any(sentence.rstrip(".") in p.text for p in passages))


def _p(pid: int, text: str, start: int = 0, source: str = "doc.txt") -> Passage:
    return Passage(passage_id=pid, chunk_id=f"c{pid}", source=source, start=start, end=start + len(text),
                   score=0.5, text=text)


# -- text matching ---------------------------------------------------------------------------------

def test_normalize_straightens_curly_quotes_and_collapses_white_space() -> None:
    assert normalize("  Myanmar\u2019s  \u201cgoodwill\u201d\n visit ") == "Myanmar's \"goodwill\" visit"


def test_evidence_matches_across_quote_style_and_line_breaks_but_not_other_words() -> None:
    passage = "the head of Myanmar\u2019s besieged\nmilitary junta"
    assert contains_evidence(passage, ["Myanmar's besieged military"])
    assert not contains_evidence(passage, ["Myanmar's besieged army"])
    assert not contains_evidence(passage, [])


def test_key_facts_are_case_insensitive_and_pipe_means_either() -> None:
    answer = "Cooperation focused on DEFENCE and energy [1]."
    assert key_fact_found(answer, "defense|defence")
    assert not key_fact_found(answer, "tourism")
    assert missing_key_facts(answer, ["defense|defence", "energy", "tourism"]) == ["tourism"]


# -- retrieval ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("hits", "rr"), [([False, False, True, False], 1 / 3), ([True, True], 1.0),
                                          ([False, False], 0.0), ([], 0.0)])
def test_reciprocal_rank_is_one_over_rank_of_first_hit(hits: list[bool], rr: float) -> None:
    assert reciprocal_rank(hits) == pytest.approx(rr)


# -- statistics --------------------------------------------------------------------------------------

def test_wilson_interval_matches_published_values() -> None:
    # Newcombe, Statistics in Medicine 17:857 (1998), Table I, example 81/263: 0.2553-0.3662.
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(3, 0)


def test_percentile_interpolates_linearly() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean() -> None:
    values = [0.0, 1.0, 1.0, 0.5, 0.25, 1.0, 0.0, 0.75]
    a = bootstrap_interval(values)
    assert a == bootstrap_interval(values)  # fixed seed
    assert a[0] < sum(values) / len(values) < a[1]
    assert bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


# -- citation validity -------------------------------------------------------------------------------

SOURCE = "Alpha sentence one. Putin invited him to Moscow. Beta sentence three."
PASSAGE = _p(1, SOURCE[20:48], start=20)  # "Putin invited him to Moscow."
SOURCES = SourceTexts({"doc.txt": SOURCE})


def _cite(pid: int = 1, start: int = 20, end: int = 48, quote: str | None = None, source: str = "doc.txt") -> Citation:
    return Citation(passage_id=pid, source=source, start=start, end=end,
                    quote=SOURCE[start:end] if quote is None else quote)


def test_a_verbatim_quote_at_its_offsets_is_valid_against_the_file() -> None:
    c = check_citation(_cite(), [PASSAGE], SOURCES)
    assert c.valid and c.checked_against == "file" and c.problem == ""


@pytest.mark.parametrize(("citation", "problem"), [
    (_cite(pid=2), "not retrieved"),
    (_cite(start=21, end=48, quote=SOURCE[20:47]), "differs from the passage text"),  # offsets shifted by one
    (_cite(quote="Putin invited him to Minsk."), "differs from the passage text"),
    (_cite(start=0, end=19), "outside the cited passage"),
    (_cite(source="other.txt"), "differs from the cited passage"),
])
def test_invalid_citations_are_caught_with_a_reason(citation: Citation, problem: str) -> None:
    c = check_citation(citation, [PASSAGE], SOURCES)
    assert not c.valid and problem in c.problem


def test_a_passage_that_disagrees_with_the_source_file_is_caught() -> None:
    stale = SourceTexts({"doc.txt": SOURCE.replace("Putin", "Lavro")})
    c = check_citation(_cite(), [PASSAGE], stale)
    assert not c.valid and c.checked_against == "file" and "source document" in c.problem


def test_without_the_source_file_the_passage_text_is_the_reference() -> None:
    c = check_citation(_cite(), [PASSAGE], SourceTexts({}))
    assert c.valid and c.checked_against == "passage"


# -- ALCE citation recall / precision ------------------------------------------------------------------

P = [_p(1, "Putin invited him to Moscow."), _p(2, "The visit was announced on Monday."),
     _p(3, "Putin invited him to Moscow. It was cold.")]


def test_alce_recall_counts_statements_their_citations_support() -> None:
    s = alce_scores([Statement("Putin invited him to Moscow.", (1,)), Statement("Putin invited him to Moscow.", (2,)),
                     Statement("The visit was announced on Monday.", ()), Statement("It was cold.", (9,))],
                    P, SubstringVerifier())
    assert s.recall == pytest.approx(1 / 4)  # uncited and unknown-passage statements count as unsupported
    assert s.citations == 3
    assert s.precision == pytest.approx(1 / 3)


def test_alce_precision_penalises_an_irrelevant_extra_citation_only() -> None:
    # [1,2]: 1 alone supports; 2 alone does not and [1] without it still does -> 2 is irrelevant.
    s = alce_scores([Statement("Putin invited him to Moscow.", (1, 2))], P, SubstringVerifier())
    assert (s.recall, s.precision) == (1.0, 0.5)
    # [1,3]: each supports alone -> both precise.
    s = alce_scores([Statement("Putin invited him to Moscow.", (1, 3))], P, SubstringVerifier())
    assert (s.recall, s.precision) == (1.0, 1.0)


def test_alce_precision_is_zero_without_citations_and_none_without_statements() -> None:
    s = alce_scores([Statement("Putin invited him to Moscow.", ())], P, SubstringVerifier())
    assert (s.recall, s.precision, s.citations) == (0.0, 0.0, 0)
    assert alce_scores([], P, SubstringVerifier()) is None


def test_raw_statements_keep_the_model_markers() -> None:
    got = statements_from_raw("Putin invited him [1][3]. It was announced on Monday [Passage 2]. No cite here.",
                              GroundingVerifier(), P)
    assert [(s.text, s.cited) for s in got] == [("Putin invited him.", (1, 3)),
                                               ("It was announced on Monday.", (2,)), ("No cite here.", ())]


def test_the_project_verifier_is_the_nli_proxy(corpus_text: str) -> None:
    start = corpus_text.index("Senior Gen. Min Aung Hlaing")
    real = [_p(1, corpus_text[start:start + 400], start=start, source="myanmar-russia-visit.txt")]
    sentence = real[0].text[: real[0].text.index(".", 40) + 1]
    assert alce_scores([Statement(sentence, (1,))], real, GroundingVerifier()).recall == 1.0
    assert alce_scores([Statement("Brazil won the 2002 World Cup in Yokohama.", (1,))], real,
                       GroundingVerifier()).recall == 0.0


def test_source_texts_load_files_as_the_indexer_does(tmp_path) -> None:  # noqa: ANN001
    from index.errors import DocumentError

    doc = tmp_path / "notes.txt"
    doc.write_bytes("\ufeffFirst line.\n".encode())
    texts = SourceTexts.from_files([doc])
    assert texts.get("notes.txt") == "First line.\n"  # BOM dropped, as index.loader does: offsets agree
    assert "myanmar-russia-visit.txt" in texts.names() and texts.get("other.txt") is None
    with pytest.raises(DocumentError):
        SourceTexts.from_files([tmp_path / "missing.txt"])


def test_compare_flags_a_difference_on_too_few_items_instead_of_ranking_it() -> None:
    from assistant.evaluation.compare import verdict

    def mv(value: float, n: int, ci: tuple[float, float]):
        from assistant.evaluation.aggregate import MetricValue

        return MetricValue(value=value, n=n, ci95=ci, interval="wilson")

    assert verdict(mv(0.8, 13, (0.6, 0.9)), mv(1.0, 2, (1.0, 1.0))) == "better (n<5: too few to tell)"
    assert verdict(mv(0.2, 40, (0.1, 0.3)), mv(0.9, 40, (0.8, 0.95))) == "better"
    assert verdict(mv(0.5, 40, (0.3, 0.7)), mv(0.6, 40, (0.4, 0.8))) == "better (overlap)"
