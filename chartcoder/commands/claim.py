"""CLI commands: `chartcoder claim build INPUT.json --format x12|fhir|cms1500`.

Writes the rendering to stdout. Exit codes: 0 ready (warnings, if any, on stderr); 1 rejected
by the claim edits (each edit on stderr, nothing on stdout); 2 unreadable or incomplete input
(every missing or malformed field named on stderr).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_REJECTED = 1
EXIT_BAD_INPUT = 2

claim_app = typer.Typer(
    name="claim",
    help="Build claims (X12 837P, FHIR R4 Claim, CMS-1500) with coding edits.",
    no_args_is_help=True,
)


class Format(StrEnum):
    x12 = "x12"
    fhir = "fhir"
    cms1500 = "cms1500"


def _bad_input(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=EXIT_BAD_INPUT)


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@claim_app.command("build")
def build(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT.json", help="Claim request JSON.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Rendering to print.")] = Format.x12,
    claim_id: Annotated[
        str | None, typer.Option(help="Claim id (default: a new UUID); fixes control numbers.")
    ] = None,
    ptp_file: Annotated[
        Path | None, typer.Option(help="CMS quarterly practitioner PTP file (text export).")
    ] = None,
    mue_file: Annotated[
        Path | None, typer.Option(help="CMS quarterly practitioner MUE file (text export).")
    ] = None,
    verify: Annotated[
        bool, typer.Option(help="Check the 837P with pyx12 before printing anything.")
    ] = True,
) -> None:
    """Run the claim edits on INPUT.json and print the rendering; exit 1 with the edits on
    stderr when the claim is rejected."""
    import datetime as dt
    import uuid

    from pydantic import ValidationError

    from serving.claims.build import build_claim
    from serving.claims.catalog import default_catalog
    from serving.claims.ncci import NcciTables, TableError
    from serving.claims.schemas import ClaimCreate

    try:
        raw = json.loads(input_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad_input(f"cannot read {input_file}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise _bad_input(f"{input_file} is not JSON: {exc}") from None
    try:
        claim = ClaimCreate.model_validate(raw)
    except ValidationError as exc:
        problems = [f"  {_field(tuple(e['loc'])) or '(body)'}: {e['msg']}" for e in exc.errors()]
        message = f"{input_file} is not a valid claim request:\n" + "\n".join(problems)
        raise _bad_input(message) from None
    if claim.diagnoses is None or claim.lines is None:
        raise _bad_input(
            "suggestion_set_id needs the API (POST /v1/claims); the CLI takes explicit "
            "diagnoses and lines"
        )
    try:
        tables = NcciTables.packaged().with_cms_files(ptp=ptp_file, mue=mue_file)
    except (OSError, TableError) as exc:
        raise _bad_input(str(exc)) from None
    built = build_claim(
        claim,
        catalog=default_catalog(),
        claim_id=claim_id or str(uuid.uuid4()),
        created=dt.datetime.now(dt.UTC),
        tables=tables,
        verify_x12=verify,
    )
    for edit in built.edits:
        where = f" [{edit.field}]" if edit.field else ""
        typer.echo(f"{edit.severity}: {edit.code}{where}: {edit.message} ({edit.source})", err=True)
    if built.status != "ready":
        typer.echo(f"claim rejected by {len(built.edits)} edit(s); nothing rendered", err=True)
        raise typer.Exit(code=EXIT_REJECTED)
    if fmt is Format.x12:
        typer.echo(built.x12, nl=False)
    else:
        typer.echo(json.dumps(built.fhir if fmt is Format.fhir else built.cms1500, indent=2))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(claim_app)
