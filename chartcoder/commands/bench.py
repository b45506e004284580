"""CLI: `chartcoder bench ...` benchmarks (latency; more commands join the same group)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(
    help="Benchmarks of a saved model (latency, ...).",
    no_args_is_help=True,
    add_completion=False,
)


@bench_app.command("latency")
def latency(
    model: Annotated[Path, typer.Option("--model", help="Model folder (chartcoder train --out).")],
    input_path: Annotated[
        Path,
        typer.Option("--input", help='Folder of .txt notes or a JSONL of {"id", "text"}.'),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a summary.")
    ] = False,
    n: Annotated[
        int | None, typer.Option("--n", min=1, help="Time this many notes (input repeated).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Batch size.")] = 8,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed warm-up calls.")] = 3,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Codes per system.")] = 30,
    max_words: Annotated[
        int | None,
        typer.Option("--max-words", min=1, help="Truncate each note to its first N words."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the JSON report to this file.")
    ] = None,
) -> None:
    """Per-note latency (p50/p95) and notes/s, single and batched, with peak memory."""
    from evaluation.latency import LatencyInputError, format_report, run_latency
    from model.artifact import ArtifactError
    from model.text.note import NoteError

    try:
        report = run_latency(
            model,
            input_path,
            n=n,
            batch_size=batch_size,
            warmup=warmup,
            top_k=top_k,
            max_words=max_words,
        )
    except (LatencyInputError, ArtifactError, NoteError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(json.dumps(report) if json_output else format_report(report))


def register(app: typer.Typer) -> None:
    """Attach the `bench` group to the root app."""
    app.add_typer(bench_app, name="bench")
