"""CLI command: `chartcoder synth` writes a synthetic corpus with gold codes and spans."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""

    @app.command("synth")
    def synth(
        out: Annotated[Path, typer.Option("--out", help="Output folder (created if missing).")],
        n: Annotated[int, typer.Option("--n", min=0, help="Number of notes.")] = 20000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (deterministic).")] = 7,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Generate synthetic physician notes with gold ICD-10-CM/CPT/HCPCS codes and spans.

        Writes OUT/notes.jsonl, OUT/train.jsonl, OUT/dev.jsonl, OUT/test.jsonl (split by
        held-out templates and phrasings) and OUT/stats.json.
        """
        from data.synthetic import generate_corpus

        t0, c0 = time.perf_counter(), time.process_time()
        stats = generate_corpus(n, seed, out, progress=progress)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        summary = {
            "notes": stats["notes"],
            "seconds": round(dt, 2),
            "notes_per_second": round(n / dt, 1) if dt > 0 else None,
            "cpu_seconds": round(cpu, 2),
            "notes_per_cpu_second": round(n / cpu, 1) if cpu > 0 else None,
            "splits": stats["splits"],
            "distinct_codes": stats["distinct_codes"],
            "out": str(out),
        }
        typer.echo(json.dumps(summary))
