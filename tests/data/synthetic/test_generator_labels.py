"""Gold codes and distractors: spans, validity in the catalog, no distractor among gold."""

from __future__ import annotations

import datetime as dt
from typing import Any

SYSTEMS = {"ICD-10-CM", "CPT", "HCPCS"}


def _spans(note: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    out = []
    for c in note["codes"]:
        out += [("gold", e) for e in c["evidence"]]
    for d in note["distractors"]:
        out += [("distractor", e) for e in d["evidence"]]
    return out


def test_record_shape(sample_notes: list[dict[str, Any]]) -> None:
    for n in sample_notes:
        assert set(n) >= {"id", "text", "meta", "codes", "distractors", "split", "template"}
        m = n["meta"]
        assert m["setting"] in ("outpatient", "inpatient", "ED")
        assert m["sex"] in ("F", "M")
        assert 0 <= m["age"] <= 120
        dt.date.fromisoformat(m["date_of_service"])
        assert n["codes"], n["id"]
        for c in n["codes"] + n["distractors"]:
            assert c["system"] in SYSTEMS


def test_every_span_is_a_nonempty_substring(sample_notes: list[dict[str, Any]]) -> None:
    for n in sample_notes:
        text = n["text"]
        for c in n["codes"]:
            assert c["evidence"], f"{n['id']} {c['code']} has no evidence"
        for d in n["distractors"]:
            assert d["evidence"] and d["reason"]
        for _, e in _spans(n):
            assert 0 <= e["start"] < e["end"] <= len(text), (n["id"], e)
            piece = text[e["start"] : e["end"]]
            assert piece.strip() == piece and piece, (n["id"], piece)


def test_dx_mention_spans_hold_the_written_phrase(sample_notes: list[dict[str, Any]]) -> None:
    # A diagnosis mention never crosses a line and never contains a frame's punctuation.
    from data.synthetic.lexicon import load_lexicon

    lex = load_lexicon()
    for n in sample_notes:
        for c in n["codes"]:
            if c["system"] != "ICD-10-CM":
                continue
            for e in c["evidence"]:
                piece = n["text"][e["start"] : e["end"]]
                assert "\n" not in piece, (n["id"], c["code"], piece)
        for d in n["distractors"]:
            if d["system"] == "ICD-10-CM":
                piece = n["text"][d["evidence"][0]["start"] : d["evidence"][0]["end"]]
                phrases = [
                    p.lower() for ps in lex.conditions[d["code"]].phrases.values() for p in ps
                ]
                assert piece.lower() in phrases, (n["id"], d["code"], piece)


def test_every_code_is_valid_and_billable(sample_notes: list[dict[str, Any]], catalog) -> None:  # noqa: ANN001
    for n in sample_notes:
        m = n["meta"]
        for c in n["codes"] + n["distractors"]:
            problems = catalog.validate(c["system"], c["code"])
            assert problems == [], (n["id"], c["code"], problems)
        for c in n["codes"]:
            if c["system"] == "ICD-10-CM":
                problems = catalog.validate(c["system"], c["code"], sex=m["sex"], age=m["age"])
                assert problems == [], (n["id"], c["code"], m, problems)


def test_distractors_are_never_gold(sample_notes: list[dict[str, Any]]) -> None:
    for n in sample_notes:
        gold = {(c["system"], c["code"]) for c in n["codes"]}
        for d in n["distractors"]:
            assert (d["system"], d["code"]) not in gold, (n["id"], d["code"])


def test_history_distractors_come_with_their_z_code(sample_notes: list[dict[str, Any]]) -> None:
    from data.synthetic.lexicon import load_lexicon

    lex = load_lexicon()
    seen = 0
    for n in sample_notes:
        gold = {c["code"] for c in n["codes"]}
        for d in n["distractors"]:
            if d["reason"] == "family_history":
                assert lex.family[d["code"]] in gold, n["id"]
                seen += 1
            if d["reason"] == "history":
                assert lex.personal[d["code"]] in gold, n["id"]
    assert seen > 10


def test_distractors_in_a_large_share_of_notes(sample_notes: list[dict[str, Any]]) -> None:
    with_d = sum(1 for n in sample_notes if n["distractors"])
    assert with_d / len(sample_notes) > 0.6
    reasons = {d["reason"] for n in sample_notes for d in n["distractors"]}
    assert reasons >= {
        "negated",
        "uncertain",
        "hypothetical",
        "family_history",
        "history",
        "resolved",
        "ordered_not_performed",
        "integral_symptom",
    }
    # "Rule out" diagnoses are distractors only outside the hospital.
    for n in sample_notes:
        if n["meta"]["setting"] == "inpatient":
            assert all(d["reason"] != "uncertain" for d in n["distractors"])


def test_gold_codes_respect_excludes1(sample_notes: list[dict[str, Any]], catalog) -> None:  # noqa: ANN001
    import itertools

    for n in sample_notes:
        icd = [c["code"] for c in n["codes"] if c["system"] == "ICD-10-CM"]
        for a, b in itertools.combinations(icd, 2):
            assert not catalog.excludes1_conflict(a, b), (n["id"], a, b)


def test_presumed_links_are_coded_as_combinations(sample_notes: list[dict[str, Any]]) -> None:
    """ICD-10-CM presumes the link (guidelines I.A.15, I.C.9.a): hypertension beside CKD or heart
    failure is I12.x/I11.0/I13.x, diabetes beside CKD is E11.22 / E10.22 (beside another
    complication's code); never I10 or E11.9 with them, never a two-way link where the three-way
    one applies. Stage 5 CKD / ESRD takes I12.0 / I13.2."""
    combos = 0
    for rec in sample_notes:
        codes = {c["code"] for c in rec["codes"]}
        ckd = {c for c in codes if c.startswith("N18")}
        hf = any(c.startswith("I50") for c in codes)
        assert not ("I10" in codes and (ckd or hf)), (rec["id"], sorted(codes))
        assert not ("E11.9" in codes and ckd), (rec["id"], sorted(codes))
        assert not ("I11.0" in codes and ckd), (rec["id"], sorted(codes))
        assert not (codes & {"I12.9", "I12.0"} and hf), (rec["id"], sorted(codes))
        for kind in ("E10", "E11"):
            diabetes = {c for c in codes if c.startswith(kind) and c[4:6] != "21"}
            if diabetes and ckd:
                assert f"{kind}.22" in codes, (rec["id"], sorted(codes))
        if ckd & {"N18.5", "N18.6"}:
            assert not codes & {"I12.9", "I13.0"}, (rec["id"], sorted(codes))
        combos += bool(codes & {"I11.0", "I12.9", "I12.0", "I13.0", "I13.2", "E11.22"})
    assert combos >= 5
