"""Render a claim as an ASC X12 005010X222A1 837P (professional) interchange.

Layout (loops of the implementation guide):

    ISA / GS / ST / BHT
    1000A submitter (NM1*41, PER*IC)     1000B receiver (NM1*40)
    2000A billing provider HL (HL*1**20*1, PRV*BI)
      2010AA billing provider (NM1*85 XX npi, N3, N4, REF*EI)
      2000B subscriber HL (HL*2*1*22*0|1, SBR)
        2010BA subscriber (NM1*IL MI, N3, N4, DMG)   2010BB payer (NM1*PR PI)
        [2000C patient HL (HL*3*2*23*0, PAT) / 2010CA patient (NM1*QC, N3, N4, DMG)]
        2300 claim (CLM, HI ABK/ABF)
          2310B rendering provider (NM1*82 XX npi, PRV*PE)
          2400 service line (LX, SV1, DTP*472)
    SE (segment count ST..SE) / GE / IEA

Only claims without error-severity edits are rendered (the caller checks).
Delimiters: element `*`, component `:`, repetition `^`, segment `~` (one segment per line).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from serving.claims.catalog import icd_plain
from serving.claims.schemas import Address, ClaimCreate, Diagnosis, ServiceLine

ELEMENT, COMPONENT, REPETITION, SEGMENT = "*", ":", "^", "~"
VERSION = "005010X222A1"
_PAT_RELATIONSHIP = {"spouse": "01", "child": "19", "other": "G8"}
# X12 basic + extended character set minus our delimiters.
_UNSAFE = re.compile(r"[^A-Z0-9 !&'()+,\-./;?=%@\[\]_{}\\|<>#$\"]")


@dataclass(frozen=True, slots=True)
class Envelope:
    """Interchange identity. `control_number` feeds ISA13/IEA02, GS06/GE02 and ST02/SE02."""

    control_number: int
    created: dt.datetime
    sender_id: str
    receiver_id: str
    usage: str = "T"  # ISA15: T test, P production


def clean(value: str, max_len: int | None = None) -> str:
    """Upper-case, delimiter-free, single-spaced text for an X12 element."""
    text = _UNSAFE.sub("", value.upper())
    text = " ".join(text.split())
    return text[:max_len] if max_len else text


def money(value: Decimal) -> str:
    """X12 R type: no exponent, no trailing zeros (`150`, `150.5`)."""
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Writer:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def seg(self, *elements: str) -> None:
        parts = list(elements)
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        self.segments.append(ELEMENT.join(parts) + SEGMENT)


def _address(w: _Writer, addr: Address) -> None:
    w.seg("N3", clean(addr.line1, 55), *([clean(addr.line2, 55)] if addr.line2 else []))
    w.seg("N4", clean(addr.city, 30), addr.state, addr.postal_code)


def _hi(diagnoses: Sequence[Diagnosis]) -> list[str]:
    out = []
    for i, dx in enumerate(diagnoses):
        out.append(f"{'ABK' if i == 0 else 'ABF'}{COMPONENT}{icd_plain(dx.code)}")
    return out


def _sv1(line: ServiceLine, claim_pos: str) -> list[str]:
    procedure = COMPONENT.join(["HC", line.code, *line.modifiers])
    pos = line.place_of_service if line.place_of_service not in (None, claim_pos) else ""
    pointers = COMPONENT.join(str(p) for p in line.diagnosis_pointers)
    return [
        "SV1",
        procedure,
        money(line.charge),
        "UN",
        quantity(line.units),
        pos or "",
        "",
        pointers,
    ]


def render_837p(claim: ClaimCreate, env: Envelope, *, patient_control_number: str) -> str:
    """The 837P text for an explicit, edit-clean claim (`diagnoses` and `lines` set)."""
    diagnoses = claim.diagnoses or []
    lines = claim.lines or []
    if not diagnoses or not lines:
        raise ValueError("render_837p needs at least one diagnosis and one service line")
    bp, sub, pat, payer = claim.billing_provider, claim.subscriber, claim.patient, claim.payer
    ctrl = f"{env.control_number:09d}"
    st_ctrl = f"{env.control_number % 10000:04d}"
    date8, time4 = env.created.strftime("%Y%m%d"), env.created.strftime("%H%M")

    w = _Writer()
    w.seg(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        clean(env.sender_id, 15).ljust(15),
        "ZZ",
        clean(env.receiver_id, 15).ljust(15),
        env.created.strftime("%y%m%d"),
        time4,
        REPETITION,
        "00501",
        ctrl,
        "0",
        env.usage,
        COMPONENT,
    )
    w.seg(
        "GS",
        "HC",
        clean(env.sender_id, 15),
        clean(env.receiver_id, 15),
        date8,
        time4,
        str(env.control_number),
        "X",
        VERSION,
    )
    st_index = len(w.segments)
    w.seg("ST", "837", st_ctrl, VERSION)
    w.seg("BHT", "0019", "00", clean(patient_control_number, 30), date8, time4, "CH")
    # 1000A submitter / 1000B receiver
    w.seg("NM1", "41", "2", clean(bp.organization_name, 60), "", "", "", "", "46", bp.npi)
    contact = clean(bp.contact_name or bp.organization_name, 60)
    w.seg("PER", "IC", contact, "TE", bp.phone)
    w.seg("NM1", "40", "2", clean(payer.name, 60), "", "", "", "", "46", clean(payer.payer_id, 80))
    # 2000A / 2010AA billing provider
    w.seg("HL", "1", "", "20", "1")
    if bp.taxonomy:
        w.seg("PRV", "BI", "PXC", bp.taxonomy)
    w.seg("NM1", "85", "2", clean(bp.organization_name, 60), "", "", "", "", "XX", bp.npi)
    _address(w, bp.address)
    w.seg("REF", "EI", bp.tax_id)
    # 2000B subscriber, 2010BA subscriber, 2010BB payer
    is_self = pat.relationship == "self"
    w.seg("HL", "2", "1", "22", "0" if is_self else "1")
    w.seg(
        "SBR",
        "P",
        "18" if is_self else "",
        clean(sub.group_number or "", 50),
        "",
        "",
        "",
        "",
        "",
        payer.claim_filing_indicator,
    )
    if is_self:
        w.seg(
            "NM1",
            "IL",
            "1",
            clean(pat.last_name, 60),
            clean(pat.first_name, 35),
            "",
            "",
            "",
            "MI",
            clean(sub.member_id, 80),
        )
        _address(w, pat.address)
        w.seg("DMG", "D8", pat.birth_date.strftime("%Y%m%d"), pat.sex)
    else:
        w.seg(
            "NM1",
            "IL",
            "1",
            clean(sub.last_name or "", 60),
            clean(sub.first_name or "", 35),
            "",
            "",
            "",
            "MI",
            clean(sub.member_id, 80),
        )
        if sub.address is not None:
            _address(w, sub.address)
    w.seg("NM1", "PR", "2", clean(payer.name, 60), "", "", "", "", "PI", clean(payer.payer_id, 80))
    if not is_self:
        # 2000C / 2010CA patient
        w.seg("HL", "3", "2", "23", "0")
        w.seg("PAT", _PAT_RELATIONSHIP[pat.relationship])
        w.seg("NM1", "QC", "1", clean(pat.last_name, 60), clean(pat.first_name, 35))
        _address(w, pat.address)
        w.seg("DMG", "D8", pat.birth_date.strftime("%Y%m%d"), pat.sex)
    # 2300 claim
    total = sum((ln.charge for ln in lines), Decimal(0))
    w.seg(
        "CLM",
        clean(patient_control_number, 38),
        money(total),
        "",
        "",
        COMPONENT.join([claim.place_of_service, "B", "1"]),
        "Y",
        "A",
        "Y",
        "Y",
    )
    w.seg("HI", *_hi(diagnoses))
    rp = claim.rendering_provider
    if rp is not None:
        w.seg(
            "NM1",
            "82",
            "1",
            clean(rp.last_name, 60),
            clean(rp.first_name, 35),
            "",
            "",
            "",
            "XX",
            rp.npi,
        )
        if rp.taxonomy:
            w.seg("PRV", "PE", "PXC", rp.taxonomy)
    # 2400 service lines
    for n, ln in enumerate(lines, start=1):
        w.seg("LX", str(n))
        w.seg(*_sv1(ln, claim.place_of_service))
        w.seg("DTP", "472", "D8", ln.date_of_service.strftime("%Y%m%d"))
    count = len(w.segments) - st_index + 1
    w.seg("SE", str(count), st_ctrl)
    w.seg("GE", "1", str(env.control_number))
    w.seg("IEA", "1", ctrl)
    return "\n".join(w.segments) + "\n"
