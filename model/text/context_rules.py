"""Context cue rules (negation, history, family, hypothetical, uncertainty) loaded from data.

The packaged rule file is `model/text/rules/context_rules.json`; see its `description`. Every
value is validated on load; a bad one raises `RuleFileError` naming it and the allowed values.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from model.text._phrases import PhraseMatcher, normalise_phrase
from model.text.rulefiles import (
    RuleFileError,
    RuleSource,
    read_rules,
    require,
    require_choice,
)
from model.text.sections import SECTION_NAMES

#: Categories a cue may have. `ruled_out` marks a mention negated *and* ruled out; `current`
#: cancels `historical`; `pseudo` cues match but do nothing (so that "no increase" does not
#: negate); `terminate` cues end the scope of other cues.
CATEGORIES: tuple[str, ...] = (
    "negated",
    "ruled_out",
    "historical",
    "family",
    "hypothetical",
    "uncertain",
    "current",
    "pseudo",
    "terminate",
)
#: Categories whose cues modify mentions (the others only shape scopes).
MODIFIERS: frozenset[str] = frozenset(CATEGORIES) - {"pseudo", "terminate"}
DIRECTIONS: tuple[str, ...] = ("pre", "post", "both")
DEFAULT_RULES_FILE = "context_rules.json"

_GROUP_KEYS = ("category", "direction", "window", "cues", "comment")
#: Categories a section may add to every mention inside it.
SECTION_CATEGORIES: tuple[str, ...] = (
    "negated",
    "historical",
    "family",
    "hypothetical",
    "uncertain",
)


@dataclass(frozen=True, slots=True)
class ContextRule:
    """One cue: its normalised text, category, direction and windows.

    A window is the most words allowed between the cue and a mention it governs (None: up to
    the end of the sentence or the next terminator); `pre_window` applies to mentions after the
    cue, `post_window` to mentions before it.
    """

    cue: str
    category: str
    direction: str
    pre_window: int | None
    post_window: int | None

    @property
    def looks_forward(self) -> bool:
        return self.direction in ("pre", "both")

    @property
    def looks_back(self) -> bool:
        return self.direction in ("post", "both")


@dataclass(frozen=True)
class ContextRules:
    """A validated cue set, compiled for matching."""

    version: str
    rules: Mapping[str, ContextRule]
    matcher: PhraseMatcher
    section_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rules)


def load_context_rules(source: RuleSource | ContextRules = None) -> ContextRules:
    """Load and validate cue rules: None (packaged file), a JSON path, or a parsed mapping."""
    if isinstance(source, ContextRules):
        return source
    if source is None:
        return _default_rules()
    return _build(*read_rules(DEFAULT_RULES_FILE, source))


@functools.lru_cache(maxsize=1)
def _default_rules() -> ContextRules:
    return _build(*read_rules(DEFAULT_RULES_FILE))


def _window(origin: str, where: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RuleFileError(
            f"{origin}: {where} is {value!r}; allowed values: a positive integer or null"
        )
    return value


def _build(origin: str, data: dict[str, object]) -> ContextRules:
    version = str(require(origin, "version", data.get("version"), (str, int)))
    defaults = require(origin, "default_window", data.get("default_window", {}), dict)
    for key in defaults:
        require_choice(origin, "default_window key", key, ("pre", "post"))
    default_pre = _window(origin, "default_window.pre", defaults.get("pre"))
    default_post = _window(origin, "default_window.post", defaults.get("post"))
    groups = require(origin, "groups", data.get("groups"), list)
    rules: dict[str, ContextRule] = {}
    for i, group in enumerate(groups):
        where = f"groups[{i}]"
        require(origin, where, group, dict)
        for key in group:
            require_choice(origin, f"{where} key", key, _GROUP_KEYS)
        category = require_choice(origin, f"{where}.category", group.get("category"), CATEGORIES)
        if category in MODIFIERS or "direction" in group:
            direction = require_choice(
                origin, f"{where}.direction", group.get("direction"), DIRECTIONS
            )
        else:
            direction = "both"
        window = _window(origin, f"{where}.window", group.get("window"))
        cues = require(origin, f"{where}.cues", group.get("cues"), list)
        if not cues:
            raise RuleFileError(f"{origin}: {where}.cues is empty")
        for j, cue in enumerate(cues):
            require(origin, f"{where}.cues[{j}]", cue, str)
            key = normalise_phrase(cue)
            if not key:
                raise RuleFileError(f"{origin}: {where}.cues[{j}] is blank")
            if key in rules:
                raise RuleFileError(
                    f"{origin}: cue {cue!r} in {where} is already defined "
                    f"(category {rules[key].category!r}); each cue may appear once"
                )
            pre_window = default_pre if window is None else window
            post_window = default_post if window is None else window
            rules[key] = ContextRule(key, category, direction, pre_window, post_window)
    if not rules:
        raise RuleFileError(f"{origin}: no cues defined")
    return ContextRules(
        version=version,
        rules=rules,
        matcher=PhraseMatcher(rules),
        section_flags=_section_flags(origin, data.get("section_flags", {})),
    )


def _section_flags(origin: str, raw: object) -> dict[str, tuple[str, ...]]:
    table = cast(dict[str, object], require(origin, "section_flags", raw, dict))
    out: dict[str, tuple[str, ...]] = {}
    for name, value in table.items():
        require_choice(origin, "section_flags key", name, SECTION_NAMES)
        categories = cast(list[object], require(origin, f"section_flags.{name}", value, list))
        out[name] = tuple(
            require_choice(origin, f"section_flags.{name}[{i}]", c, SECTION_CATEGORIES)
            for i, c in enumerate(categories)
        )
    return out
