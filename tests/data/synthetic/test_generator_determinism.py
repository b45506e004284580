from __future__ import annotations

from pathlib import Path

from data.synthetic import generate_corpus, generate_note


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    generate_corpus(40, 5, tmp_path / "a")
    generate_corpus(40, 5, tmp_path / "b")
    for name in ("notes.jsonl", "train.jsonl", "dev.jsonl", "test.jsonl", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_different_seed_gives_different_notes() -> None:
    a = [generate_note(i, 1)["text"] for i in range(10)]
    b = [generate_note(i, 2)["text"] for i in range(10)]
    assert a != b
    assert len(set(a) & set(b)) == 0


def test_note_does_not_depend_on_generation_order() -> None:
    forward = [generate_note(i, 9) for i in range(5)]
    backward = [generate_note(i, 9) for i in reversed(range(5))][::-1]
    assert forward == backward


def test_bad_split_and_bad_n_are_rejected(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="split must be one of"):
        generate_note(0, 0, split="validation")
    with pytest.raises(ValueError, match="n must be >= 0"):
        generate_corpus(-1, 0, tmp_path)


def test_output_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    # Set iteration order changes with PYTHONHASHSEED; the corpus must not.
    import os
    import subprocess
    import sys

    code = (
        "import sys; from data.synthetic import generate_corpus; "
        "generate_corpus(25, 8, sys.argv[1])"
    )
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env)
        outs.append((out / "notes.jsonl").read_bytes())
    assert outs[0] == outs[1]
