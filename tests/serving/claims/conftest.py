"""Fixtures for the claim tests: the real code catalog, the packaged NCCI tables, and a valid
request (the shipped `examples/claim-request.json`) with a helper to vary it."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serving.claims.build import BuiltClaim, build_claim
from serving.claims.catalog import CodeCatalog
from serving.claims.edits import run_edits
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimEdit

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "claim-request.json"
CREATED = dt.datetime(2025, 3, 15, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def catalog() -> CodeCatalog:
    from model.codesets import get_catalog

    cat: CodeCatalog = get_catalog()
    return cat


@pytest.fixture(scope="session")
def tables() -> NcciTables:
    return NcciTables.packaged()


@pytest.fixture()
def request_dict() -> dict[str, Any]:
    """A fresh, valid claim request (the README example)."""
    return copy.deepcopy(json.loads(EXAMPLE.read_text()))


def line(code: str, charge: str = "50.00", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "system": "HCPCS" if code[0].isalpha() else "CPT",
        "code": code,
        "charge": charge,
        "units": 1,
        "diagnosis_pointers": [1],
        "date_of_service": "2025-03-14",
    }
    out.update(kw)
    return out


@pytest.fixture()
def edits_for(
    catalog: CodeCatalog, tables: NcciTables
) -> Callable[[dict[str, Any]], list[ClaimEdit]]:
    def run(req: dict[str, Any]) -> list[ClaimEdit]:
        return run_edits(ClaimCreate.model_validate(req), catalog, tables)

    return run


def with_lines(req: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    """`req` with these service lines and the claimed total dropped."""
    req = {k: v for k, v in req.items() if k != "total_charge"}
    req["lines"] = list(lines)
    return req


@pytest.fixture()
def build(catalog: CodeCatalog, tables: NcciTables) -> Callable[..., BuiltClaim]:
    def run(
        req: dict[str, Any], claim_id: str = "c0ffee00-0000-4000-8000-000000000001", **kw: Any
    ) -> BuiltClaim:
        return build_claim(
            ClaimCreate.model_validate(req),
            catalog=catalog,
            claim_id=claim_id,
            created=CREATED,
            tables=tables,
            **kw,
        )

    return run


def codes(edits: list[ClaimEdit]) -> list[str]:
    return [e.code for e in edits]
