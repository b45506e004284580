"""Per-note work spread over forked worker processes.

Training spends most of its time in pure-Python per-note work (reading each note for mentions
and context, building each note's candidate features) that one core runs while the other waits.
`fork_map` runs such a loop in forked workers: they inherit the caller's memory (the fitted
matcher, the code table, every note), so only the note indices go out and only the results come
back. Results come in input order, so training stays deterministic whatever the worker count.

Workers: `CHARTCODER_WORKERS` when set (1 turns it off), else the cores this process may use,
at most `MAX_WORKERS`. Fork is used on Linux only (it is unsafe with some macOS system
libraries); elsewhere, and for loops too short to pay for the processes, the loop runs here.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

MAX_WORKERS = 4
#: Below this many items the loop runs in this process (starting workers costs more).
MIN_ITEMS = 64

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]

_TASK: Callable[[int], Any] | None = None
# One fork_map at a time forks (the workers find their task in `_TASK`); another thread's call
# meanwhile runs in its own thread.
_LOCK = threading.Lock()


def worker_count() -> int:
    """How many worker processes `fork_map` uses (1: none)."""
    raw = os.environ.get("CHARTCODER_WORKERS", "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"CHARTCODER_WORKERS must be a whole number, got {raw!r}") from None
        if n < 1:
            raise ValueError(f"CHARTCODER_WORKERS must be at least 1, got {n}")
        return n
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _no_progress(it: Iterable[Any], desc: str, total: int) -> Iterable[Any]:
    return it


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None  # set by fork_map before the workers were forked
    return [_TASK(i) for i in range(*bounds)]


def fork_map(
    fn: Callable[[int], T],
    n: int,
    *,
    desc: str = "",
    progress: Progress = _no_progress,
    workers: int | None = None,
) -> list[T]:
    """`[fn(0), ..., fn(n - 1)]`, computed in forked workers where that pays. `fn` may close over
    anything (it is never pickled); its results must pickle. Mutations `fn` makes to shared
    objects stay in the worker. An exception in `fn` is raised here."""
    global _TASK
    workers = worker_count() if workers is None else workers
    serial = workers <= 1 or n < MIN_ITEMS or sys.platform != "linux"
    # _TASK already set: this is a worker (or another thread is forking): run here.
    if serial or _TASK is not None or not _LOCK.acquire(blocking=False):
        return [fn(i) for i in progress(range(n), desc, n)]
    # Chunks small enough to balance the workers and to move the progress bar.
    size = max(1, min(32, n // (workers * 8)))
    chunks = [(lo, min(n, lo + size)) for lo in range(0, n, size)]
    try:
        _TASK = fn
        with multiprocessing.get_context("fork").Pool(workers) as pool:

            def items() -> Iterator[T]:
                for part in pool.imap(_run, chunks):
                    yield from part

            return list(progress(items(), desc, n))
    finally:
        _TASK = None
        _LOCK.release()
