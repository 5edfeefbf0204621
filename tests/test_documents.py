"""Your own documents: folders, formats (PDF, HTML, Word, Markdown, legacy encodings), identity by
path, incremental re-indexing, and management (``assistant sources``), on the committed fixtures in
``tests/fixtures/docs/`` (regenerate with ``tests/fixtures/make_docs.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "docs"
IDX = ("--data-dir", "data", "--embedding", "fake")


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={})


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "docs")
    return tmp_path / "docs"


def _sources(run) -> dict[str, dict]:  # noqa: ANN001
    r = run("sources", "--json", "--data-dir", "data")
    assert r.exit_code == 0, r.output
    return {row["source"]: row for row in map(json.loads, r.stdout.splitlines())}


# -- extraction -----------------------------------------------------------------------------------

def _extract(name: str):  # noqa: ANN202
    from index.formats import extract

    return extract((FIXTURES / name).read_bytes(), name)


def test_pdf_text_is_read_per_page_with_page_offsets() -> None:
    got = _extract("report.pdf")
    assert got.format == "pdf" and len(got.page_starts) == 2
    page2 = got.text[got.page_starts[1]:]
    assert "lighthouse at Cape Verity" in page2 and "412 ships" in got.text[:got.page_starts[1]]
    assert "North 210 1.2 million" in page2  # the table's row, its cells in order


def test_html_keeps_the_main_text_without_navigation_scripts_or_styles() -> None:
    got = _extract("page.html")
    assert "Morteratsch glacier trail is 6 kilometres long" in got.text
    for gone in ("About us", "trackingSecret", "another script", "font-family", "Copyright"):
        assert gone not in got.text


def test_word_paragraphs_headings_and_tables_are_read() -> None:
    got = _extract("memo.docx")
    assert got.text.startswith("# Budget memo")
    assert "renovation budget is 3.5 million euros" in got.text
    assert "| Roof | 1.1 million |" in got.text


def test_markdown_front_matter_is_dropped_and_headings_kept() -> None:
    got = _extract("notes.md")
    assert got.text.startswith("# Beekeeping") and "title:" not in got.text


UNICODE_NOTE = "Die Bienenstöcke in Zürich überwintern gut.\nThe apiary keeps 42 hives – “Lindenhof”.\n"


@pytest.mark.parametrize("codec,encoding", [("utf-16", None), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"),
                                            ("utf-32-le", "utf-32-le"), ("utf-32-be", "utf-32-be")])
def test_a_utf16_or_utf32_file_with_a_byte_order_mark_is_text(run, tmp_path: Path, codec: str,
                                                               encoding: str | None) -> None:
    """A BOM-marked UTF-16/32 file (Notepad's "Unicode") is decoded, in a folder or named; offsets
    index the decoded text without the mark."""
    import codecs

    from index.formats import extract

    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}.get(codec, b"")
    data = bom + UNICODE_NOTE.encode(codec)  # Python's "utf-16" writes its own BOM
    got = extract(data, "note.txt")
    assert got.text == UNICODE_NOTE and got.encoding.startswith("utf-16" if "16" in codec else "utf-32")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "note.txt").write_bytes(data)
    r = run("index", "notes", *IDX)
    assert r.exit_code == 0 and "binary" not in r.stderr, r.output
    row = _sources(run)["notes/note.txt"]
    assert row["chars"] == len(UNICODE_NOTE) and (encoding is None or row["encoding"] == encoding)
    r = run("ask", "--data-dir", "data", "--embedding", "fake", "--llm", "fake", "--json",
            "How many hives does the apiary keep?")
    assert r.exit_code == 0, r.output
    cite = json.loads(r.stdout)["citations"][0]
    assert UNICODE_NOTE[cite["start"]:cite["end"]] == cite["quote"] == "The apiary keeps 42 hives – “Lindenhof”."


def test_a_bom_marked_file_that_is_not_valid_utf16_is_a_clear_error() -> None:
    import codecs

    from index.errors import DocumentError
    from index.formats import extract

    with pytest.raises(DocumentError, match="UTF-16-LE byte-order mark but is not valid"):
        extract(codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"\x00", "odd.txt")


def test_a_cp1252_file_is_decoded_and_its_encoding_recorded() -> None:
    got = _extract("legacy.txt")
    assert got.encoding == "cp1252"
    assert "café" in got.text and "“Turkish”" in got.text and "4 €" in got.text


# -- folders and identity -------------------------------------------------------------------------

def test_a_folder_indexes_in_one_command_and_skips_what_has_no_text(run, docs: Path) -> None:
    r = run("index", "docs", *IDX)
    assert r.exit_code == 0, r.output
    assert "docs/empty.txt: the file is empty" in r.stderr
    assert "docs/scanned.pdf: the file is a PDF file without extractable text" in r.stderr
    rows = _sources(run)
    assert sorted(rows) == ["docs/legacy.txt", "docs/memo.docx", "docs/notes.md", "docs/page.html", "docs/report.pdf"]
    assert rows["docs/report.pdf"]["pages"] == 2 and rows["docs/legacy.txt"]["encoding"] == "cp1252"
    for row in rows.values():
        assert row["chunks"] >= 1 and row["chars"] > 0 and len(row["content_hash"]) == 64 and row["indexed_at"]
    again = run("index", "docs", *IDX)
    assert "5 unchanged file(s)" in again.stdout and " added" not in again.stdout
    assert _sources(run) == rows  # re-indexing changes nothing, not even the dates


def test_hidden_binary_and_globbed_files_are_skipped_and_listed(run, tmp_path: Path) -> None:
    d = tmp_path / "notes"
    (d / ".git").mkdir(parents=True)
    (d / ".git" / "config").write_text("[core]", encoding="utf-8")
    (d / ".draft.md").write_text("A hidden draft.", encoding="utf-8")
    (d / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (d / "keep.md").write_text("Kept note.", encoding="utf-8")
    (d / "sub").mkdir()
    (d / "sub" / "deep.txt").write_text("A nested note.", encoding="utf-8")
    (d / "sub" / "old.txt").write_text("An excluded note.", encoding="utf-8")
    r = run("index", "notes", "--exclude", "old.txt", *IDX)
    assert r.exit_code == 0, r.output
    for listed in ("notes/.git/: hidden folder", "notes/.draft.md: hidden file", "notes/logo.png: binary file"):
        assert listed in r.stderr
    assert sorted(_sources(run)) == ["notes/keep.md", "notes/sub/deep.txt"]
    r = run("index", "notes", "--include", "*.md", "--data-dir", "other", "--embedding", "fake")
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "notes/keep.md: 1 added, 0 unchanged, 0 removed"
    assert len(r.stdout.splitlines()) == 2  # that file, then the chunk count


@pytest.mark.parametrize("folder", ["docs", "docs/", "work/docs"])
def test_globs_match_the_path_under_the_folder_given(run, tmp_path: Path, folder: str) -> None:
    """README's example: ``--exclude 'drafts/*'`` drops docs/drafts/ wherever the command is run from."""
    d = tmp_path / folder.rstrip("/")
    (d / "drafts").mkdir(parents=True)
    (d / "policy.md").write_text("Staff get 30 days of leave.", encoding="utf-8")
    (d / "drafts" / "old.md").write_text("Draft: staff get 10 days of leave.", encoding="utf-8")
    (d / "notes.txt").write_text("Not Markdown.", encoding="utf-8")
    r = run("index", folder, "--include", "*.md", "--exclude", "drafts/*", *IDX)
    assert r.exit_code == 0, r.output
    prefix = folder.rstrip("/")
    assert sorted(_sources(run)) == [f"{prefix}/policy.md"]
    assert "matched no file" not in r.stderr


def test_a_glob_that_matched_no_file_is_reported(run, tmp_path: Path) -> None:
    (tmp_path / "docs" / "drafts").mkdir(parents=True)
    (tmp_path / "docs" / "drafts" / "old.md").write_text("Draft.", encoding="utf-8")
    (tmp_path / "docs" / "policy.md").write_text("Policy.", encoding="utf-8")
    r = run("index", "docs", "--exclude", "docs/drafts/*", *IDX)  # a path from the current directory
    assert r.exit_code == 0, r.output
    assert "--exclude 'docs/drafts/*' matched no file" in r.stderr
    r = run("index", "docs", "--include", "*.pdf", *IDX)
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: no file to index (") and "--include '*.pdf' matched no file" in r.stderr


def test_same_named_files_in_different_folders_are_different_documents(run, tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "README.md").write_text(f"Project {d} uses the {d}-engine.", encoding="utf-8")
    assert run("index", "a/README.md", *IDX).exit_code == 0
    assert run("index", "b/README.md", *IDX).exit_code == 0  # a second command does not replace the first
    assert sorted(_sources(run)) == ["a/README.md", "b/README.md"]
    from assistant.composition import build_library, build_store
    from assistant.settings import load_settings

    s = load_settings(data_dir=tmp_path / "data", embedding_backend="fake")
    assert len(build_store(s).ids("a/README.md")) == 1
    assert build_library(s).text("b/README.md") == "Project b uses the b-engine."


def test_an_nfc_and_an_nfd_path_are_the_same_document(run, tmp_path: Path) -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "café.md")
    (tmp_path / nfd).write_text("Opening hours of the café.", encoding="utf-8")
    assert run("index", nfd, *IDX).exit_code == 0
    assert list(_sources(run)) == [unicodedata.normalize("NFC", "café.md")]


def test_a_changed_file_replaces_its_chunks_only_and_unchanged_files_are_not_read(
        fake_settings, docs: Path, monkeypatch) -> None:
    import index.pipeline as pipeline
    from assistant.composition import build_chunker, build_library, build_store
    from index.discover import discover

    store, library = build_store(fake_settings), build_library(fake_settings)
    chunker = build_chunker(fake_settings, store.embeddings)
    found, _ = discover([docs], root=docs.parent)
    pipeline.index_files(found, store, chunker, library)
    before = {s: store.ids(s) for s in store.sources()}
    extracted: list[str] = []
    real_load = pipeline.load_document
    monkeypatch.setattr(pipeline, "load_document", lambda p, **kw: extracted.append(kw["source"]) or real_load(p, **kw))
    (docs / "notes.md").write_text("# Beekeeping\n\nA hive in spring holds 20,000 bees.\n", encoding="utf-8")
    run = pipeline.index_files(found, store, chunker, library)
    # only the changed file and the two without text are read past their hash
    assert sorted(extracted) == ["docs/empty.txt", "docs/notes.md", "docs/scanned.pdf"]
    assert [r.source for r in run.reports] == ["docs/notes.md"] and run.reports[0].removed == 1
    after = {s: store.ids(s) for s in store.sources()}
    assert {s: i for s, i in after.items() if s != "docs/notes.md"} == {s: i for s, i in before.items()
                                                                       if s != "docs/notes.md"}
    assert after["docs/notes.md"].isdisjoint(before["docs/notes.md"])
    assert "20,000 bees" in library.text("docs/notes.md")


def test_a_source_id_indexed_from_another_existing_file_is_refused(run, tmp_path: Path) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "doc.txt").write_text(f"Document {d}.", encoding="utf-8")
    assert run("index", "x/doc.txt", "--root", "x", *IDX).exit_code == 0
    r = run("index", "y/doc.txt", "--root", "y", *IDX)
    assert r.exit_code == 1 and "already indexed from" in r.stderr and "Traceback" not in r.output
    from assistant.composition import build_library
    from assistant.settings import load_settings

    assert build_library(load_settings(data_dir=tmp_path / "data")).text("doc.txt") == "Document x."


# -- management -----------------------------------------------------------------------------------

def test_sources_remove_drops_one_document_and_an_unknown_one_is_a_clear_error(run, docs: Path, tmp_path) -> None:
    assert run("index", "docs", *IDX).exit_code == 0
    r = run("sources", "remove", "docs/page.html", *IDX)
    assert r.exit_code == 0 and r.stdout.startswith("removed docs/page.html (1 chunks)")
    r = run("sources", "remove", str(docs / "memo.docx"), *IDX)  # a file path finds its document too
    assert r.exit_code == 0 and "removed docs/memo.docx" in r.stdout
    assert sorted(_sources(run)) == ["docs/legacy.txt", "docs/notes.md", "docs/report.pdf"]
    from assistant.composition import build_library, build_store
    from assistant.settings import load_settings

    s = load_settings(data_dir=tmp_path / "data", embedding_backend="fake")
    assert "docs/page.html" not in build_store(s).sources() and build_library(s).text("docs/page.html") is None
    count = build_store(s).count()
    r = run("sources", "remove", "docs/nothing.md", *IDX)
    assert r.exit_code == 1 and "is not indexed" in r.stderr and "assistant sources" in r.stderr
    assert build_store(s).count() == count
    listing = run("sources", "--data-dir", "data")
    assert "docs/report.pdf" in listing.stdout and "content hash" in listing.stdout


# -- answers with exact citations (default extractive configuration: no model call) ----------------

QUESTIONS = [
    ("How many ships did the harbour handle in the first quarter?", "docs/report.pdf", "412 ships", 1),
    ("When was the new lighthouse at Cape Verity completed?", "docs/report.pdf", "completed in March", 2),
    ("How long is the Morteratsch glacier trail?", "docs/page.html", "6 kilometres", None),
    ("What is the library renovation budget?", "docs/memo.docx", "3.5 million euros", None),
    ("How many bees does a healthy hive hold in summer?", "docs/notes.md", "50,000 bees", None),
    ("What does the café on Rue Lepic sell?", "docs/legacy.txt", "“Turkish” coffee for 4 € a cup", None),
]


@pytest.fixture(scope="module")
def fixture_assistant(tmp_path_factory):
    from assistant.composition import build_assistant, build_chunker, build_library, build_store
    from assistant.settings import load_settings
    from index.discover import discover
    from index.pipeline import index_files

    base = tmp_path_factory.mktemp("docs-answers")
    shutil.copytree(FIXTURES, base / "docs")
    s = load_settings(data_dir=base / "data", llm_backend="fake")  # answer_mode: extractive (default)
    store = build_store(s)
    index_files(discover([base / "docs"], root=base)[0], store, build_chunker(s, store.embeddings), build_library(s))
    return s, build_assistant(s, store=store)


@pytest.mark.parametrize("question,source,fact,page", QUESTIONS)
def test_every_document_is_answered_with_exact_citations_and_pdf_pages(
        fixture_assistant, question: str, source: str, fact: str, page: int | None) -> None:
    from assistant.evaluation.citations import check_citation
    from assistant.evaluation.sources import SourceTexts

    settings, assistant = fixture_assistant
    answer = assistant.ask(question)
    assert not answer.abstained and answer.timings.model_calls == 0, answer.answer
    cite = answer.citations[0]
    assert cite.source == source and fact in cite.quote
    assert cite.page == page
    stored = SourceTexts().with_stored(settings.documents_dir)
    assert stored.get(source)[cite.start:cite.end] == cite.quote
    assert check_citation(cite, answer.passages, stored).checked_against == "file"
    assert check_citation(cite, answer.passages, stored).valid
    cited = next(p for p in answer.passages if p.passage_id == cite.passage_id)
    assert (cited.page is not None) == (page is not None)


def test_ask_prints_the_page_of_a_pdf_citation(run, docs: Path) -> None:
    assert run("index", "docs", "--data-dir", "data").exit_code == 0
    r = run("ask", "--data-dir", "data", "--llm", "fake", "When was the new lighthouse at Cape Verity completed?")
    assert r.exit_code == 0, r.output
    assert "docs/report.pdf:236-293 (page 2) “The new lighthouse at Cape Verity was completed in March.”" in r.stdout


def test_indexing_the_current_directory_names_files_relative_to_it(run, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "README.md").write_text("Project a.", encoding="utf-8")
    assert run("index", ".", "--exclude", "data/*", *IDX).exit_code == 0
    assert list(_sources(run)) == ["a/README.md"]


def test_rebuild_with_a_failing_file_leaves_the_index_as_it_was(run, docs: Path) -> None:
    assert run("index", "docs", *IDX).exit_code == 0
    before = _sources(run)
    r = run("index", "docs", "--rebuild", "--strict", *IDX)  # empty.txt fails the batch
    assert r.exit_code == 1 and "empty.txt" in r.stderr and "nothing was indexed" in r.stderr
    assert _sources(run) == before
    r = run("index", "docs", "--rebuild", *IDX)
    assert r.exit_code == 0 and "docs/report.pdf: 1 added" in r.stdout
    assert sorted(_sources(run)) == sorted(before)


def test_a_new_chunk_size_rechunks_files_whose_bytes_did_not_change(run, docs: Path) -> None:
    assert run("index", "docs", *IDX).exit_code == 0
    r = run("index", "docs", "--chunk-size", "16", "--chunk-overlap", "0", *IDX)
    assert r.exit_code == 0 and "unchanged file" not in r.stdout
    assert _sources(run)["docs/report.pdf"]["chunks"] > 1
