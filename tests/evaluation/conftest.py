"""Fixtures for the evaluation tests: tiny corpora written to tmp_path, the real CodiEsp path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

NOTE_A = "Patient with type 2 diabetes mellitus and essential hypertension. Denies chest pain."
NOTE_B = "Follow-up for asthma. Family history of colon cancer. Office visit, established patient."


def _span(text: str, phrase: str) -> dict[str, int]:
    start = text.index(phrase)
    return {"start": start, "end": start + len(phrase)}


def synthetic_records() -> list[dict[str, Any]]:
    return [
        {
            "id": "syn-1",
            "text": NOTE_A,
            "meta": {"setting": "outpatient", "specialty": "family medicine"},
            "codes": [
                {
                    "system": "ICD-10-CM",
                    "code": "E11.9",
                    "evidence": [_span(NOTE_A, "type 2 diabetes mellitus")],
                },
                {
                    "system": "ICD-10-CM",
                    "code": "I10",
                    "evidence": [_span(NOTE_A, "essential hypertension")],
                },
            ],
            "distractors": [
                {
                    "system": "ICD-10-CM",
                    "code": "R07.9",
                    "reason": "negated",
                    "evidence": [_span(NOTE_A, "chest pain")],
                }
            ],
        },
        {
            "id": "syn-2",
            "text": NOTE_B,
            "meta": {"setting": "outpatient"},
            "codes": [
                {"system": "ICD-10-CM", "code": "J45909", "evidence": [_span(NOTE_B, "asthma")]},
                {
                    "system": "ICD-10-CM",
                    "code": "Z80.0",
                    "evidence": [_span(NOTE_B, "Family history of colon cancer")],
                },
                {
                    "system": "CPT",
                    "code": "99213",
                    "evidence": [_span(NOTE_B, "Office visit, established patient")],
                },
            ],
            "distractors": [
                {
                    "system": "ICD-10-CM",
                    "code": "C18.9",
                    "reason": "family_history",
                    "evidence": [_span(NOTE_B, "colon cancer")],
                }
            ],
        },
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    """A synthetic corpus folder with notes.jsonl and train/dev/test splits."""
    recs = synthetic_records()
    root = tmp_path / "synth"
    root.mkdir()
    write_jsonl(root / "notes.jsonl", recs)
    write_jsonl(root / "train.jsonl", recs[:1])
    write_jsonl(root / "dev.jsonl", recs[1:])
    write_jsonl(root / "test.jsonl", recs)
    return root


CODIESP_TEXT_1 = "A 40-year-old man with fever.\nHe had testicular pain.\nBrucella was found.\n"
CODIESP_TEXT_2 = "Woman with héart failure.\r\nTreated with diuretics.\n"


@pytest.fixture
def codiesp_root(tmp_path: Path) -> Path:
    """A two-note CodiEsp `train` split in the official layout (English texts)."""
    root = tmp_path / "codiesp"
    split = root / "train"
    (split / "text_files_en").mkdir(parents=True)
    (split / "text_files_en" / "S1.txt").write_bytes(CODIESP_TEXT_1.encode("utf-8"))
    (split / "text_files_en" / "S2.txt").write_bytes(CODIESP_TEXT_2.encode("utf-8"))
    (split / "trainD.tsv").write_text("S1\tr50.9\nS1\tn50.82\nS2\ti50.9\nS1\tr50.9\n")
    (split / "trainP.tsv").write_text("S1\tbw03zzz\n")
    line2 = CODIESP_TEXT_1.splitlines(keepends=True)
    start = len(line2[0])
    end = start + len(line2[1]) - 1
    ev = [
        {"id": "S1", "code": "N50.82", "label": "DIAGNOSTICO", "en_ranges": [[start, end]]},
        {"id": "S1", "code": "R50.9", "label": "DIAGNOSTICO", "en_ranges": [[0, 28]]},
        {"id": "S1", "code": "BW03ZZZ", "label": "PROCEDIMIENTO", "en_ranges": [[0, 5]]},
        {"id": "S2", "code": "I50.9", "label": "DIAGNOSTICO", "en_ranges": [[0, 24], [0, 24]]},
    ]
    write_jsonl(split / "evidence_en.jsonl", ev)
    return root


def real_codiesp_root() -> Path | None:
    """The real CodiEsp corpus: $CHARTCODER_CODIESP, else ../shared/data/codiesp from the repo."""
    env = os.environ.get("CHARTCODER_CODIESP")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "codiesp"
    return candidate if (candidate / "train" / "text_files_en").is_dir() else None


@pytest.fixture
def real_codiesp() -> Path:
    root = real_codiesp_root()
    if root is None:
        pytest.skip("real CodiEsp corpus not found (set CHARTCODER_CODIESP)")
    return root
