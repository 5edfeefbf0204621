"""Markdown tables: rows stay with their caption and header through chunking, retrieval and verification."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.models import Passage
from assistant.verifier import GroundingVerifier
from index.chunking import TokenChunker

REGIONS = [("Northfield", "1,120", "1,180"), ("Southmoor", "980", "1,045"), ("Eastbrook", "1,310", "1,290"),
           ("Westhaven", "870", "910"), ("Lakeside", "640", "702"), ("Hillcrest", "1,005", "1,060"),
           ("Riverton", "450", "515"), ("Stonebridge", "1,230", "1,275"), ("Oakvale", "760", "798"),
           ("Pinegate", "935", "990"), ("Marshfield", "1,410", "1,440"), ("Brightwater", "1,320", "1,500")]
HEAD = "Revenue, EUR thousands\n\n| Region | 2022 | 2023 |\n|---|---:|---:|"
REPORT = ("# Annual report 2023\n\nOur stores grew in every region last year. The figures below are unaudited and "
          "exclude franchise outlets.\nCosts rose less than revenue in most regions, and two new depots opened.\n\n"
          + HEAD + "\n" + "".join(f"| {r} | {a} | {b} |\n" for r, a, b in REGIONS)
          + "\nRevenue in Brightwater rose most, after the new depot opened in March.\n")


def _row(region: str) -> str:
    return next(f"| {r} | {a} | {b} |" for r, a, b in REGIONS if r == region)


@pytest.mark.parametrize("size", [64, 160])
def test_every_chunk_holding_rows_carries_the_caption_and_header(size: int) -> None:
    chunks = TokenChunker(chunk_size=size, chunk_overlap=8).split("report.md", REPORT)
    with_rows = [c for c in chunks if any(_row(r) in c.text for r, _, _ in REGIONS)]
    assert len(with_rows) >= 2  # the table does not fit one chunk at either size
    for c in with_rows:
        assert REPORT[c.start:c.end] == c.text  # offsets are the rows' own
        head = c.text if not c.context else c.context + "\n"
        assert HEAD in head, (c.text, c.context)
        assert c.context in ("", HEAD)
    for region, _, _ in REGIONS:  # each row whole, in exactly one chunk
        assert sum(_row(region) in c.text for c in chunks) == 1
    assert not any(c.context for c in chunks if not any(_row(r) in c.text for r, _, _ in REGIONS))


def _passages(size: int) -> list[Passage]:
    chunks = TokenChunker(chunk_size=size, chunk_overlap=8).split("report.md", REPORT)
    return [Passage(passage_id=i, chunk_id=c.id, source=c.source, start=c.start, end=c.end, score=0.5,
                    text=c.text, context=c.context) for i, c in enumerate(chunks, start=1)]


@pytest.mark.parametrize("size", [64, 160])
@pytest.mark.parametrize("region,year,value,wrong_year,wrong_value", [
    ("Brightwater", "2023", "1,500", "2022", "1,320"),
    ("Riverton", "2022", "450", "2023", "515"),
    ("Oakvale", "2023", "798", "2022", "760"),
])
def test_the_verifier_reads_a_value_under_its_column(size: int, region: str, year: str, value: str,
                                                     wrong_year: str, wrong_value: str) -> None:
    passages = _passages(size)
    question = f"What was the revenue of {region} in {year}?"
    v = GroundingVerifier()
    right = v.verify(question, f"{region}'s revenue was {value} in {year}.", passages)
    assert not right.abstained, right.removed
    c = right.citations[0]
    assert c.quote == _row(region) == REPORT[c.start:c.end]
    for claim in (f"{region}'s revenue was {value} in {wrong_year}.", f"{region}'s revenue was {wrong_value} in {year}."):
        wrong = v.verify(question, claim, passages)
        assert wrong.abstained
        assert any(r.reason.startswith("column:") for r in wrong.removed), wrong.removed


def test_a_word_header_is_a_column_too() -> None:
    text = "Budget per depot\n\n| Depot | Revenue | Costs |\n|---|---|---|\n| Alder | 300 | 120 |\n| Birch | 410 | 150 |\n"
    chunks = TokenChunker(chunk_size=160, chunk_overlap=0).split("b.md", text)
    passages = [Passage(passage_id=1, chunk_id=chunks[0].id, source="b.md", start=chunks[0].start, end=chunks[0].end,
                        score=0.5, text=chunks[0].text, context=chunks[0].context)]
    v = GroundingVerifier()
    assert not v.verify("What were Birch's costs?", "Birch's costs were 150.", passages).abstained
    wrong = v.verify("What were Birch's costs?", "Birch's costs were 410.", passages)
    assert wrong.abstained and "column: 410 stands under 'Revenue'" in wrong.removed[0].reason


@pytest.mark.parametrize("region,year,value", [("Brightwater", "2023", "1,500"), ("Riverton", "2022", "450"),
                                               ("Marshfield", "2023", "1,440")])
def test_a_lower_rows_value_is_answered_from_the_row_end_to_end(tmp_path: Path, region: str, year: str,
                                                                value: str) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.composition import build_assistant
    from assistant.settings import load_settings

    (tmp_path / "report.md").write_text(REPORT, encoding="utf-8")
    r = CliRunner().invoke(app, ["index", "--data-dir", str(tmp_path / "d"), "--chunk-size", "64",
                                 str(tmp_path / "report.md")])
    assert r.exit_code == 0, r.output
    settings = load_settings(data_dir=tmp_path / "d", llm_backend="fake")  # answer_mode: the default
    assert settings.answer_mode == "extractive"
    answer = build_assistant(settings).ask(f"What was the revenue of {region} in {year}?")
    assert not answer.abstained, answer.abstention_reason
    assert value in answer.answer
    c = answer.citations[0]
    assert c.quote == _row(region) == REPORT[c.start:c.end]
    assert f"{year} {value}" in (answer.notice or "")  # the column is shown with the value


LOSSES_MD = ("Oxalic acid treatment is most effective in winter, when the colony has no brood.\n\n"
             "| Year | Losses |\n|---|---|\n| 2021 | 24% |\n| 2022 | 31% |\n| 2023 | 18% |\n")
LOSSES_HTML = ("<html><body><h1>Varroa</h1><p>Oxalic acid treatment is most effective in winter, when the colony has "
               "no brood.</p><table><tr><th>Year</th><th>Losses</th></tr><tr><td>2021</td><td>24%</td></tr>"
               "<tr><td>2022</td><td>31%</td></tr><tr><td>2023</td><td>18%</td></tr></table></body></html>")


@pytest.mark.parametrize("name,text", [("loss.md", LOSSES_MD), ("varroa.html", LOSSES_HTML)])
def test_a_table_after_a_paragraph_is_answered_with_the_row_asked_about(tmp_path: Path, name: str, text: str) -> None:
    """A table that follows a paragraph of prose (the usual HTML page): the row holding the year is
    quoted, not the header row, and no notice claims the documents lack the year."""
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.composition import build_assistant
    from assistant.settings import load_settings

    (tmp_path / name).write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["index", "--data-dir", str(tmp_path / "d"), str(tmp_path / name)])
    assert r.exit_code == 0, r.output
    assistant = build_assistant(load_settings(data_dir=tmp_path / "d", llm_backend="fake"))
    for year, value in (("2021", "24%"), ("2022", "31%"), ("2023", "18%")):
        answer = assistant.ask(f"What were the losses in {year}?")
        assert not answer.abstained, answer.abstention_reason
        assert answer.citations[0].quote == f"| {year} | {value} |", (year, answer.answer)
        assert "does not" not in (answer.notice or ""), answer.notice
        assert f"Year {year}; Losses {value}" in (answer.notice or "")


def test_a_prose_sentence_before_a_table_is_no_caption_but_a_label_is() -> None:
    from index.tables import find_tables, row_in_table

    table = "| Year | Losses |\n|---|---|\n| 2023 | 18% |\n"
    for before, caption in (("Oxalic acid works best in winter, when there is no brood.", False),
                            ("Did losses fall?", False), ("Winter losses per year", True),
                            ("Losses per year:", True), ("Table 2. Winter losses.", True)):
        text = f"{before}\n\n{table}"
        (block,) = find_tables(text)
        assert (block.start == 0) is caption, before
        row = row_in_table(text, text.index("| 2023"))
        assert row is not None and (before in row.head) is caption, before


def test_header_rows_are_no_evidence() -> None:
    from assistant.evidence import rank
    from assistant.questions import analyse

    text = "# Losses\n\n| Year | Losses |\n|---|---|\n| 2023 | 18% |\n"
    p = Passage(passage_id=1, chunk_id="c", source="l.md", start=0, end=len(text), score=0.5, text=text)
    texts = [e.text for e in rank(analyse("What were the losses?"), [p])]
    assert "| 2023 | 18% |" in texts
    assert "| Year | Losses |" not in texts and "|---|---|" not in texts


@pytest.mark.parametrize("year,value", [("2021", "24%"), ("2023", "18%")])
def test_the_row_holding_the_questions_number_is_selected_over_equal_rows(year: str, value: str) -> None:
    """Without a dense signal the rows of a table tie; the row asked about is the one holding the year,
    also when the table's rows are split over two passages."""
    from assistant.evidence import rank, select
    from assistant.questions import analyse

    head = "| Year | Losses |\n|---|---|"
    first, second = head + "\n| 2021 | 24% |\n| 2022 | 31% |", "| 2023 | 18% |"
    passages = [Passage(passage_id=1, chunk_id="a", source="l.md", start=0, end=len(first), score=0.5, text=first),
                Passage(passage_id=2, chunk_id="b", source="l.md", start=len(first) + 1, end=len(first) + 15,
                        score=0.5, text=second, context=head)]
    q = analyse(f"What were the losses in {year}?")
    chosen = select(q, rank(q, passages))
    assert chosen is not None and chosen.text == f"| {year} | {value} |" and not chosen.missing_numbers
