"""ORM tables. Append-only: rows are never updated in place without history.

Every row records who wrote it (`created_by`, a user name or a system actor such as
`system:startup`) and when (`created_at`, UTC). A re-review is a new `reviews` row with the next
`revision`; a model switch is a new `model_activations` row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES: tuple[str, ...] = ("coder", "auditor", "ehr", "admin")
REVIEW_ACTIONS: tuple[str, ...] = ("accept", "reject", "replace", "add")
NOTE_SOURCES: tuple[str, ...] = ("api", "cds")
CLAIM_STATUSES: tuple[str, ...] = ("ready", "rejected")
MODEL_STATUSES: tuple[str, ...] = ("registered", "active", "retired")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class _Audited:
    """`created_by` / `created_at` on every table."""

    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class User(_Audited, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(32), index=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class NoteRow(_Audited, Base):
    __tablename__ = "notes"
    __table_args__ = (CheckConstraint(_in("source", NOTE_SOURCES), name="ck_notes_source"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64), index=True)
    meta_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(10), default="api")


class SuggestionSetRow(_Audited, Base):
    __tablename__ = "suggestion_sets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(200), index=True)
    systems_json: Mapped[list[Any]] = mapped_column(JSON)
    top_k: Mapped[int] = mapped_column(Integer)
    codes_json: Mapped[list[Any]] = mapped_column(JSON)
    latency_ms: Mapped[float] = mapped_column(Float)


class ReviewRow(_Audited, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("suggestion_set_id", "revision", name="uq_reviews_set_revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_set_id: Mapped[str] = mapped_column(ForeignKey("suggestion_sets.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    final_codes_json: Mapped[list[Any]] = mapped_column(JSON)


class CorrectionEventRow(_Audited, Base):
    __tablename__ = "correction_events"
    __table_args__ = (
        CheckConstraint(_in("action", REVIEW_ACTIONS), name="ck_correction_events_action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    suggestion_set_id: Mapped[str] = mapped_column(ForeignKey("suggestion_sets.id"), index=True)
    system: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(40), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    replacement_system: Mapped[str | None] = mapped_column(String(20), default=None)
    replacement_code: Mapped[str | None] = mapped_column(String(20), default=None)
    evidence_json: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_score: Mapped[float | None] = mapped_column(Float, default=None)


class AuditCaseRow(_Audited, Base):
    __tablename__ = "audit_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_set_id: Mapped[str] = mapped_column(ForeignKey("suggestion_sets.id"), index=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    strategy: Mapped[str] = mapped_column(String(30))
    band: Mapped[str | None] = mapped_column(String(30), default=None)
    seed: Mapped[int | None] = mapped_column(Integer, default=None)


class AuditVerdictRow(_Audited, Base):
    __tablename__ = "audit_verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_case_id: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), index=True)
    verdicts_json: Mapped[list[Any]] = mapped_column(JSON)
    corrected_codes_json: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text, default=None)


class ClaimRow(_Audited, Base):
    __tablename__ = "claims"
    __table_args__ = (CheckConstraint(_in("status", CLAIM_STATUSES), name="ck_claims_status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    suggestion_set_id: Mapped[str | None] = mapped_column(
        ForeignKey("suggestion_sets.id"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(10))
    request_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    edits_json: Mapped[list[Any]] = mapped_column(JSON, default=list)
    x12: Mapped[str | None] = mapped_column(Text, default=None)
    fhir_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cms1500_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ModelVersionRow(_Audited, Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint(_in("status", MODEL_STATUSES), name="ck_model_versions_status"),
    )

    version: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="registered")
    metrics_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_md: Mapped[str | None] = mapped_column(Text, default=None)


class ModelActivationRow(_Audited, Base):
    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"), index=True)
    previous_version: Mapped[str | None] = mapped_column(String(200), default=None)
    action: Mapped[str | None] = mapped_column(String(20), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)


class CdsJtiRow(Base):
    """Seen JWT ids of CDS Hooks clients (replay protection)."""

    __tablename__ = "cds_jti"

    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    iss: Mapped[str] = mapped_column(String(500))
    exp: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
