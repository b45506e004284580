"""Latency benchmark of a saved model: per-note latency and throughput, single and batched.

    chartcoder bench latency --model MODEL_DIR --input PATH [--json] [--n N] [--batch-size B]

`PATH` is a folder of `.txt` notes (id = file stem) or a JSONL of `{"id", "text"}`. After a
warm-up, every note is suggested alone (single requests: p50/p95/p99 per note, notes/s), then
the same notes in batches of `batch_size` (per-batch p50/p95, per-note time, notes/s). Peak
memory is the process's maximum resident set size (`resource.getrusage`), which includes
loading the model. Timings depend on the machine and its load: they are measured here, never
asserted in tests.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_WORD_RE = re.compile(r"\S+")


class LatencyInputError(ValueError):
    """The latency input cannot be read; the message names the file, line and field."""


def load_texts(path: str | Path) -> list[tuple[str, str]]:
    """`(id, text)` pairs from a folder of `.txt` files or a JSONL of `{"id", "text"}`."""
    p = Path(path)
    out: list[tuple[str, str]] = []
    if p.is_dir():
        for f in sorted(p.glob("*.txt")):
            out.append((f.stem, f.read_text(encoding="utf-8")))
        if not out:
            raise LatencyInputError(f"--input {p}: the folder holds no .txt notes")
        return out
    if not p.is_file():
        raise LatencyInputError(f"--input {p}: no such file or folder")
    with p.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LatencyInputError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise LatencyInputError(f"{p}:{lineno}: each line must be a JSON object")
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise LatencyInputError(f"{p}:{lineno}: field 'text' must be a non-empty string")
            out.append((str(obj.get("id", f"line{lineno}")), text))
    if not out:
        raise LatencyInputError(f"--input {p}: the file holds no notes")
    return out


def truncate_words(text: str, n_words: int) -> str:
    """The prefix of `text` holding its first `n_words` whitespace-separated words."""
    if n_words < 1:
        raise ValueError(f"truncate_words needs n_words >= 1; got {n_words}")
    for i, m in enumerate(_WORD_RE.finditer(text), start=1):
        if i == n_words:
            return text[: m.end()]
    return text


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB (ru_maxrss is KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _ms_stats(seconds: Sequence[float], prefix: str) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=float) * 1000.0
    return {
        f"{prefix}p50_ms": float(np.percentile(ms, 50)),
        f"{prefix}p95_ms": float(np.percentile(ms, 95)),
        f"{prefix}p99_ms": float(np.percentile(ms, 99)),
        f"{prefix}mean_ms": float(ms.mean()),
        f"{prefix}max_ms": float(ms.max()),
    }


def measure(
    suggester: Any,
    notes: Sequence[Any],
    *,
    batch_size: int = 8,
    warmup: int = 3,
    top_k: int = 30,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Time `suggester.suggest` note by note, then `suggest_batch` in batches of `batch_size`.

    `notes` are `model.text.note.Note`s. Returns the latency report (without memory figures).
    """
    if not notes:
        raise ValueError("no notes to time")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    for note in notes[: max(0, warmup)]:
        suggester.suggest(note, top_k=top_k)
    single: list[float] = []
    cpu: list[float] = []
    for note in notes:
        c0 = time.process_time()
        t0 = clock()
        suggester.suggest(note, top_k=top_k)
        single.append(clock() - t0)
        cpu.append(time.process_time() - c0)
    batches: list[float] = []
    sizes: list[int] = []
    for start in range(0, len(notes), batch_size):
        chunk = notes[start : start + batch_size]
        t0 = clock()
        suggester.suggest_batch(chunk, top_k=top_k)
        batches.append(clock() - t0)
        sizes.append(len(chunk))
    words = np.asarray([len(_WORD_RE.findall(n.text)) for n in notes], dtype=float)
    report: dict[str, Any] = {
        "n_notes": len(notes),
        **_ms_stats(single, ""),
        "notes_per_s": len(notes) / sum(single) if sum(single) else float("inf"),
        # CPU time of this process (all its threads) per single request: less sensitive than
        # wall time to other jobs sharing the machine
        "cpu_p50_ms": float(np.percentile(np.asarray(cpu) * 1000.0, 50)),
        "cpu_p95_ms": float(np.percentile(np.asarray(cpu) * 1000.0, 95)),
        "batch_size": batch_size,
        "n_batches": len(batches),
        **_ms_stats(batches, "batch_"),
        "batch_per_note_ms": 1000.0 * sum(batches) / len(notes),
        "batch_notes_per_s": len(notes) / sum(batches) if sum(batches) else float("inf"),
        "words_per_note_mean": float(words.mean()),
        "words_per_note_median": float(np.median(words)),
        "words_per_note_max": int(words.max()),
        "ms_per_100_words": 100_000.0 * sum(single) / max(1.0, float(words.sum())),
        "warmup": min(max(0, warmup), len(notes)),
        "top_k": top_k,
    }
    return report


def run_latency(
    model_dir: str | Path,
    input_path: str | Path,
    *,
    n: int | None = None,
    batch_size: int = 8,
    warmup: int = 3,
    top_k: int = 30,
    max_words: int | None = None,
) -> dict[str, Any]:
    """Load the model and the notes, time them, and add memory and environment figures.

    `n` limits the timed notes to the first `n` (repeating the input when it holds fewer);
    `max_words` truncates every note to its first `max_words` words (e.g. 400, the target's
    note length).
    """
    from model.artifact import load_suggester
    from model.text.note import Note

    texts = load_texts(input_path)
    if n is not None:
        if n < 1:
            raise ValueError(f"--n must be >= 1; got {n}")
        texts = [texts[i % len(texts)] for i in range(n)]
    if max_words is not None:
        texts = [(i, truncate_words(t, max_words)) for i, t in texts]
    notes = [Note.create(t, id=i) for i, t in texts]
    t0 = time.perf_counter()
    suggester = load_suggester(model_dir)
    load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_mb()
    report = measure(suggester, notes, batch_size=batch_size, warmup=warmup, top_k=top_k)
    report.update(
        {
            "peak_rss_mb": peak_rss_mb(),
            "rss_after_load_mb": rss_loaded,
            "load_s": load_s,
            "model_version": suggester.model_version,
            "model_dir": str(model_dir),
            "input": str(input_path),
            "max_words": max_words,
            "cpu_count": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        }
    )
    return report


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable summary of a latency report."""
    r = report
    return "\n".join(
        [
            f"model {r['model_version']}: {r['n_notes']} notes, "
            f"{r['words_per_note_mean']:.0f} words/note on average "
            f"(median {r['words_per_note_median']:.0f}, max {r['words_per_note_max']})",
            f"single  p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms  "
            f"p99 {r['p99_ms']:.1f} ms  {r['notes_per_s']:.1f} notes/s  "
            f"(CPU p50 {r['cpu_p50_ms']:.1f} ms, p95 {r['cpu_p95_ms']:.1f} ms)",
            f"batch {r['batch_size']}: p50 {r['batch_p50_ms']:.1f} ms/batch  "
            f"p95 {r['batch_p95_ms']:.1f} ms/batch  {r['batch_per_note_ms']:.1f} ms/note  "
            f"{r['batch_notes_per_s']:.1f} notes/s",
            f"memory: peak RSS {r['peak_rss_mb']:.0f} MiB "
            f"(after load {r['rss_after_load_mb']:.0f} MiB); model load {r['load_s']:.1f} s; "
            f"{r['cpu_count']} CPUs, load average {r['load_average_1m']:.1f}",
        ]
    )
