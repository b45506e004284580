"""Identity and money edits: NPI check digits, claim total, addresses and place of service."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from serving.claims.edits.context import SRC_NPI, SRC_POS, SRC_X12, EditContext, _edit
from serving.claims.npi import npi_problem
from serving.claims.schemas import ClaimEdit


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
