"""Claim sets: detecting them, scoring the verifier's verdicts, aggregates, report and ``assistant eval`` on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.evaluation.claims import EvalClaim, aggregate_claims, load_claims, parse_claim, score_claim
from assistant.evaluation.dataset import DatasetError, detect_set_kind
from assistant.evaluation.records import ClaimResult
from assistant.evaluation.stats import wilson_interval
from assistant.models import Citation, Passage
from assistant.verifier import SentenceVerdict

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
CLAIMS = SHARED / "claims-dev.jsonl"
DEV = SHARED / "dev-questions.jsonl"
FAKE = ["--llm", "fake", "--embedding", "fake"]

runner = CliRunner()


def _claim(i: str, label: str = "supported", type_: str = "paraphrase", evidence: list[str] | None = None,
           text: str = "Putin invited Min Aung Hlaing to Russia.") -> EvalClaim:
    return EvalClaim(id=i, claim=text, label=label, type=type_, evidence=evidence or [])


PASSAGE = Passage(passage_id=1, chunk_id="c1", source="doc.txt", start=100, end=157, score=0.7,
                  text="He travels at the invitation of President Vladimir Putin.")


class StubVerifier:
    """A verifier with a fixed answer: supported with a quote of the passage at given offsets, or rejected."""

    def __init__(self, supported: bool, quote: str = "at the invitation of President Vladimir Putin") -> None:
        self.supported, self.quote, self.calls = supported, quote, []

    def verify_sentence(self, sentence: str, passages: list[Passage], index: int = 0) -> SentenceVerdict:
        self.calls.append((sentence, [p.passage_id for p in passages]))
        if not self.supported:
            return SentenceVerdict(sentence, False, reason="no window covers 'invited'")
        p = passages[0]
        start = p.start + p.text.index(self.quote)
        return SentenceVerdict(sentence, True, [Citation(passage_id=p.passage_id, source=p.source, start=start,
                                                         end=start + len(self.quote), quote=self.quote)])


# -- detecting the kind of file ------------------------------------------------------------------------

def _write(tmp_path: Path, rows: list[object], name: str = "set.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return p


def test_the_kind_of_set_is_read_from_its_rows(tmp_path: Path) -> None:
    assert detect_set_kind(CLAIMS) == "claims"
    assert detect_set_kind(DEV) == "questions"
    claim = {"id": "c1", "claim": "X.", "label": "supported"}
    question = {"id": "q1", "question": "Who?", "answerable": True}
    # a malformed line does not decide the kind; the loader reports it later
    assert detect_set_kind(_write(tmp_path, [claim, "{not json", claim | {"id": "c2"}])) == "claims"
    with pytest.raises(DatasetError, match="mixes claim rows .* and question rows"):
        detect_set_kind(_write(tmp_path, [claim, question]))
    with pytest.raises(DatasetError, match="no such file"):
        detect_set_kind(tmp_path / "missing.jsonl")


def test_claim_lines_are_validated_with_their_line_numbers(tmp_path: Path) -> None:
    rows = [{"id": "c1", "claim": "Putin invited him.", "label": "supported", "type": "paraphrase",
             "evidence": ["invitation"]},
            {"id": "c2", "claim": "He invited Putin.", "label": "maybe"},
            {"id": "c1", "claim": "Again.", "label": "unsupported"},
            {"id": "c3", "claim": "No type given.", "label": "unsupported"}]
    cs = load_claims(_write(tmp_path, rows))
    assert [c.id for c in cs.claims] == ["c1", "c3"] and cs.claims[1].type == "other"
    assert [(e.line, "label" in e.message or "already used" in e.message) for e in cs.errors] == [(2, True), (3, True)]
    with pytest.raises(DatasetError, match="line 2"):
        load_claims(_write(tmp_path, rows), strict=True)
    with pytest.raises(ValueError, match="claim: required field missing"):
        parse_claim('{"id": "x", "label": "supported"}', 1)


def test_the_shared_claim_set_loads_completely() -> None:
    cs = load_claims(CLAIMS, strict=True)
    assert len(cs.claims) == 48
    assert sum(c.label == "unsupported" for c in cs.claims) == 24


# -- one verdict -----------------------------------------------------------------------------------------

def test_an_accepted_supported_claim_records_its_quote_offsets_and_evidence_match() -> None:
    verifier = StubVerifier(True)
    row = score_claim(_claim("c1", evidence=["at the invitation of President\nVladimir Putin"]), [PASSAGE], verifier)
    assert verifier.calls == [("Putin invited Min Aung Hlaing to Russia.", [1])]
    assert row.supported and row.correct and row.reason == ""
    assert (row.passage_id, row.source, row.start, row.end) == (1, "doc.txt", 111, 156)
    assert row.quote == "at the invitation of President Vladimir Putin"
    assert row.evidence_match is True  # evidence compared after collapsing white space
    assert [p.hit for p in row.retrieved] == [True]


def test_a_quote_from_another_sentence_is_not_an_evidence_match() -> None:
    row = score_claim(_claim("c1", evidence=["an official goodwill visit"]), [PASSAGE], StubVerifier(True))
    assert row.correct and row.evidence_match is False


def test_rejections_and_acceptances_are_graded_against_the_label() -> None:
    rejected_true = score_claim(_claim("c1", evidence=["invitation"]), [PASSAGE], StubVerifier(False))
    assert not rejected_true.supported and not rejected_true.correct
    assert rejected_true.reason == "no window covers 'invited'" and rejected_true.quote is None
    assert rejected_true.evidence_match is None  # only accepted claims are checked for evidence
    caught = score_claim(_claim("c2", label="unsupported", type_="role_swap"), [PASSAGE], StubVerifier(False))
    assert caught.correct and not caught.supported
    missed = score_claim(_claim("c3", label="unsupported", type_="role_swap"), [PASSAGE], StubVerifier(True))
    assert not missed.correct and missed.evidence_match is None and missed.quote


# -- aggregates ------------------------------------------------------------------------------------------

def _r(i: int, label: str, type_: str, supported: bool, match: bool | None = None) -> ClaimResult:
    return ClaimResult(id=f"c{i}", claim="x", label=label, type=type_, supported=supported,
                       correct=supported == (label == "supported"), evidence_match=match, latency_s=0.01 * i)


ROWS = [
    _r(1, "unsupported", "role_swap", False), _r(2, "unsupported", "role_swap", True),
    _r(3, "unsupported", "role_swap", False), _r(4, "unsupported", "date_swap", True),
    _r(5, "supported", "paraphrase", True, True), _r(6, "supported", "paraphrase", True, False),
    _r(7, "supported", "paraphrase", False), _r(8, "supported", "verbatim", True, True),
    _r(9, "supported", "verbatim", True, None),  # accepted, but the claim lists no evidence
]


def test_claim_aggregates_have_the_known_values_populations_and_wilson_intervals() -> None:
    m = aggregate_claims(ROWS)
    expect = {
        "claim_catch_rate": (2 / 4, 4), "claim_acceptance_rate": (4 / 5, 5),
        "claim_catch_rate.type.role_swap": (2 / 3, 3), "claim_catch_rate.type.date_swap": (0.0, 1),
        "claim_acceptance_rate.type.paraphrase": (2 / 3, 3), "claim_acceptance_rate.type.verbatim": (1.0, 2),
        "claim_evidence_match": (2 / 3, 3),
    }
    for name, (value, n) in expect.items():
        assert (m[name].value, m[name].n) == (pytest.approx(value), n), name
        assert m[name].interval == "wilson"
    assert m["claim_catch_rate"].ci95 == pytest.approx(wilson_interval(2, 4))
    assert m["claim_acceptance_rate.type.paraphrase"].ci95 == pytest.approx(wilson_interval(2, 3))
    assert "claim_acceptance_rate.type.role_swap" not in m and "claim_catch_rate.type.paraphrase" not in m
    assert m["claim_catch_rate"].group == "claims" and m["claim_catch_rate"].higher_is_better
    assert m["claim_latency_s.p50"].value == pytest.approx(0.05) and not m["claim_latency_s.p50"].higher_is_better


def test_a_set_without_unsupported_claims_has_no_catch_rate() -> None:
    m = aggregate_claims([r for r in ROWS if r.label == "supported"])
    assert m["claim_catch_rate"].value is None and m["claim_catch_rate"].n == 0


def test_the_report_lists_misjudged_claims_first_with_the_per_type_table(tmp_path: Path) -> None:
    from assistant.evaluation.report import write_claims_report

    path = write_claims_report(tmp_path, ROWS, aggregate_claims(ROWS), {"claims_file": "c.jsonl", "k": 4})
    report = path.read_text(encoding="utf-8")
    assert "| unsupported | role_swap | catch | 2/3 (0.667) |" in report
    assert "| supported | verbatim | acceptance | 2/2 (1.000) |" in report
    table = report.split("## Claims (misjudged first)")[1].split("## Misjudged claims in detail")[0]
    ids = [line.split("|")[2].strip() for line in table.splitlines() if line.startswith(("| ok ", "| **WRONG** "))]
    assert ids == ["c2", "c4", "c7", "c1", "c3", "c5", "c6", "c8", "c9"]
    detail = report.split("## Misjudged claims in detail")[1]
    assert "### c2 (unsupported, role_swap)" in detail and "### c1 " not in detail


# -- end to end ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("claims-index")


def _eval(data_dir: Path, *args: str):  # noqa: ANN202
    return runner.invoke(app, ["eval", *args, *FAKE, "--data-dir", str(data_dir)])


@pytest.fixture(scope="module")
def claim_run(data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "claims"
    result = _eval(data_dir, str(CLAIMS), "--out", str(out), "-k", "3", "--fail-under", "claim_catch_rate=0")
    assert result.exit_code == 0, result.output
    assert "claims judged as labelled" in result.stdout
    return out


def test_a_claim_file_run_writes_one_verdict_per_claim(claim_run: Path) -> None:
    rows = [json.loads(line) for line in (claim_run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    claims = [json.loads(line) for line in CLAIMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [r["id"] for r in rows] == [c["id"] for c in claims]
    for r, c in zip(rows, claims):
        assert (r["claim"], r["label"], r["type"]) == (c["claim"], c["label"], c["type"])
        assert r["correct"] == (r["supported"] == (c["label"] == "supported"))
        assert len(r["retrieved"]) == 3  # -k 3: the retriever and top_k of a question
        if r["supported"]:
            assert r["quote"] and r["source"] and r["end"] > r["start"] and r["reason"] == ""
        else:
            assert r["quote"] is None and r["reason"]
    assert any(r["supported"] for r in rows) and any(not r["supported"] for r in rows)


def test_a_claim_file_run_writes_catch_and_acceptance_rates_per_type(claim_run: Path) -> None:
    doc = json.loads((claim_run / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["set_kind"] == "claims" and doc["run"]["claims"] == 48 and doc["run"]["k"] == 3
    m = doc["metrics"]
    rows = [json.loads(line) for line in (claim_run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    caught = sum(not r["supported"] for r in rows if r["label"] == "unsupported")
    assert (m["claim_catch_rate"]["value"], m["claim_catch_rate"]["n"]) == (pytest.approx(caught / 24), 24)
    assert m["claim_acceptance_rate"]["n"] == 24
    assert m["claim_catch_rate.type.role_swap"]["n"] == 3 and m["claim_acceptance_rate.type.paraphrase"]["n"] == 10
    lo, hi = m["claim_catch_rate"]["ci95"]
    assert (lo, hi) == pytest.approx(wilson_interval(caught, 24))
    assert "pass_rate" not in m and "verifier_agreement" not in m
    report = (claim_run / "report.md").read_text(encoding="utf-8")
    assert "## Per claim type" in report and "| unsupported | role_swap | catch |" in report


def test_a_claim_gate_fails_a_run_below_it(data_dir: Path, claim_run: Path, tmp_path: Path) -> None:
    m = json.loads((claim_run / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    name = next((n for n in ("claim_catch_rate", "claim_acceptance_rate") if m[n]["value"] < 1.0), None)
    if name is None:
        pytest.skip("the verifier judged every claim as labelled; no floor above it to test")
    gate = f"{name}={min(1.0, m[name]['value'] + 0.01):.4f}"
    r = _eval(data_dir, str(CLAIMS), "--out", str(tmp_path / "g"), "-k", "3", "--fail-under", gate)
    assert r.exit_code == 1 and f"{name} = " in r.stderr and "below the minimum" in r.stderr


def test_a_file_mixing_claims_and_questions_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(CLAIMS.read_text(encoding="utf-8").splitlines()[0] + "\n"
                     + DEV.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    r = _eval(data_dir, str(mixed), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2 and "mixes claim rows" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("file", "gate", "message"), [
    (CLAIMS, "pass_rate=0.5", "measured on question sets"),
    (DEV, "claim_catch_rate=0.5", "measured on claim sets"),
    (CLAIMS, "claim_catch_rate.type.paraphrase=0.5", "no unsupported claim of type 'paraphrase'"),
    (CLAIMS, "verifier_agreement=0.5", "agreement with the verifier, not faithfulness"),
])
def test_gates_the_set_cannot_measure_are_usage_errors_before_the_run(data_dir: Path, tmp_path: Path, file: Path,
                                                                      gate: str, message: str) -> None:
    r = _eval(data_dir, str(file), "--out", str(tmp_path / "out"), "--fail-under", gate)
    assert r.exit_code == 2 and message in r.stderr
    assert not (tmp_path / "out").exists()


def test_the_committed_claim_thresholds_file_is_valid() -> None:
    from assistant.evaluation.thresholds import load_thresholds

    gates = load_thresholds(Path(__file__).resolve().parent.parent / "assistant" / "evaluation"
                            / "claims-thresholds.toml")
    assert all(g.metric.startswith("claim_") for g in gates)
