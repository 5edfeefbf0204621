"""Registers ``assistant eval`` on the main Typer app.

Exit codes: 0 success; 1 a threshold failed, or the model/index could not be used; 2 usage error
(bad option, unreadable or malformed input file, malformed line under ``--strict``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

EXIT_USAGE = 2
EXIT_FAIL = 1


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""

    @app.command("eval")
    def eval_command(
        questions: Annotated[Optional[Path], typer.Argument(
            help="Question set or claim set, JSON Lines (docs/question-format.md; rows with a \"claim\" field "
                 "make a claim set, which measures the verifier).", show_default=False)] = None,
        out: Annotated[Optional[Path], typer.Option(
            "--out", "-o", help="Output directory (default artifacts/eval/<date-time>).")] = None,
        top_k: Annotated[Optional[int], typer.Option("-k", "--top-k", help="Passages to retrieve (the k of hit rate@k).")] = None,
        strict: Annotated[bool, typer.Option("--strict", help="Stop (exit 2) at the first malformed line.")] = False,
        fail_under: Annotated[Optional[list[str]], typer.Option(
            "--fail-under", metavar="METRIC=VALUE", help="Exit 1 when METRIC < VALUE (higher-is-better metrics). Repeatable.")] = None,
        fail_over: Annotated[Optional[list[str]], typer.Option(
            "--fail-over", metavar="METRIC=VALUE", help="Exit 1 when METRIC > VALUE (latencies, false abstentions). Repeatable.")] = None,
        thresholds: Annotated[Optional[Path], typer.Option(
            "--thresholds", metavar="FILE", help="TOML/JSON file with a min and a max table of metric = value (docs/evaluation.md).")] = None,
        compare: Annotated[Optional[tuple[Path, Path]], typer.Option(
            "--compare", metavar="A/metrics.json B/metrics.json", help="Print differences between two runs and exit.")] = None,
        source: Annotated[Optional[list[Path]], typer.Option(
            "--source", metavar="FILE", help="A document the index was built from, for the citation offset check "
                             "(the bundled article is always known). Repeatable.")] = None,
        judge_model: Annotated[Optional[str], typer.Option(
            "--judge-model", metavar="NAME", help="Optional LLM judge on an OpenAI-compatible server (or ASSISTANT_EVAL_JUDGE_MODEL).")] = None,
        judge_base_url: Annotated[Optional[str], typer.Option(
            "--judge-base-url", metavar="URL", help="Judge server URL (or ASSISTANT_EVAL_JUDGE_BASE_URL).")] = None,
        profile: Annotated[Optional[str], typer.Option("--profile", help="Settings profile name or TOML file.")] = None,
        data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Where the index lives (default .assistant).")] = None,
        llm: Annotated[Optional[str], typer.Option("--llm", help="LLM backend: llamacpp, fake, openai, ollama.")] = None,
        embedding: Annotated[Optional[str], typer.Option("--embedding", help="Embedding backend: minilm or fake.")] = None,
    ) -> None:
        """Evaluate the assistant over a question set, or its verifier over a claim set: results.jsonl,
        metrics.json, report.md (and plots for questions).

        Every question goes through the same code path as the chat and the API; every claim is
        decided by the assistant's verifier against the passages retrieved for it. With --compare,
        print the differences between two runs' metrics.json instead.
        """
        from assistant.evaluation.command import EvalRequest, RunError, UsageError, run_compare, run_eval

        try:
            if compare is not None:
                if questions is not None:
                    raise UsageError("give either QUESTIONS or --compare A B, not both")
                run_compare(*compare)
                return
            if questions is None:
                raise UsageError("missing QUESTIONS.jsonl or CLAIMS.jsonl (or use --compare A/metrics.json B/metrics.json)")
            code = run_eval(EvalRequest(
                questions=questions, out=out, top_k=top_k, strict=strict, fail_under=fail_under or [],
                fail_over=fail_over or [], thresholds=thresholds, sources=source or [], judge_model=judge_model,
                judge_base_url=judge_base_url, profile=profile, data_dir=data_dir, llm=llm, embedding=embedding,
            ))
        except UsageError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except RunError as exc:
            raise _fail(str(exc), EXIT_FAIL) from None
        if code:
            raise typer.Exit(code)
