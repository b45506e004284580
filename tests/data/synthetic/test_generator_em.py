"""The E/M code follows the documented time, MDM, patient status and setting."""

from __future__ import annotations

import re
from typing import Any

from data.synthetic.plan import OFFICE_TIME

OFFICE_NEW = ("99202", "99203", "99204", "99205")
OFFICE_EST = ("99212", "99213", "99214", "99215")


def test_office_level_matches_documented_time(sample_notes: list[dict[str, Any]]) -> None:
    checked = 0
    for n in sample_notes:
        if n["meta"]["note_type"] != "office":
            continue
        em = [c for c in n["codes"] if c["code"] in OFFICE_NEW + OFFICE_EST]
        assert len(em) == 1, n["id"]
        code = em[0]["code"]
        evidence = " ".join(n["text"][e["start"] : e["end"]] for e in em[0]["evidence"])
        m = re.search(r"(\d+) min", evidence)
        if m is None or "99417" in {c["code"] for c in n["codes"]}:
            continue
        status = "new" if code in OFFICE_NEW else "est"
        level = (OFFICE_NEW if status == "new" else OFFICE_EST).index(code) + 2
        lo, hi = OFFICE_TIME[(status, level)]
        assert lo <= int(m.group(1)) <= hi, (n["id"], code, evidence)
        checked += 1
    assert checked > 20


def test_setting_specific_em_families(sample_notes: list[dict[str, Any]]) -> None:
    for n in sample_notes:
        codes = {c["code"] for c in n["codes"]}
        nt = n["meta"]["note_type"]
        if nt == "ED":
            assert codes & {"99281", "99282", "99283", "99284", "99285"}, n["id"]
        if nt == "discharge":
            assert codes & {"99238", "99239"}, n["id"]
        if nt == "telehealth":
            assert any(c.startswith("980") for c in codes), n["id"]
        if nt == "preventive":
            assert any(c.startswith(("9938", "9939")) or c in ("G0438", "G0439") for c in codes)
        if nt == "procedure":
            assert not codes & set(OFFICE_NEW + OFFICE_EST)
