"""CLI commands: `chartcoder codes show|search|validate|info` over the code-set catalog.

Exit status: 0 on success, 1 when a code is unknown (`show`) or any code is invalid
(`validate`), 2 on bad arguments (unknown system, malformed date).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from model.codesets import Catalog, CodeEntry

SystemOpt = Annotated[
    str | None,
    typer.Option("--system", "-s", help="ICD-10-CM, CPT or HCPCS (default: any)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _system(value: str | None) -> str | None:
    if value is None:
        return None
    from model.codesets import SYSTEMS, canonical_system

    name = canonical_system(value)
    if name is None:
        raise typer.BadParameter(
            f"unknown code system {value!r}; use one of {', '.join(SYSTEMS)}",
            param_hint="--system",
        )
    return name


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date YYYY-MM-DD", param_hint="--date"
        ) from None


def _lookup(catalog: Catalog, code: str, system: str | None) -> list[CodeEntry]:
    """Entries matching `code` in `system` (or any system; the exactly-typed form first)."""
    from model.codesets import SYSTEMS

    found = [e for s in ([system] if system else SYSTEMS) if (e := catalog.get(s, code))]
    typed = code.strip().upper()
    return sorted(found, key=lambda e: e.code != typed)


def _guess_system(catalog: Catalog, code: str) -> str:
    """System to validate an unlabelled code against: where it exists, else by its shape."""
    from model.codesets import CPT, HCPCS, ICD10CM, clean_code
    from model.codesets.entry import CODE_PATTERNS

    found = _lookup(catalog, code, None)
    if found:
        return found[0].system
    key = clean_code(code)
    if "." not in code:
        for name in (CPT, HCPCS):
            if CODE_PATTERNS[name].match(key):
                return name
    return ICD10CM


def _show_text(entry: CodeEntry) -> str:
    lines = [f"{entry.system} {entry.code}  {entry.description}"]
    status = "billable" if entry.billable else f"not billable ({entry.kind})"
    lines.append(f"  {status}" + ("" if entry.official else "; label written by chartcoder"))
    fields: list[tuple[str, Any]] = [
        ("parent", entry.parent),
        ("category", entry.category),
        ("effective", entry.effective),
        ("terminated", entry.terminated),
        ("sex", entry.sex),
        ("ages", f"{entry.age_min}-{entry.age_max}" if entry.age_min is not None else None),
        ("manifestation", "yes (never first-listed)" if entry.is_manifestation else None),
    ]
    lines += [f"  {name}: {value}" for name, value in fields if value is not None]
    notes = [
        ("inclusion terms", entry.inclusion_terms),
        ("Excludes1", entry.excludes1),
        ("Excludes2", entry.excludes2),
        ("code first", entry.code_first),
        ("use additional code", entry.use_additional),
        ("code also", entry.code_also),
    ]
    for name, values in notes:
        if values:
            lines.append(f"  {name}:")
            lines += [f"    - {v}" for v in values]
    if entry.seventh_characters:
        lines.append("  7th characters:")
        lines += [f"    {k}: {v}" for k, v in entry.seventh_characters.items()]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Attach the `codes` command group to the root app."""
    codes_app = typer.Typer(
        help="Look up, search and validate ICD-10-CM, CPT and HCPCS codes.",
        no_args_is_help=True,
    )

    @codes_app.command("show")
    def show(
        code: Annotated[str, typer.Argument(help="A code, dotted or not, any case.")],
        system: SystemOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Show everything the catalog knows about CODE."""
        from model.codesets import get_catalog

        name = _system(system)
        catalog = get_catalog()
        found = _lookup(catalog, code, name)
        if not found:
            where = name or "any code system"
            if as_json:
                typer.echo(json.dumps({"code": code, "found": False, "system": name}))
            else:
                typer.echo(f"{code!r} is not a known code in {where}", err=True)
            raise typer.Exit(1)
        if as_json:
            payload: Any = [e.to_dict() for e in found]
            typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
        else:
            typer.echo("\n\n".join(_show_text(e) for e in found))

    @codes_app.command("search")
    def search(
        query: Annotated[str, typer.Argument(help="Words, abbreviations or a code.")],
        system: SystemOpt = None,
        limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 10,
        billable_only: Annotated[
            bool, typer.Option("--billable-only", help="Only codes that can be reported.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Rank codes whose descriptions, inclusion terms or labels match QUERY."""
        from model.codesets import get_catalog

        hits = get_catalog().search(
            query, system=_system(system), limit=limit, billable_only=billable_only
        )
        if as_json:
            typer.echo(json.dumps([h.to_dict() for h in hits], indent=2))
            return
        if not hits:
            typer.echo(f"no codes match {query!r}", err=True)
        for hit in hits:
            mark = "" if hit.entry.billable else "  [header]"
            typer.echo(
                f"{hit.score:7.2f}  {hit.entry.system:<9} {hit.entry.code:<9} "
                f"{hit.entry.description}{mark}"
            )

    @codes_app.command("validate")
    def validate(
        codes: Annotated[list[str], typer.Argument(help="One or more codes.")],
        system: SystemOpt = None,
        date: Annotated[
            str | None, typer.Option("--date", help="Date of service, YYYY-MM-DD.")
        ] = None,
        sex: Annotated[
            str | None, typer.Option("--sex", help="Patient sex F or M (ICD-10-CM edits).")
        ] = None,
        age: Annotated[
            int | None, typer.Option("--age", min=0, max=124, help="Patient age in years.")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Check that each CODE exists, is billable and is in effect; exit 1 if any is not."""
        from model.codesets import get_catalog

        name = _system(system)
        on = _date(date)
        if sex is not None and sex.upper() not in ("F", "M"):
            raise typer.BadParameter(f"{sex!r} is not F or M", param_hint="--sex")
        catalog = get_catalog()
        results: list[dict[str, Any]] = []
        for code in codes:
            target = name or _guess_system(catalog, code)
            problems = catalog.validate(target, code, on, sex=sex, age=age)
            entry = catalog.get(target, code)
            results.append(
                {
                    "input": code,
                    "system": target,
                    "code": entry.code if entry else code,
                    "valid": not problems,
                    "problems": [p.to_dict() for p in problems],
                }
            )
        if as_json:
            typer.echo(json.dumps(results, indent=2))
        else:
            for r in results:
                if r["valid"]:
                    typer.echo(f"ok       {r['system']:<9} {r['code']}")
                for p in r["problems"]:
                    typer.echo(
                        f"INVALID  {r['system']:<9} {r['code']}: {p['code']}: {p['message']}"
                    )
        if not all(r["valid"] for r in results):
            raise typer.Exit(1)

    @codes_app.command("info")
    def info(as_json: JsonOpt = False) -> None:
        """Releases and counts of the loaded code sets, with load time and peak memory."""
        import resource
        import time

        from model.codesets import get_catalog

        t0 = time.perf_counter()
        catalog = get_catalog()
        seconds = time.perf_counter() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = {
            "release": catalog.release,
            "billable_codes": catalog.counts(billable_only=True),
            "all_entries": catalog.counts(billable_only=False),
            "load_seconds": round(seconds, 3),
            "peak_rss_mb": round(rss_mb, 1),
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            for key, value in summary.items():
                typer.echo(f"{key}: {value}")

    app.add_typer(codes_app, name="codes")
