"""Identity and money edits: NPI check digits, claim total, addresses and place of service."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from serving.claims.edits.context import SRC_NPI, SRC_POS, SRC_X12, EditContext, _edit
from serving.claims.npi import npi_problem
from serving.claims.schemas import ClaimEdit
from serving.claims.x12 import clean as x12_clean


def npi_check(ctx: EditContext) -> Iterator[ClaimEdit]:
    parties = [("billing_provider", ctx.claim.billing_provider.npi)]
    if ctx.claim.rendering_provider is not None:
        parties.append(("rendering_provider", ctx.claim.rendering_provider.npi))
    for who, npi in parties:
        problem = npi_problem(npi)
        if problem:
            yield _edit(
                "npi.invalid",
                f"{who.replace('_', ' ')}: {problem}",
                "npi_check",
                SRC_NPI,
                field=f"{who}.npi",
            )


def claim_total(ctx: EditContext) -> Iterator[ClaimEdit]:
    total = sum((ln.charge for ln in ctx.lines), Decimal(0))
    if ctx.claim.total_charge is not None and ctx.claim.total_charge != total:
        yield _edit(
            "money.total_mismatch",
            f"total_charge {ctx.claim.total_charge} differs from "
            f"the sum of line charges {total} (CLM02 must equal the sum of SV102)",
            "claim_total",
            SRC_X12,
            field="total_charge",
        )
    for i, ln in enumerate(ctx.lines):
        if ln.charge <= 0:
            yield _edit(
                "money.zero_charge",
                f"line {i + 1} ({ln.code}) has no charge",
                "claim_total",
                SRC_X12,
                field=f"lines[{i}].charge",
                severity="warning",
            )


def code_tables(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Place-of-service and state codes must be in the code lists the 837P is checked against."""
    rules = ctx.tables.rules
    pos = [("place_of_service", ctx.claim.place_of_service)] + [
        (f"lines[{i}].place_of_service", ln.place_of_service)
        for i, ln in enumerate(ctx.lines)
        if ln.place_of_service is not None
    ]
    for field, code in pos:
        if code not in rules.place_of_service_codes:
            yield _edit(
                "pos.invalid",
                f"place of service {code!r} is not a CMS place-of-service code",
                "code_tables",
                SRC_POS,
                field=field,
            )
    c = ctx.claim
    addresses = [
        ("patient.address", c.patient.address),
        ("subscriber.address", c.subscriber.address),
        ("billing_provider.address", c.billing_provider.address),
    ]
    for field, addr in addresses:
        if addr is not None and addr.state not in rules.us_states:
            yield _edit(
                "address.state_invalid",
                f"{addr.state!r} is not a US state or territory code",
                "code_tables",
                SRC_X12,
                field=f"{field}.state",
            )


def printable_text(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Names and addresses must keep some text once reduced to the X12 character set."""
    c = ctx.claim
    values: list[tuple[str, str | None]] = [
        ("patient.last_name", c.patient.last_name),
        ("patient.first_name", c.patient.first_name),
        ("patient.address.line1", c.patient.address.line1),
        ("patient.address.city", c.patient.address.city),
        ("subscriber.member_id", c.subscriber.member_id),
        ("subscriber.last_name", c.subscriber.last_name),
        ("subscriber.first_name", c.subscriber.first_name),
        ("payer.name", c.payer.name),
        ("payer.payer_id", c.payer.payer_id),
        ("billing_provider.organization_name", c.billing_provider.organization_name),
        ("billing_provider.address.line1", c.billing_provider.address.line1),
        ("billing_provider.address.city", c.billing_provider.address.city),
    ]
    if c.rendering_provider is not None:
        values += [
            ("rendering_provider.last_name", c.rendering_provider.last_name),
            ("rendering_provider.first_name", c.rendering_provider.first_name),
        ]
    if c.subscriber.address is not None:
        values += [
            ("subscriber.address.line1", c.subscriber.address.line1),
            ("subscriber.address.city", c.subscriber.address.city),
        ]
    for field, value in values:
        if value is not None and not x12_clean(value):
            yield _edit(
                "text.unprintable",
                f"{field} {value!r} has no characters an 837P can carry (letters, digits, "
                "basic punctuation)",
                "printable_text",
                SRC_X12,
                field=field,
            )
