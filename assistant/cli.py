"""The ``assistant`` command: index, ask, ui, serve (and eval, feedback)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Chat assistant with retrieval grounding: answers cite only verified passages.")

EXIT_USAGE = 2
EXIT_ERROR = 1

ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="Settings profile name or TOML file.")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="Where the index lives (default .assistant).")]
BackendOpt = Annotated[Optional[str], typer.Option("--llm", help="LLM backend: llamacpp, fake, openai, ollama.")]
EmbOpt = Annotated[Optional[str], typer.Option("--embedding", help="Embedding backend: minilm or fake.")]


def _quiet_libraries() -> None:
    from index.offline import stay_offline

    stay_offline()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


_DEBUG = {"on": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of any failure.")] = False) -> None:
    """Chat assistant with retrieval grounding: answers cite only verified passages."""
    _DEBUG["on"] = debug


def _fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """The one-line error of an expected failure (with its traceback under ``--debug``); call inside ``except``."""
    if _DEBUG["on"]:
        import traceback

        traceback.print_exc()
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _settings(profile, **overrides):  # noqa: ANN001, ANN202
    from assistant.settings import SettingsError, load_settings

    _quiet_libraries()
    try:
        return load_settings(profile, **overrides)
    except SettingsError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None


def _known_errors() -> tuple[type[Exception], ...]:
    from assistant.llm import ModelUnavailableError
    from assistant.prompting import PromptNotFoundError
    from assistant.api import AddressInUseError
    from assistant.security import InsecureBindError
    from index.errors import IndexingError

    return (IndexingError, ModelUnavailableError, PromptNotFoundError, AddressInUseError, InsecureBindError)


def _check_data_dir(settings) -> None:  # noqa: ANN001
    """Fail early, with the setting's name, when ``data_dir`` is not a usable directory."""
    d = settings.data_dir
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(f"data_dir {str(d)!r} cannot be used ({exc.strerror or exc}). "
                    "Give a writable directory with --data-dir or ASSISTANT_DATA_DIR.") from None


def _check_index_to_read(settings) -> None:  # noqa: ANN001
    """``ask``/``chat``/``serve``/``ui``: a usable ``data_dir`` (:func:`_check_data_dir`) holding an index, or the
    default location (:func:`assistant.composition.require_index_directory`); when there is no
    index, the directories just made for the check are removed again, so a mistyped ``--data-dir``
    creates nothing."""
    from assistant.composition import require_index_directory

    d = settings.data_dir.absolute()
    missing = [p for p in (d, *d.parents) if not p.exists()]  # deepest first
    _check_data_dir(settings)
    try:
        require_index_directory(settings)
    except Exception:
        for p in missing:  # made just now, and empty: nothing else can be in them
            try:
                p.rmdir()
            except OSError:
                break
        raise


def _note_auto_index(settings, indexed: bool) -> None:  # noqa: ANN001
    if indexed:
        typer.echo(f"Note: the index in {settings.persist_dir} was empty; indexed the bundled article into it.", err=True)


def _drop_or_set_aside(settings) -> None:  # noqa: ANN001
    """``--rebuild``: drop the collection; a store too damaged to open is moved aside (kept) instead."""
    from index.errors import StoreError
    from index.store import drop_collection, set_aside_damaged

    try:
        drop_collection(settings.persist_dir, settings.collection, settings.chroma_url)
    except StoreError:
        if settings.chroma_url:  # a server's files are not ours to move
            raise
        kept = set_aside_damaged(settings.persist_dir)
        typer.echo(f"Note: the index in {settings.persist_dir} could not be opened; moved it to {kept} "
                   "and building a new one.", err=True)


@app.command()
def index(
    paths: Annotated[Optional[list[Path]], typer.Argument(
        help="Files and folders (recursive): PDF, HTML, Word (.docx), Markdown, text. Default: the documents "
             "already indexed (chunked again from their stored texts), or the bundled article when none is.")] = None,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Only files matching this glob "
                                                         "(path under the root or file name; repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Skip files matching this glob (repeatable).")] = None,
    root: Annotated[Optional[Path], typer.Option("--root", help="Folder document ids are relative to "
                                                 "(default: the current directory for paths under it, "
                                                 "else the folder holding each path).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index first (after checking every file); "
                                          "without FILE, rebuild it from the documents already indexed.")] = False,
    chunk_size: Annotated[Optional[int], typer.Option(help="Max tokens per chunk (16-254 with MiniLM).")] = None,
    chunk_overlap: Annotated[Optional[int], typer.Option(help="Overlap tokens.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (write nothing) if any file cannot be read or has "
                                                          "no text, instead of skipping it.")] = False,
    profile: ProfileOpt = None, data_dir: DataDirOpt = None, embedding: EmbOpt = None,
) -> None:
    """Index documents: each is known by its path relative to the root (``docs/a/README.md``).

    Re-indexing an unchanged file costs one read (its content hash matches); a changed file's
    chunks are replaced and nothing else. Hidden and binary files in folders, and files without
    text (empty, scanned PDFs), are skipped and listed; with --strict an unreadable or empty file
    fails the whole batch and nothing is written. Without FILE, the documents the library records
    (``DATA_DIR/documents``) are chunked again from their stored texts (``--rebuild`` of a damaged
    store gets them all back); the bundled article is indexed only when none is recorded (with
    ``--rebuild``, only in the default data directory).
    """
    from assistant.composition import build_chunker, build_library, build_store, is_default_location
    from assistant.settings import bundled_corpus
    from index.discover import discover
    from index.pipeline import prepare_files, prepare_recorded, write_prepared

    s = _settings(profile, data_dir=data_dir, embedding_backend=embedding, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    recorded = not paths and bool(build_library(s).records())  # without FILE: the documents already indexed
    if not paths and not recorded:
        if rebuild and not is_default_location(s):
            raise _fail(f"nothing is recorded in {s.documents_dir} to rebuild from. Give the files to index: "
                        f"`assistant index --rebuild FILE ... --data-dir {s.data_dir}`.")
        paths, root = [bundled_corpus()], bundled_corpus().parent  # keeps its file name as its id
    _check_data_dir(s)
    try:
        skipped: list[str] = []
        if not recorded:
            found, skipped = discover(paths, include, exclude, root)
            if not found:
                raise _fail("no file to index" + (f" ({'; '.join(skipped)})" if skipped else "")
                            + ". Check the paths and the --include/--exclude globs.")
        library, chunker = build_library(s), build_chunker(s)
        store = None if rebuild else build_store(s)
        if recorded:  # from the stored texts (the only copy of a document added through the API)
            run, todo = prepare_recorded(library, store, chunker)
        else:
            run, todo = prepare_files(found, store, chunker, library, strict=strict)  # nothing written yet
        if rebuild:
            _drop_or_set_aside(s)
            kept = {p.doc.source for p in todo}
            for r in library.records():
                if r.source not in kept:  # the others' rows are replaced as they are written
                    library.remove(r.source)
            store = build_store(s)
        with _progress(len(todo)) as advance:
            write_prepared(todo, store, library, chunker, run, progress=advance)
    except _known_errors() as exc:
        raise _fail(str(exc)) from None
    for message in skipped + run.skipped:
        typer.echo(f"Warning: {message}", err=True)
    for r in run.reports:
        typer.echo(f"{r.source}: {r.added} added, {r.unchanged} unchanged, {r.removed} removed")
    if run.unchanged:
        typer.echo(f"{len(run.unchanged)} unchanged file(s) left as they were")
    typer.echo(f"{store.count()} chunks in {store.location}")


#: Files from which ``assistant index`` shows a progress bar (on a terminal).
PROGRESS_MIN_FILES = 5


class _progress:
    """A rich progress bar over the documents written, on stderr when it is a terminal and the run is long."""

    def __init__(self, total: int):
        self.total = total
        self.bar = None

    def __enter__(self):  # noqa: ANN204
        if self.total >= PROGRESS_MIN_FILES and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            task = self.bar.add_task("Indexing", total=self.total)
            return lambda _source: self.bar.advance(task)
        return lambda _source: None

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        if self.bar is not None:
            self.bar.stop()


sources_app = typer.Typer(help="List the indexed documents, or remove one.", invoke_without_command=True)
app.add_typer(sources_app, name="sources")


@sources_app.callback()
def sources(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
            profile: ProfileOpt = None, data_dir: DataDirOpt = None) -> None:
    """List what is indexed: path, format, pages, chunks, characters, indexed at, content hash."""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from assistant.composition import build_library

    s = _settings(profile, data_dir=data_dir)
    _check_store_readable(s)
    records = build_library(s).records()
    if as_json:
        for r in records:
            typer.echo(json.dumps(asdict(r), ensure_ascii=False))
        return
    if not records:
        typer.echo("No documents indexed. Add some with `assistant index PATH...`.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("path", "format", "pages", "chunks", "characters", "indexed at", "content hash")
    for r in records:
        table.add_row(r.source, r.format + (f" ({r.encoding})" if r.encoding not in (None, "utf-8") else ""),
                      str(r.pages or ""), str(r.chunks), str(r.chars), r.indexed_at, r.content_hash[:12])
    Console(width=200).print(table)


def _check_store_readable(settings) -> None:  # noqa: ANN001
    """Fail (one line naming ``--rebuild``) when the store exists but cannot be opened, as ``ask``
    does; an embedding model other than the store's is no damage and does not stop the listing."""
    from assistant.composition import build_store
    from index.errors import StoreError

    if not settings.chroma_url and not settings.persist_dir.exists():
        return  # nothing indexed yet: nothing to open (and no directory to create)
    try:
        build_store(settings)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    except _known_errors():
        pass


@sources_app.command("remove")
def sources_remove(
    path: Annotated[str, typer.Argument(help="The document's path as `assistant sources` lists it, or its file.")],
    profile: ProfileOpt = None, data_dir: DataDirOpt = None, embedding: EmbOpt = None,
) -> None:
    """Remove one document: its chunks, its manifest row and its stored text."""
    from assistant.composition import build_library, build_store
    from index.pipeline import remove_document

    s = _settings(profile, data_dir=data_dir, embedding_backend=embedding)
    library = build_library(s)
    source = path
    if library.get(path) is None and Path(path).exists():  # a file path: find the document read from it
        resolved = str(Path(path).resolve())
        source = next((r.source for r in library.records() if r.path == resolved), path)
    try:
        deleted = remove_document(source, build_store(s), library)
    except _known_errors() as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"removed {source} ({deleted} chunks)")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (answer, citations, passages).")] = False,
    top_k: Annotated[Optional[int], typer.Option("-k", "--top-k", help="Passages to retrieve.")] = None,
    profile: ProfileOpt = None, data_dir: DataDirOpt = None, llm: BackendOpt = None, embedding: EmbOpt = None,
) -> None:
    """Answer a question from the index, with verified, numbered sources."""
    from assistant.composition import build_assistant, build_store, require_index
    from assistant.service import QuestionError, check_question

    s = _settings(profile, data_dir=data_dir, llm_backend=llm, embedding_backend=embedding, top_k=top_k)
    try:
        check_question(question, s.max_question_chars)
        _check_index_to_read(s)  # before the store creates its directory
        store = build_store(s)
        assistant = build_assistant(s, store=store)
        _note_auto_index(s, require_index(s, store))
        answer = assistant.ask(question)
    except QuestionError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except _known_errors() as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False))
        return
    _print_answer(answer)


def _print_answer(answer) -> None:  # noqa: ANN001 - assistant.models.Answer
    """The answer, how it was made, and its numbered sources (the output of ``ask`` and ``chat``)."""
    typer.echo(answer.answer)
    if answer.abstained:
        typer.echo(f"(abstained: {answer.abstention_reason})")
        return
    if answer.notice:
        typer.echo(f"({answer.notice})")
    if not answer.citations:
        return
    how = "quoted from the documents" if answer.answer_kind == "extractive" else "written by the model, verified"
    typer.echo(f"\nSources ({how}):")
    for c in answer.citations:
        page = f" (page {c.page})" if c.page is not None else ""
        typer.echo(f"[{c.passage_id}] {c.source}:{c.start}-{c.end}{page} “{c.quote}”")


@app.command()
def chat(
    profile: ProfileOpt = None, data_dir: DataDirOpt = None, llm: BackendOpt = None, embedding: EmbOpt = None,
) -> None:
    """Ask questions one per line, with follow-ups ("And when?") read in the conversation's context.

    Reads standard input until end of file (Ctrl-D) or a line ``/quit``; ``/new`` starts a new
    conversation. Each answer is printed as ``ask`` prints it. A bad question (empty, too long) is
    reported on standard error and the conversation goes on.
    """
    from assistant.composition import build_assistant, build_store, require_index
    from assistant.followups import Turn
    from assistant.service import QuestionError, check_question

    s = _settings(profile, data_dir=data_dir, llm_backend=llm, embedding_backend=embedding)
    try:
        _check_index_to_read(s)  # before the store creates its directory
        store = build_store(s)
        assistant = build_assistant(s, store=store)
        _note_auto_index(s, require_index(s, store))
    except _known_errors() as exc:
        raise _fail(str(exc)) from None
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo("Ask about the indexed documents; /new starts a new conversation, /quit or Ctrl-D ends.")
    history: list[Turn] = []
    while True:
        if interactive:
            typer.echo("> ", nl=False)
        line = sys.stdin.readline()
        if not line or line.strip() == "/quit":
            return
        question = line.rstrip("\n")
        if question.strip() == "/new":
            history = []
            typer.echo("(new conversation)")
            continue
        if not question.strip():
            continue
        try:
            check_question(question, s.max_question_chars)
            answer = assistant.ask(question, history)
        except QuestionError as exc:
            typer.echo(f"Error: {exc}", err=True)
            continue
        except _known_errors() as exc:
            raise _fail(str(exc)) from None
        if answer.standalone_question and answer.standalone_question != question.strip():
            typer.echo(f"(read as: {answer.standalone_question})")
        _print_answer(answer)
        typer.echo("")
        if answer.answer_kind != "smalltalk":
            # the question as asked (as API clients send it): a follow-up's rewrite is a search query, not a frame
            history = (history + [Turn(question, answer.answer)])[-max(s.history_turns, 1):]


HostOpt = Annotated[Optional[str], typer.Option(help="Bind address (default 127.0.0.1).")]
PortOpt = Annotated[Optional[int], typer.Option(help="Port (default 7860).")]
RootPathOpt = Annotated[Optional[str], typer.Option(
    help="URL prefix under which a reverse proxy serves it, like /assistant (setting root_path).")]


def _serve(with_ui: bool, host, port, profile, data_dir, llm, embedding, root_path=None) -> None:  # noqa: ANN001
    from assistant.api import serve as serve_app

    from assistant.api import _check_port_free
    from assistant.security import check_bind

    s = _settings(profile, data_dir=data_dir, llm_backend=llm, embedding_backend=embedding, host=host, port=port,
                  root_path=root_path)
    try:
        # the address first (as serve_app does), then the index: a mistyped --data-dir creates nothing
        check_bind(s)
        _check_port_free(s.host, s.port)
        _check_index_to_read(s)
        serve_app(s, with_ui=with_ui)
    except _known_errors() as exc:
        raise _fail(str(exc)) from None


@app.command()
def ui(host: HostOpt = None, port: PortOpt = None, profile: ProfileOpt = None, data_dir: DataDirOpt = None,
       llm: BackendOpt = None, embedding: EmbOpt = None, root_path: RootPathOpt = None) -> None:
    """Start the chat UI (and the HTTP API under /v1); an empty index gets the bundled article at the default location only."""
    _serve(True, host, port, profile, data_dir, llm, embedding, root_path)


@app.command()
def serve(host: HostOpt = None, port: PortOpt = None, profile: ProfileOpt = None, data_dir: DataDirOpt = None,
          llm: BackendOpt = None, embedding: EmbOpt = None, root_path: RootPathOpt = None) -> None:
    """Start the HTTP API only (POST /v1/ask); an empty index gets the bundled article at the default location only."""
    _serve(False, host, port, profile, data_dir, llm, embedding, root_path)


@app.command()
def doctor(host: HostOpt = None, port: PortOpt = None, profile: ProfileOpt = None, data_dir: DataDirOpt = None,
           llm: BackendOpt = None, embedding: EmbOpt = None) -> None:
    """Check that this machine can run the assistant offline; print each problem's fix (exit 1 if any)."""
    from assistant.doctor import report, run_checks

    s = _settings(profile, data_dir=data_dir, llm_backend=llm, embedding_backend=embedding, host=host, port=port)
    raise typer.Exit(report(run_checks(s)))


def _register_subcommands() -> None:
    from assistant.evaluation.cli import register as register_eval
    from assistant.bench import register as register_bench
    from assistant.feedback.cli import register as register_feedback

    register_eval(app)
    register_feedback(app)
    register_bench(app)


_register_subcommands()


def main() -> None:
    """Console-script entry point.

    Expected failures print one ``Error:`` line in the commands. Anything else is a bug: it is
    reported in one line too, pointing to ``--debug``, which shows the traceback.
    """
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a bare traceback
        if _DEBUG["on"]:
            raise
        typer.echo(f"Error: unexpected {type(exc).__name__}: {exc}. Run the command again with "
                   "`assistant --debug ...` to see where it failed, and report it.", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
