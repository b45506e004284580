"""Held-out families: dev/test notes use templates, frames and phrasings train never uses."""

from __future__ import annotations

from typing import Any

from data.synthetic.lexicon import SPLITS, assign_splits, load_lexicon


def test_templates_and_frames_are_disjoint_across_splits(
    notes_by_split: dict[str, list[dict[str, Any]]],
) -> None:
    templates = {s: {n["template"] for n in ns} for s, ns in notes_by_split.items()}
    frames = {s: {f for n in ns for f in n["frames"]} for s, ns in notes_by_split.items()}
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not templates[a] & templates[b], (a, b)
                assert not frames[a] & frames[b], (a, b)
    for s, ns in notes_by_split.items():
        assert all(n["split"] == s for n in ns)


def test_phrasings_of_a_split_come_from_its_family(
    notes_by_split: dict[str, list[dict[str, Any]]],
) -> None:
    lex = load_lexicon()
    checked = 0
    for s, ns in notes_by_split.items():
        for n in ns:
            for c in n["codes"]:
                if c["system"] != "ICD-10-CM":
                    continue
                for e in c["evidence"]:
                    piece = n["text"][e["start"] : e["end"]]
                    for key in ((c["code"], piece), (c["code"], piece[:1].lower() + piece[1:])):
                        if key in lex.phrase_split:
                            assert lex.phrase_split[key] == s, (s, key)
                            checked += 1
                            break
    assert checked > 500


def test_every_phrasing_belongs_to_exactly_one_split() -> None:
    lex = load_lexicon()
    for cond in list(lex.conditions.values())[:3000]:
        seen: dict[str, str] = {}
        for s, phrases in cond.phrases.items():
            for p in phrases:
                assert p not in seen, (cond.code, p)
                seen[p] = s


def test_assign_splits_covers_every_split_and_keeps_canonical_in_train() -> None:
    got = assign_splits(["a", "b", "c"], "salt")
    assert set(got.values()) == set(SPLITS)
    kept = assign_splits(["canonical", "x", "y", "z"], "salt", keep_first=True)
    assert kept["canonical"] == "train" and "test" in kept.values()
    assert assign_splits(["only"], "x") == {"only": "train"}
    assert assign_splits(["a", "b", "c"], "salt") == got  # stable across calls


def test_corpus_split_files_partition_notes(tmp_path) -> None:  # noqa: ANN001
    import json

    from data.synthetic import generate_corpus

    stats = generate_corpus(120, 4, tmp_path)
    ids = {}
    for s in SPLITS:
        lines = (tmp_path / f"{s}.jsonl").read_text().splitlines()
        ids[s] = {json.loads(x)["id"] for x in lines}
        assert all(json.loads(x)["split"] == s for x in lines)
    all_ids = {json.loads(x)["id"] for x in (tmp_path / "notes.jsonl").read_text().splitlines()}
    assert set().union(*ids.values()) == all_ids and len(all_ids) == 120
    assert sum(len(v) for v in ids.values()) == 120
    assert stats["notes"] == 120 and sum(stats["splits"].values()) == 120
