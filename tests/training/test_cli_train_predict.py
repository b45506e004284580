"""`chartcoder train`, `predict` and `evaluate` end to end on small real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartcoder.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_train_writes_a_versioned_artifact(tmp_path: Path, synthetic_corpus_dir: Path) -> None:
    lines = (synthetic_corpus_dir / "train.jsonl").read_text().splitlines()[:60]
    corpus = tmp_path / "small.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    result = runner.invoke(app, ["train", "--synthetic", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] in result.output
    assert manifest["training"]["data"]["synthetic"]["notes"] == 60


def test_train_rejects_a_missing_corpus(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", "--synthetic", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "--synthetic" in result.output and "no such file" in result.output
    assert not (tmp_path / "m").exists()


def test_predict_folder_of_notes(tmp_path: Path, trained_model_dir: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Assessment: essential hypertension. Type 2 diabetes.\n")
    (notes / "b.txt").write_text("Cough and fever for three days. Denies chest pain.\n")
    (notes / "empty.txt").write_text("   \n")
    out = tmp_path / "preds.jsonl"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(trained_model_dir),
            "--input",
            str(notes),
            "--output",
            str(out),
            "--top-k",
            "5",
        ],
    )
    assert result.exit_code == 1  # one note was bad
    assert "note empty" in result.output and "empty" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    text = (notes / "a.txt").read_text()
    for c in rows[0]["codes"]:
        for ev in c["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    per_system: dict[str, int] = {}
    for c in rows[0]["codes"]:
        per_system[c["system"]] = per_system.get(c["system"], 0) + 1
    assert max(per_system.values()) <= 5


def test_predict_jsonl_reports_the_bad_line(tmp_path: Path, trained_model_dir: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "Hypertension."}\n{not json}\n')
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(trained_model_dir),
            "--input",
            str(src),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 2
    assert "line 2" in result.output


def test_predict_rejects_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "Hypertension."}\n')
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(tmp_path),
            "--input",
            str(src),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 2
    assert "manifest.json is missing" in result.output


def test_evaluate_on_synthetic_prints_table_and_writes_json(
    tmp_path: Path, trained_model_dir: Path, synthetic_corpus_dir: Path
) -> None:
    lines = (synthetic_corpus_dir / "test.jsonl").read_text().splitlines()[:15]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(trained_model_dir),
            "--synthetic",
            str(gold),
            "--out",
            str(tmp_path / "reports"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "MAP" in result.output and "ICD-10-CM" in result.output
    report = json.loads((tmp_path / "reports" / "synthetic_test.json").read_text())
    assert 0.0 <= report["by_system"]["ICD-10-CM"]["ranking"]["map"] <= 1.0
    assert report["release_aware"] is True
    args = ["evaluate", "--model", str(trained_model_dir), "--synthetic", str(gold)]
    exact = runner.invoke(app, [*args, "--out", str(tmp_path / "exact"), "--exact-codes"])
    assert exact.exit_code == 0, exact.output
    report = json.loads((tmp_path / "exact" / "synthetic_test.json").read_text())
    assert report["release_aware"] is False
    assert report["gold_codes_coarser_than_release"] is None


def test_evaluate_needs_exactly_one_dataset(tmp_path: Path, trained_model_dir: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--model", str(trained_model_dir)])
    assert result.exit_code == 2
    assert "exactly one" in result.output
