"""The corpus's time-based E/M labels obey the published time thresholds (the same table the
model reads, `model/v1/data/em_rules.json`): a documented total time selects the highest level
whose threshold it meets."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from data.synthetic import generate_note
from model.v1.em import documentation

TIMED = ("consult_out", "consult_in", "office_new", "office_est", "tele_av_new", "tele_av_est",
         "tele_audio_new", "tele_audio_est")  # fmt: skip


def _families() -> dict[str, dict]:
    raw = resources.files("model.v1").joinpath("data/em_rules.json").read_text("utf-8")
    return {k: v for k, v in json.loads(raw)["families"].items() if k in TIMED}


@pytest.mark.parametrize("note_type", ["consult", "telehealth"])
def test_time_based_levels_meet_their_thresholds(note_type: str) -> None:
    families = _families()
    family_of = {code: name for name, f in families.items() for code in f["codes"]}
    checked = 0
    for i in range(4000):
        rec = generate_note(index=i, seed=11, split=None)
        if rec["meta"].get("note_type") != note_type:
            continue
        em = [c["code"] for c in rec["codes"] if c["code"] in family_of]
        doc = documentation(rec["text"], setting=rec["meta"].get("setting"))
        if len(em) != 1 or doc is None or doc.minutes is None:
            continue
        fam = families[family_of[em[0]]]
        met = [int(lvl) for lvl, minutes in fam["minutes"].items() if doc.minutes >= minutes]
        assert met, f"{rec['id']}: {doc.minutes} min is under every {family_of[em[0]]} threshold"
        assert fam["codes"][em[0]] == max(met), (rec["id"], em[0], doc.minutes)
        checked += 1
    assert checked >= 20, f"only {checked} {note_type} notes with a documented time"


@pytest.mark.parametrize("split", [None, "train", "dev", "test"])
def test_discharge_day_text_agrees_with_its_code(split: str | None) -> None:
    """Every discharge note's stated time gives its code: 99238 for 30 minutes or less, 99239
    for more. (Once a frame wrote "More than 30 minutes spent on discharge planning ...; total
    20 minutes" into 99238 notes.)"""
    from model.v1.em import implied_level

    checked = 0
    for i in range(1500):
        rec = generate_note(index=i, seed=5, split=split)
        if rec["meta"].get("note_type") != "discharge":
            continue
        gold = [c["code"] for c in rec["codes"] if c["code"] in ("99238", "99239")]
        doc = documentation(rec["text"], setting=rec["meta"].get("setting"), note_type="discharge")
        assert doc is not None and len(gold) == 1, rec["id"]
        assert doc.minutes is not None, rec["id"]
        for bound in re.findall(r"[Mm]ore than (\d+) minutes", rec["text"]):
            assert int(bound) < doc.minutes, (rec["id"], bound, doc.minutes)
        level = implied_level("discharge", doc)
        assert gold[0] == ("99238" if level == 1 else "99239"), (rec["id"], doc.minutes, gold)
        checked += 1
    assert checked >= 10, f"only {checked} discharge notes"
