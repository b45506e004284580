"""`fork_map`: per-note work in forked workers, results in input order, errors raised here; a
v1 model fitted with workers is the model fitted without them."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from model import parallel
from model.parallel import fork_map, worker_count


def test_results_come_back_in_input_order_from_worker_processes() -> None:
    data = list(range(300))
    # Each worker's first item waits until the other worker has one too: on a busy machine one
    # worker could otherwise take every chunk before the other starts.
    both = multiprocessing.get_context("fork").Barrier(2)
    started: list[bool] = []  # forked: each worker has its own copy

    def pid(i: int) -> int:
        if not started:
            started.append(True)
            both.wait(timeout=60)
        return os.getpid()

    pids = fork_map(pid, 300, workers=2)
    out = fork_map(lambda i: data[i] * 3, 300, workers=2)
    assert out == [3 * i for i in range(300)]
    assert os.getpid() not in pids  # the work really ran elsewhere
    assert len(set(pids)) == 2


def test_short_loops_and_one_worker_run_in_this_process() -> None:
    assert set(fork_map(lambda i: os.getpid(), parallel.MIN_ITEMS - 1, workers=2)) == {os.getpid()}
    assert set(fork_map(lambda i: os.getpid(), 200, workers=1)) == {os.getpid()}


def test_an_error_in_a_worker_is_raised_in_the_caller() -> None:
    def fails_at_150(i: int) -> int:
        if i == 150:
            raise ValueError(f"note {i} is broken")
        return i

    with pytest.raises(ValueError, match="note 150 is broken"):
        fork_map(fails_at_150, 300, workers=2)
    # the module is ready for the next call
    assert fork_map(lambda i: i, 100, workers=2) == list(range(100))


def test_a_map_inside_a_worker_runs_in_that_worker() -> None:
    out = fork_map(lambda i: (os.getpid(), set(fork_map(lambda j: os.getpid(), 100))), 100)
    assert all({pid} == inner for pid, inner in out)


def test_progress_sees_every_item() -> None:
    seen: list[int] = []

    def progress(it, desc, total):  # type: ignore[no-untyped-def]
        assert (desc, total) == ("work", 120)
        for x in it:
            seen.append(x)
            yield x

    assert fork_map(lambda i: i, 120, desc="work", progress=progress, workers=2) == seen


def test_worker_count_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTCODER_WORKERS", "3")
    assert worker_count() == 3
    monkeypatch.setenv("CHARTCODER_WORKERS", "1")
    assert worker_count() == 1
    for bad in ("zero", "0"):
        monkeypatch.setenv("CHARTCODER_WORKERS", bad)
        with pytest.raises(ValueError, match="CHARTCODER_WORKERS"):
            worker_count()
    monkeypatch.delenv("CHARTCODER_WORKERS")
    assert 1 <= worker_count() <= parallel.MAX_WORKERS


def test_a_v1_model_fitted_in_workers_is_the_one_fitted_without(
    synthetic_corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evaluation.datasets import load_synthetic
    from model.codesets import get_catalog
    from model.text.note import Note
    from model.v1.model import V1Model
    from training.train import note_columns

    notes = load_synthetic(synthetic_corpus_dir, split="train")[:90]
    probe = load_synthetic(synthetic_corpus_dir, split="dev")[:3]
    texts, settings, labels, extra = note_columns(notes)
    fitted = []
    for workers in ("1", "2"):
        monkeypatch.setenv("CHARTCODER_WORKERS", workers)
        model = V1Model(folds=2, ranker_folds=2, ranker_iter=20, seed=3).fit(
            texts, settings, labels, catalog=get_catalog(), **extra
        )
        fitted.append(model)
    serial, forked = fitted
    assert serial.code_space_ == forked.code_space_
    assert serial.candidate_recall_ == forked.candidate_recall_
    for n in probe:
        a, b = (
            m.suggest_note(Note.create(n.text, id=n.id), model_version="t").to_dict()
            for m in fitted
        )
        assert a == b
    assert serial.ranker_.accept_thresholds_ == forked.ranker_.accept_thresholds_
    assert serial.training_stats_["pairs"] == forked.training_stats_["pairs"]
