"""CLI: `chartcoder retrain --from-db|--from-jsonl ...` and `chartcoder bench site-habits`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="Data folder of the service (its SQLite database and models/).",
        envvar="CHARTCODER_DATA_DIR",
    ),
]


def retrain(
    out: Annotated[Path, typer.Option("--out", help="New model folder (must not exist).")],
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Read reviewed cases from the service database.")
    ] = False,
    from_jsonl: Annotated[
        Path | None,
        typer.Option("--from-jsonl", help="Read reviewed cases from a corrections export JSONL."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only reviews saved at/after this ISO time.")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Registered version to start from (default: the active one)."),
    ] = None,
    data_dir: DataDir = Path("chartcoder-data"),
    base_corpus: Annotated[
        Path | None,
        typer.Option("--base-corpus", help="Synthetic corpus folder replacing the base's record."),
    ] = None,
    max_base_notes: Annotated[
        int | None, typer.Option("--max-base-notes", min=1, help="Cap on base training notes.")
    ] = None,
    benchmark: Annotated[
        Path | None,
        typer.Option("--benchmark", help="Synthetic corpus whose test split is the benchmark."),
    ] = None,
    benchmark_notes: Annotated[
        int, typer.Option("--benchmark-notes", min=1, help="Benchmark notes scored.")
    ] = 150,
    eval_percent: Annotated[
        int, typer.Option("--eval-percent", min=1, max=90, help="Frozen evaluation share (%).")
    ] = 20,
    repeat: Annotated[
        int | None,
        typer.Option("--repeat", min=1, help="Repeat each correction k times (default: auto)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Training seed.")] = 0,
    no_promote: Annotated[
        bool, typer.Option("--no-promote", help="Register only, even if the gate passes.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Retrain from coder corrections; promote the new version only if the gate passes."""
    from serving.errors import ServiceError
    from training.corrections import CorrectionsError
    from training.retrain import RetrainError, RetrainOptions, run_retrain

    if from_db == (from_jsonl is not None):
        typer.secho("error: give exactly one of --from-db or --from-jsonl FILE", err=True)
        raise typer.Exit(2)
    since_dt = None
    if since is not None:
        try:
            since_dt = dt.datetime.fromisoformat(since)
        except ValueError:
            typer.secho(f"error: --since {since!r} is not an ISO date/time", err=True)
            raise typer.Exit(2) from None
    opts = RetrainOptions(
        data_dir=data_dir,
        out=out,
        source="db" if from_db else "jsonl",
        jsonl=from_jsonl,
        since=since_dt,
        base_version=base,
        base_corpus=base_corpus,
        max_base_notes=max_base_notes,
        benchmark=benchmark,
        benchmark_notes=benchmark_notes,
        eval_percent=eval_percent,
        repeat=repeat,
        seed=seed,
        promote=not no_promote,
    )
    try:
        result = run_retrain(opts)
    except (RetrainError, CorrectionsError, ServiceError, OSError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": result.version,
                    "out": str(result.out),
                    "promoted": result.promoted,
                    "reasons": result.reasons,
                    "active_before": result.active_before,
                    "train_seconds": round(result.train_seconds, 1),
                    "total_seconds": round(result.total_seconds, 1),
                    "old": result.old,
                    "new": result.new,
                }
            )
        )
        return
    state = "promoted (active)" if result.promoted else "registered, not activated"
    typer.echo(f"{result.version}: {state}; report: {result.out / 'report.md'}")
    for reason in result.reasons:
        typer.echo(f"  - {reason}")
    typer.echo(f"train {result.train_seconds:.1f} s, total {result.total_seconds:.1f} s")


def site_habits(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="Keep the run here (default: a temp dir).")
    ] = None,
    base_notes: Annotated[
        int, typer.Option("--base-notes", min=50, help="Synthetic notes for the base model.")
    ] = 1000,
    site_notes: Annotated[
        int, typer.Option("--site-notes", min=20, help="Site notes reviewed through the API.")
    ] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of corpora and training.")] = 5,
    habit_code: Annotated[
        str, typer.Option("--habit-code", help="ICD-10-CM code the site adds on E11 notes.")
    ] = "Z79.899",
) -> None:
    """Inject a site's coding habit as coder reviews, retrain, and measure that it was learnt."""
    from evaluation.site_habits import format_result, run_site_habits

    result = run_site_habits(
        work_dir=work_dir,
        base_notes=base_notes,
        site_notes=site_notes,
        seed=seed,
        habit_code=habit_code,
    )
    typer.echo(json.dumps(result) if as_json else format_result(result))


def register(app: typer.Typer) -> None:
    """Attach `retrain` to the root app and `site-habits` to the `bench` group."""
    from chartcoder.commands.bench import bench_app

    app.command("retrain")(retrain)
    bench_app.command("site-habits")(site_habits)
