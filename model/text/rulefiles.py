"""Loading the JSON rule files under `model/text/rules/`.

Rule files are data, versioned with the package and read with `importlib.resources` (never
through `__file__`), so they keep working once the package is installed. Every loader validates
what it reads and raises `RuleFileError` naming the file, the bad value and the allowed ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

RULES_PACKAGE = "model.text.rules"


class RuleFileError(ValueError):
    """A rule file is missing, is not valid JSON, or holds a value outside the allowed ones."""

    code = "invalid_rules"


RuleSource = str | Path | Mapping[str, Any] | None


def read_rules(default_name: str, source: RuleSource = None) -> tuple[str, dict[str, Any]]:
    """Return `(origin, data)` for a rule source.

    `source` may be None (the packaged file `default_name`), a path to a JSON file, or an
    already-parsed mapping. `origin` names where the data came from, for error messages.
    """
    if source is None:
        origin = f"{RULES_PACKAGE}/{default_name}"
        try:
            raw = resources.files(RULES_PACKAGE).joinpath(default_name).read_text("utf-8")
        except FileNotFoundError:
            raise RuleFileError(f"packaged rule file {origin} is missing") from None
    elif isinstance(source, Mapping):
        return "<mapping>", dict(source)
    else:
        origin = str(source)
        try:
            raw = Path(source).read_text("utf-8")
        except OSError as exc:
            raise RuleFileError(f"cannot read rule file {origin}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RuleFileError(
            f"{origin} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise RuleFileError(f"{origin} must hold a JSON object, not {type(data).__name__}")
    return origin, data


def require(origin: str, where: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    """Check a value's JSON type, raising `RuleFileError` naming where it sits."""
    if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = " or ".join(k.__name__ for k in _as_tuple(kind))
        raise RuleFileError(f"{origin}: {where} must be {names}; got {value!r}")
    return value


def require_choice(origin: str, where: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Check a value is one of `allowed`, raising `RuleFileError` listing them."""
    if not isinstance(value, str) or value not in allowed:
        raise RuleFileError(f"{origin}: {where} is {value!r}; allowed values: {', '.join(allowed)}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
