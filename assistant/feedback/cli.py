"""Registers ``assistant feedback ...`` on the main Typer app.

Exit codes: 0 success; 2 usage error (bad settings, unwritable output file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the ``feedback`` command group to ``app``."""
    feedback = typer.Typer(help="Work with thumbs up/down feedback given in the chat UI.", no_args_is_help=True)
    app.add_typer(feedback, name="feedback")

    @feedback.command("export")
    def export(
        out: Annotated[Optional[Path], typer.Option(
            "--out", "-o", help="Write the rows to this file (default: standard output).")] = None,
        profile: Annotated[Optional[str], typer.Option("--profile", help="Settings profile name or TOML file.")] = None,
        data_dir: Annotated[Optional[Path], typer.Option(
            "--data-dir", help="Where the feedback lives (default .assistant).")] = None,
    ) -> None:
        """Write thumbs-down answers as evaluation cases (JSON Lines in the question-set format).

        Each row has id, question, answerable, reference_answer (the user's comment), key_facts,
        evidence and kind ("feedback"); fill in key_facts and evidence before adding it to a set.
        """
        from assistant.feedback.export import export_lines
        from assistant.feedback.store import FILE_NAME, FeedbackStore
        from assistant.settings import SettingsError, load_settings

        try:
            settings = load_settings(profile, data_dir=data_dir)
        except SettingsError as exc:
            raise _fail(str(exc)) from None
        path = settings.data_dir / FILE_NAME
        lines = export_lines(FeedbackStore(path).records("down")) if path.is_file() else []
        text = "".join(line + "\n" for line in lines)
        if out is None:
            typer.echo(text, nl=False)
        else:
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
        typer.echo(f"{len(lines)} thumbs-down answer(s) exported from {path}", err=True)
