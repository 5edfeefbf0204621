"""Registers ``assistant eval`` on the main Typer app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""

    @app.command("eval")
    def eval_command() -> None:
        """Evaluate the assistant over a question set (not implemented yet)."""
        raise typer.Exit(1)
