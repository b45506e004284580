"""CDS Hooks cards from stored suggestion sets, and the identifiers that let feedback find them.

One card per suggestion set (one per note, or per draft order for `order-sign`).

Identifiers (no extra table): `card.uuid` is the suggestion set id (already a random UUID);
`suggestion.uuid` is `uuid5(SUGGESTION_NAMESPACE, "<set id>|<system>|<code>")`. Feedback loads
the set named by `card` and recomputes the uuid of each code on the card to map
`acceptedSuggestions[].id` back to codes. The mapping is deterministic and needs nothing stored
beyond the suggestion set itself.

Which codes are on a card: every code the model accepted, then the best other candidates with
a calibrated score of at least `MIN_CARD_SCORE`, at most `MAX_CARD_CODES` in all (computed from
the stored set, so an `overridden` card rejects exactly what was shown). `isRecommended` marks
codes at the model's accepted (calibrated, thresholded) confidence.

Indicator (card urgency) from confidence:
- `info`: no code on the card reached the model's accept threshold (candidates only);
- `warning`: at least one accepted code (documented and likely missing from the record);
- `critical`: at least one accepted code with score >= `CRITICAL_SCORE`. CDS Clients may render
  `critical` prominently; it never blocks anything by itself.

Actions: ICD-10-CM -> `create` an encounter-diagnosis `Condition`; CPT/HCPCS -> `create` a
`ChargeItem` (`billable` at discharge, `planned` for draft orders) and, for `order-sign`, an
`update` of the draft order with the coding added.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from serving.schemas.suggestions import SuggestedCodePublic, SuggestionSetPublic

SUGGESTION_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f")
MIN_CARD_SCORE = 0.15
MAX_CARD_CODES = 8
CRITICAL_SCORE = 0.95
SUMMARY_MAX = 139
MAX_EVIDENCE_QUOTES = 3
QUOTE_MAX = 300

CODE_SYSTEM_URI: dict[str, str] = {
    "ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "HCPCS": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
}
#: Coding.system of the override reasons (the review API's reject reasons).
OVERRIDE_REASON_SYSTEM = "urn:chartcoder:review-reason"
OVERRIDE_REASON_DISPLAY: dict[str, str] = {
    "not_documented": "Not documented in the note",
    "negated": "Negated or ruled out in the note",
    "history_only": "History only, not a current problem",
    "wrong_specificity": "Right condition, wrong specificity",
    "wrong_code": "Wrong code",
    "other": "Other reason",
}

_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


@dataclass(frozen=True, slots=True)
class CardContext:
    """What a card's resources refer to."""

    service_id: str
    hook: str
    patient_id: str
    encounter_id: str | None
    user_id: str | None
    source_label: str
    source_url: str | None
    note_label: str
    draft_order: dict[str, Any] | None = None


def suggestion_uuid(set_id: str, system: str, code: str) -> str:
    return str(uuid.uuid5(SUGGESTION_NAMESPACE, f"{set_id}|{system}|{code}"))


def card_codes(codes: Sequence[SuggestedCodePublic]) -> list[SuggestedCodePublic]:
    """The codes a card shows: every accepted code, then the best other candidates scoring at
    least `MIN_CARD_SCORE`, up to `MAX_CARD_CODES` in all; best first."""
    ranked = sorted(codes, key=lambda c: (not c.accepted, -c.score, c.rank))
    accepted = [c for c in ranked if c.accepted]
    others = [c for c in ranked if not c.accepted and c.score >= MIN_CARD_SCORE]
    return accepted + others[: max(0, MAX_CARD_CODES - len(accepted))]


def indicator(codes: Sequence[SuggestedCodePublic]) -> str:
    accepted = [c for c in codes if c.accepted]
    if not accepted:
        return "info"
    return "critical" if max(c.score for c in accepted) >= CRITICAL_SCORE else "warning"


def override_reasons() -> list[dict[str, str]]:
    return [
        {"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": display}
        for code, display in OVERRIDE_REASON_DISPLAY.items()
    ]


def fhir_code(system: str, code: str) -> str:
    """ICD-10-CM codes carry their dot in FHIR (`E119` -> `E11.9`)."""
    if system == "ICD-10-CM" and "." not in code and len(code) > 3:
        return f"{code[:3]}.{code[3:]}"
    return code


def _coding(c: SuggestedCodePublic) -> dict[str, Any]:
    coding: dict[str, Any] = {
        "system": CODE_SYSTEM_URI[c.system],
        "code": fhir_code(c.system, c.code),
    }
    # CPT descriptors are AMA-copyrighted: our short labels are not official displays.
    if c.system != "CPT" and c.description:
        coding["display"] = c.description
    return coding


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > QUOTE_MAX:
        flat = flat[: QUOTE_MAX - 1] + "…"
    return _md(flat)


def condition(c: SuggestedCodePublic, ctx: CardContext, set_id: str) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {
            "coding": [{"system": _CONDITION_VERIFICATION, "code": "confirmed"}]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": _CONDITION_CATEGORY,
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        "code": {"coding": [_coding(c)], "text": c.description or c.code},
        "subject": {"reference": f"Patient/{ctx.patient_id}"},
        "note": [
            {"text": f"Suggested by chartcoder (suggestion set {set_id}) from {ctx.note_label}."}
        ],
    }
    if ctx.encounter_id:
        res["encounter"] = {"reference": f"Encounter/{ctx.encounter_id}"}
    if ctx.user_id and "/" in ctx.user_id:
        res["asserter"] = {"reference": ctx.user_id}
    return res


def charge_item(c: SuggestedCodePublic, ctx: CardContext, *, planned: bool) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "ChargeItem",
        "status": "planned" if planned else "billable",
        "code": {"coding": [_coding(c)], "text": c.description or c.code},
        "subject": {"reference": f"Patient/{ctx.patient_id}"},
        "quantity": {"value": 1},
    }
    if ctx.encounter_id:
        res["context"] = {"reference": f"Encounter/{ctx.encounter_id}"}
    if ctx.user_id and "/" in ctx.user_id:
        res["enterer"] = {"reference": ctx.user_id}
    return res


def coded_order(order: Mapping[str, Any], c: SuggestedCodePublic) -> dict[str, Any]:
    """The draft order, whole, with the suggested coding added to its code."""
    updated = copy.deepcopy(dict(order))
    key = "codeCodeableConcept" if updated.get("resourceType") == "DeviceRequest" else "code"
    concept = dict(updated.get(key) or {})
    codings = [x for x in concept.get("coding") or [] if isinstance(x, dict)]
    new = _coding(c)
    if not any(x.get("system") == new["system"] and x.get("code") == new["code"] for x in codings):
        codings.append(new)
    concept["coding"] = codings
    updated[key] = concept
    return updated


def _actions(c: SuggestedCodePublic, ctx: CardContext, set_id: str) -> list[dict[str, Any]]:
    label = f"{c.code} ({c.system})"
    if c.system == "ICD-10-CM":
        return [
            {
                "type": "create",
                "description": f"Add encounter diagnosis {fhir_code(c.system, c.code)}",
                "resource": condition(c, ctx, set_id),
            }
        ]
    actions: list[dict[str, Any]] = []
    order = ctx.draft_order
    if order is not None and order.get("id"):
        actions.append(
            {
                "type": "update",
                "description": f"Code the draft order with {label}",
                "resource": coded_order(order, c),
            }
        )
    actions.append(
        {
            "type": "create",
            "description": f"{'Plan' if order is not None else 'Add'} a charge for {label}",
            "resource": charge_item(c, ctx, planned=order is not None),
        }
    )
    return actions


def _label(c: SuggestedCodePublic) -> str:
    verb = "Code" if c.system != "ICD-10-CM" else "Add"
    text = f"{verb} {fhir_code(c.system, c.code)}"
    if c.description:
        text += f" – {c.description}"
    return text if len(text) <= 100 else text[:99] + "…"


def _detail(codes: Sequence[SuggestedCodePublic], ctx: CardContext, model_version: str) -> str:
    lines = [f"Suggested from **{_md(ctx.note_label)}** by model `{model_version}`.", ""]
    for c in codes:
        flag = "recommended" if c.accepted else "review"
        desc = f" {_md(c.description)}" if c.description else ""
        lines.append(
            f"- **{fhir_code(c.system, c.code)}** ({c.system}){desc}: "
            f"confidence {c.score:.2f}, {flag}"
        )
        for span in c.evidence[:MAX_EVIDENCE_QUOTES]:
            lines.append(f"  > “{_quote(span.text)}”")
        if not c.evidence:
            lines.append("  > (no supporting text located)")
    if any(c.system == "CPT" for c in codes):
        lines += [
            "",
            "_CPT labels are chartcoder's plain-language summaries, not AMA descriptors._",
        ]
    return "\n".join(lines)


def _summary(codes: Sequence[SuggestedCodePublic], ctx: CardContext) -> str:
    recommended = sum(1 for c in codes if c.accepted)
    systems = sorted({c.system for c in codes})
    noun = "code" if len(codes) == 1 else "codes"
    text = f"{len(codes)} {'/'.join(systems)} {noun} suggested for {ctx.note_label}"
    if recommended:
        text += f" ({recommended} recommended)"
    if len(text) > SUMMARY_MAX:
        text = text[: SUMMARY_MAX - 1] + "…"
    return text


def build_card(sset: SuggestionSetPublic, ctx: CardContext) -> dict[str, Any] | None:
    """The card for one stored suggestion set, or `None` when no code makes the card."""
    codes = card_codes(sset.codes)
    if not codes:
        return None
    source: dict[str, Any] = {"label": ctx.source_label}
    if ctx.source_url:
        source["url"] = ctx.source_url
    return {
        "uuid": sset.id,
        "summary": _summary(codes, ctx),
        "detail": _detail(codes, ctx, sset.model_version),
        "indicator": indicator(codes),
        "source": source,
        "selectionBehavior": "any",
        "suggestions": [
            {
                "label": _label(c),
                "uuid": suggestion_uuid(sset.id, c.system, c.code),
                "isRecommended": bool(c.accepted),
                "actions": _actions(c, ctx, sset.id),
            }
            for c in codes
        ],
        "overrideReasons": override_reasons(),
    }
