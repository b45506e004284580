"""What a model returns for one note: ranked codes with calibrated scores and evidence.

`Suggestion.to_dict()` is the exact JSON contract of `chartcoder predict` output lines and of
`POST /v1/suggestions` `codes`:

    {"id", "model_version", "codes": [{"system", "code", "description", "score", "rank",
      "accepted", "evidence": [{"start", "end", "text"}]}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from model.text.note import Note, Span

SYSTEMS: tuple[str, ...] = ("ICD-10-CM", "CPT", "HCPCS")


@dataclass(frozen=True, slots=True)
class SuggestedCode:
    system: str
    code: str
    description: str
    score: float
    rank: int
    accepted: bool
    evidence: tuple[Span, ...] = ()
    #: The model found the code stated in the text (a full mention, a coding rule's statement),
    #: so `evidence` is that statement; not part of the JSON contract.
    named: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "code": self.code,
            "description": self.description,
            "score": round(float(self.score), 6),
            "rank": self.rank,
            "accepted": bool(self.accepted),
            "evidence": [s.to_dict() for s in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Suggestion:
    note_id: str
    model_version: str
    codes: tuple[SuggestedCode, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.note_id,
            "model_version": self.model_version,
            "codes": [c.to_dict() for c in self.codes],
        }


@runtime_checkable
class Suggester(Protocol):
    """A loaded, fitted model that serving and the CLI call."""

    @property
    def model_version(self) -> str: ...

    def suggest(
        self, note: Note, *, systems: Sequence[str] | None = None, top_k: int = 30
    ) -> Suggestion: ...

    def suggest_batch(
        self, notes: Sequence[Note], *, systems: Sequence[str] | None = None, top_k: int = 30
    ) -> list[Suggestion]: ...
