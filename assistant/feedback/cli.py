"""Registers ``assistant feedback ...`` on the main Typer app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``feedback`` command group to ``app``."""
    feedback = typer.Typer(help="Work with thumbs up/down feedback given in the chat UI.")
    app.add_typer(feedback, name="feedback")
