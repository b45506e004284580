"""Answering a hook call: gather the text (notes or draft orders), store suggestion sets, cards.

The suggestion sets are stored exactly as `POST /v1/suggestions` stores them (same service,
`source="cds"`, written by the client's service user `cds:<iss>`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model.suggestion import Suggester
from serving.cds_hooks.cards import CardContext, build_card
from serving.cds_hooks.definitions import HOOK_CONTEXT, CdsServiceDef
from serving.cds_hooks.fhir import (
    FhirClient,
    FhirUnavailableError,
    NoteDoc,
    PrefetchResolver,
    encounter_meta,
    notes_from,
    patient_meta,
    resources_of,
)
from serving.cds_hooks.schemas import HookRequest
from serving.db.models import User, utcnow
from serving.errors import Conflict, InvalidInput, ServiceError
from serving.services.suggestions import create_suggestion_set
from serving.services.users import MAX_NAME, create_user

logger = logging.getLogger(__name__)

ORDER_TYPES: tuple[str, ...] = ("ServiceRequest", "DeviceRequest")
SOURCE_LABEL = "chartcoder coding suggestions"
CDS_ACTOR = "system:cds-hooks"


class PreconditionFailed(ServiceError):
    """Required FHIR data was neither prefetched nor fetchable (CDS Hooks: 412)."""

    status = 412
    default_code = "prefetch_unavailable"


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """The actor that CDS Hooks writes as: one per CDS Client issuer."""

    name: str


def service_user(session: Session, iss: str) -> ServiceUser:
    """`cds:<iss>` (role `ehr`), created on first use through the users service with its API key
    disabled at once: the client authenticates with signed JWTs only."""
    name = f"cds:{iss}"[:MAX_NAME]
    if session.scalar(select(User.id).where(User.name == name)) is None:
        try:
            with session.begin_nested():
                created = create_user(session, name=name, role="ehr", created_by=CDS_ACTOR)
                row = session.get(User, created.id)
                if row is not None:
                    row.disabled_at = utcnow()
        except (Conflict, IntegrityError):
            logger.info("service user %s was created concurrently", name)
    return ServiceUser(name=name)


def check_request(body: HookRequest, svc: CdsServiceDef, *, production: bool) -> None:
    """The hook and its required context fields; raises `InvalidInput` naming the field."""
    if body.hook != svc.hook:
        raise InvalidInput(
            f"service {svc.id!r} answers hook {svc.hook!r}, not {body.hook!r}", field="hook"
        )
    for name in HOOK_CONTEXT[svc.hook]:
        value = body.context.get(name)
        if value is None or value == "":
            raise InvalidInput(f"context.{name} is required by {svc.hook}", field=f"context.{name}")
    for name in ("userId", "patientId", "encounterId"):
        value = body.context.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"context.{name} must be a string", field=f"context.{name}")
    if body.fhirAuthorization is not None and not body.fhirServer:
        raise InvalidInput("fhirServer is required with fhirAuthorization", field="fhirServer")
    if body.fhirServer:
        parts = urlsplit(body.fhirServer)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise InvalidInput("fhirServer must be an http(s) URL", field="fhirServer")
        if production and parts.scheme != "https":
            raise InvalidInput("fhirServer must use https", field="fhirServer")


def _first(value: Any, resource_type: str) -> dict[str, Any] | None:
    """The resource itself, or the first of its type in a Bundle."""
    found = resources_of(value, resource_type)
    return found[0] if found else None


def _patient_id(context: dict[str, Any]) -> str:
    return str(context["patientId"]).removeprefix("Patient/")


def _encounter_id(context: dict[str, Any]) -> str | None:
    value = context.get("encounterId")
    return str(value).removeprefix("Encounter/") if value else None


def _concept_texts(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    out = [str(concept["text"])] if concept.get("text") else []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display") and coding["display"] not in out:
            out.append(str(coding["display"]))
    return out


def order_text(order: dict[str, Any]) -> str:
    """A short plain-text description of a draft order: what, where, why, notes."""
    code = (
        order.get("codeCodeableConcept") if order.get("resourceType") == "DeviceRequest" else None
    )
    parts = _concept_texts(code if code is not None else order.get("code"))
    for key in ("orderDetail", "bodySite", "reasonCode"):
        for concept in order.get(key) or []:
            parts.extend(_concept_texts(concept))
    for note in order.get("note") or []:
        if isinstance(note, dict) and note.get("text"):
            parts.append(str(note["text"]))
    if isinstance(order.get("patientInstruction"), str):
        parts.append(order["patientInstruction"])
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())


def _order_docs(context: dict[str, Any]) -> list[tuple[NoteDoc, dict[str, Any]]]:
    out = []
    for kind in ORDER_TYPES:
        for order in resources_of(context.get("draftOrders"), kind):
            text = order_text(order)
            if not text:
                continue
            ref = f"{kind}/{order['id']}" if order.get("id") else kind
            label = f"draft order {ref}"
            out.append((NoteDoc(reference=ref, text=text, label=label, note_type="order"), order))
    return out


def answer_hook(
    session: Session,
    *,
    svc: CdsServiceDef,
    body: HookRequest,
    suggester: Suggester,
    iss: str,
    max_chars: int,
    production: bool,
    source_url: str | None,
) -> list[dict[str, Any]]:
    """The cards for one hook call. Raises `PreconditionFailed` (412), `InvalidInput` (422)."""
    check_request(body, svc, production=production)
    client = None
    if body.fhirServer and body.fhirAuthorization is not None:
        client = FhirClient(body.fhirServer, body.fhirAuthorization.access_token)
    try:
        resolver = PrefetchResolver(svc.prefetch, body.context, body.prefetch or {}, client)
        meta: dict[str, Any] = {}
        if "encounter" in svc.prefetch and _encounter_id(body.context):
            meta.update(encounter_meta(_first(resolver.optional("encounter"), "Encounter")))
        if "patient" in svc.prefetch:
            on = meta.get("date_of_service")
            day = dt.date.fromisoformat(on) if on else None
            meta.update(patient_meta(_first(resolver.optional("patient"), "Patient"), on=day))
        docs: list[tuple[NoteDoc, dict[str, Any] | None]]
        if svc.text_source == "draftOrders":
            docs = list(_order_docs(body.context))
        else:
            try:
                value = resolver.get("notes")
                fetch = client.get if client is not None else None
                docs = [(d, None) for d in notes_from(value, fetch=fetch)]
            except FhirUnavailableError as exc:
                raise PreconditionFailed(str(exc), field=f"prefetch.{exc.key}") from None
    finally:
        if client is not None:
            client.close()

    user = service_user(session, iss)
    cards: list[dict[str, Any]] = []
    for doc, order in docs:
        note_meta = dict(meta)
        if doc.note_type:
            note_meta["note_type"] = doc.note_type[:100]
        try:
            sset = create_suggestion_set(
                session,
                suggester=suggester,
                text=doc.text,
                meta=note_meta,
                systems=list(svc.systems),
                top_k=svc.top_k,
                user=user,
                source="cds",
                max_chars=max_chars,
            )
        except ServiceError as exc:
            if len(docs) == 1:
                raise
            logger.warning("%s skipped: %s", doc.reference, exc.message)
            continue
        ctx = CardContext(
            service_id=svc.id,
            hook=svc.hook,
            patient_id=_patient_id(body.context),
            encounter_id=_encounter_id(body.context),
            user_id=body.context.get("userId"),
            source_label=SOURCE_LABEL,
            source_url=source_url,
            note_label=doc.label,
            draft_order=order,
        )
        card = build_card(sset, ctx)
        if card is not None:
            cards.append(card)
    logger.info(
        "hook %s (%s) instance %s: %d documents, %d cards",
        svc.id,
        svc.hook,
        body.hookInstance,
        len(docs),
        len(cards),
    )
    return cards
