"""Latency benchmark: input reading, the timing arithmetic, and the `chartcoder bench` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartcoder.cli import app
from evaluation.latency import LatencyInputError, load_texts, measure, peak_rss_mb, truncate_words
from model.suggestion import Suggestion
from model.text.note import Note

runner = CliRunner()


def test_load_texts_folder_and_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "b.txt").write_text("Second note.")
    (folder / "a.txt").write_text("First note.")
    (folder / "skip.md").write_text("not a note")
    assert load_texts(folder) == [("a", "First note."), ("b", "Second note.")]
    jl = tmp_path / "notes.jsonl"
    jl.write_text('{"id": "x", "text": "One."}\n\n{"text": "Two."}\n')
    assert load_texts(jl) == [("x", "One."), ("line3", "Two.")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x"}\n', r"notes.jsonl:1: field 'text'"),
        ("[1, 2]\n", "must be a JSON object"),
        ("{oops\n", "not valid JSON"),
        ("\n", "holds no notes"),
    ],
)
def test_load_texts_bad_input(tmp_path: Path, content: str, message: str) -> None:
    jl = tmp_path / "notes.jsonl"
    jl.write_text(content)
    with pytest.raises(LatencyInputError, match=message):
        load_texts(jl)


def test_load_texts_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(LatencyInputError, match="no such file"):
        load_texts(tmp_path / "nope")
    with pytest.raises(LatencyInputError, match="no .txt notes"):
        load_texts(tmp_path)


def test_truncate_words_keeps_exact_prefix() -> None:
    text = "One  two\nthree four."
    assert truncate_words(text, 3) == "One  two\nthree"
    assert truncate_words(text, 10) == text
    with pytest.raises(ValueError, match="n_words >= 1"):
        truncate_words(text, 0)


class _CountingSuggester:
    """Follows the `Suggester` protocol; records calls so the timing loop can be checked."""

    model_version = "count-1"

    def __init__(self) -> None:
        self.single: list[str] = []
        self.batches: list[int] = []

    def suggest(self, note, *, systems=None, top_k=30):
        self.single.append(note.id)
        return Suggestion(note.id, self.model_version)

    def suggest_batch(self, notes, *, systems=None, top_k=30):
        self.batches.append(len(notes))
        return [Suggestion(n.id, self.model_version) for n in notes]


def test_measure_percentiles_with_a_fixed_clock() -> None:
    notes = [Note.create(" ".join(["word"] * (10 * (i + 1))), id=f"n{i}") for i in range(5)]
    ticks = iter(range(0, 10_000))  # each clock() call advances 1 ms (in seconds: /1000)

    def clock() -> float:
        return next(ticks) / 1000.0

    sug = _CountingSuggester()
    r = measure(sug, notes, batch_size=2, warmup=2, clock=clock)
    # 2 warm-up calls, then 5 timed singles; batches of 2, 2, 1
    assert sug.single == ["n0", "n1", "n0", "n1", "n2", "n3", "n4"]
    assert sug.batches == [2, 2, 1]
    assert r["p50_ms"] == pytest.approx(1.0) and r["p95_ms"] == pytest.approx(1.0)
    assert r["notes_per_s"] == pytest.approx(1000.0)
    assert r["batch_per_note_ms"] == pytest.approx(3 / 5)
    assert r["words_per_note_mean"] == 30 and r["words_per_note_max"] == 50
    assert r["n_notes"] == 5 and r["n_batches"] == 3
    with pytest.raises(ValueError, match="no notes"):
        measure(sug, [])
    with pytest.raises(ValueError, match="batch_size"):
        measure(sug, notes, batch_size=0)
    assert peak_rss_mb() > 10


def test_cli_bench_latency_bad_model_is_a_clear_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "a", "text": "Chest pain."}\n')
    res = runner.invoke(app, ["bench", "latency", "--model", str(tmp_path), "--input", str(notes)])
    assert res.exit_code == 2
    assert "manifest.json is missing" in res.output
    res = runner.invoke(
        app, ["bench", "latency", "--model", str(tmp_path), "--input", str(tmp_path / "x")]
    )
    assert res.exit_code == 2 and "no such file" in res.output


@pytest.mark.slow
def test_cli_bench_latency_on_trained_model(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    try:
        model_dir = request.getfixturevalue("trained_model_dir")
    except pytest.FixtureLookupError:
        pytest.skip("no `trained_model_dir` fixture yet (the lead's tests/conftest.py adds it)")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Patient with type 2 diabetes and hypertension. " * 20)
    (notes / "b.txt").write_text("Follow-up for asthma; denies fever. Office visit.")
    out = tmp_path / "lat.json"
    args = ["bench", "latency", "--model", str(model_dir), "--input", str(notes), "--json"]
    res = runner.invoke(app, [*args, "--n", "4", "--batch-size", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("p50_ms", "p95_ms", "notes_per_s", "peak_rss_mb"):
        assert report[key] > 0
    assert report["n_notes"] == 4 and report["n_batches"] == 2
    assert json.loads(out.read_text())["model_version"] == report["model_version"]
    text = runner.invoke(
        app, ["bench", "latency", "--model", str(model_dir), "--input", str(notes)]
    )
    assert text.exit_code == 0 and "notes/s" in text.output
