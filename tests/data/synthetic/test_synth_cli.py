from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chartcoder.cli import app


def test_synth_writes_corpus_files(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    result = CliRunner().invoke(
        app, ["synth", "--n", "30", "--seed", "2", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    for name in ("notes.jsonl", "train.jsonl", "dev.jsonl", "test.jsonl", "stats.json"):
        assert (out / name).is_file(), name
    lines = (out / "notes.jsonl").read_text().splitlines()
    assert len(lines) == 30
    stats = json.loads((out / "stats.json").read_text())
    assert stats["notes"] == 30 and stats["seed"] == 2
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["notes"] == 30


def test_synth_rejects_negative_n(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--n", "-5", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "--n" in result.output
