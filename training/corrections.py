"""Coder corrections as training data: reviewed cases only, split by a frozen hash of the note id.

Input records are the training examples of `serving.services.corrections.export` (or its JSONL,
`chartcoder corrections export`): one per reviewed suggestion set, from its latest review
revision. From each record:

- positives: the review's final codes (accepted model codes, replacements, codes the coder
  added), with their evidence spans;
- negatives: the model's suggestions the coder rejected or replaced. The v1 model is one-vs-rest
  over the whole note, so a negative is learned by its absence from the note's label set; they are
  also kept as `distractors`, so the harness counts them as false positives when re-suggested.

A record without a completed review (no `review_id`/`revision`, or no `final_codes` list) is never
used: from the database only reviewed sets are exported; from a JSONL such a record is an error
naming the line and the field. When one note or one suggestion set appears more than once (a
re-review, two exports concatenated), only its latest review revision is kept.

Frozen split: `part_of(note_id)` puts a note in the evaluation part when the first 8 hex digits of
`sha256("chartcoder-retrain:" + note_id)` modulo 100 fall below the evaluation percentage (20 by
default). The split depends on nothing but the note id, so a note never moves between parts from
one retrain to the next and the evaluation part is never trained on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.datasets import Distractor, GoldCode, LabeledNote

EVAL_PERCENT = 20
_SPLIT_SALT = "chartcoder-retrain:"
_META_KEYS = ("setting", "specialty", "age", "sex", "date_of_service", "note_type")


class CorrectionsError(ValueError):
    """A corrections record that cannot be used; the message names the record and the field."""


def part_of(note_id: str, eval_percent: int = EVAL_PERCENT) -> str:
    """`"eval"` or `"train"`: the frozen part of a note, from a stable hash of its id."""
    digest = hashlib.sha256((_SPLIT_SALT + note_id).encode()).hexdigest()
    return "eval" if int(digest[:8], 16) % 100 < eval_percent else "train"


@dataclass(frozen=True, slots=True)
class CorrectionExample:
    """One reviewed case turned into a labelled note."""

    note: LabeledNote
    review_id: int
    revision: int
    suggestion_set_id: str
    part: str
    positives: frozenset[tuple[str, str]]
    negatives: frozenset[tuple[str, str]]
    added: frozenset[tuple[str, str]] = frozenset()
    reviewed_at: str = ""


@dataclass(slots=True)
class CorrectionSet:
    """The usable corrections, by frozen part, and what was set aside."""

    examples: list[CorrectionExample] = field(default_factory=list)
    superseded: int = 0
    eval_percent: int = EVAL_PERCENT

    @property
    def train(self) -> list[CorrectionExample]:
        return [e for e in self.examples if e.part == "train"]

    @property
    def eval(self) -> list[CorrectionExample]:
        return [e for e in self.examples if e.part == "eval"]

    def summary(self) -> dict[str, Any]:
        def ids(part: list[CorrectionExample]) -> list[int]:
            return sorted(e.review_id for e in part)

        return {
            "cases": len(self.examples),
            "train_cases": len(self.train),
            "eval_cases": len(self.eval),
            "superseded_revisions": self.superseded,
            "eval_percent": self.eval_percent,
            "positives": sum(len(e.positives) for e in self.examples),
            "negatives": sum(len(e.negatives) for e in self.examples),
            "added_codes": sum(len(e.added) for e in self.examples),
            "review_ids_train": ids(self.train),
            "review_ids_eval": ids(self.eval),
        }


def _require(record: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CorrectionsError(f"{where}: field {key!r} is missing or not a {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _spans(raw: Any, text: str, where: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for i, span in enumerate(raw or []):
        if not isinstance(span, Mapping):
            raise CorrectionsError(f"{where}.evidence[{i}] must be an object")
        start, end = span.get("start"), span.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            raise CorrectionsError(f"{where}.evidence[{i}]: start/end must be ints, start < end")
        if end > len(text):
            raise CorrectionsError(f"{where}.evidence[{i}]: end {end} is past the note text")
        out.append((start, end))
    return tuple(out)


def example_from_record(
    record: Mapping[str, Any], *, where: str = "record", eval_percent: int = EVAL_PERCENT
) -> CorrectionExample:
    """Turn one exported record into a `CorrectionExample`; raise `CorrectionsError` if unusable."""
    if not isinstance(record, Mapping):
        raise CorrectionsError(f"{where} must be an object")
    review_id = record.get("review_id")
    revision = record.get("revision")
    if not isinstance(review_id, int) or not isinstance(revision, int) or revision < 1:
        raise CorrectionsError(
            f"{where}: no completed review (fields 'review_id' and 'revision' are required); "
            "retraining only uses reviewed cases"
        )
    final = _require(record, "final_codes", list, where)
    text = _require(record, "text", str, where)
    note_id = _require(record, "note_id", str, where)
    ss_id = str(_require(record, "suggestion_set_id", (str, int), where))
    meta_raw = record.get("meta") or {}
    meta = {k: meta_raw[k] for k in _META_KEYS if isinstance(meta_raw, Mapping) and k in meta_raw}
    codes: dict[tuple[str, str], GoldCode] = {}
    for i, item in enumerate(final):
        w = f"{where}.final_codes[{i}]"
        if not isinstance(item, Mapping):
            raise CorrectionsError(f"{w} must be an object")
        system = _require(item, "system", str, w)
        code = _require(item, "code", str, w)
        codes.setdefault(
            (system, code), GoldCode(system, code, _spans(item.get("evidence"), text, w))
        )
    positives = frozenset(codes)
    suggested = {
        (str(c.get("system")), str(c.get("code")))
        for c in record.get("model_codes") or []
        if isinstance(c, Mapping)
    }
    rejected: dict[tuple[str, str], str] = {}
    for ev in record.get("corrections") or []:
        if isinstance(ev, Mapping) and ev.get("action") in ("reject", "replace"):
            key = (str(ev.get("system")), str(ev.get("code")))
            rejected[key] = str(ev.get("reason") or ev.get("action"))
    # Suggested codes that the coder left out of the final set are negatives too.
    for key in suggested - positives:
        rejected.setdefault(key, "not_in_final")
    negatives = frozenset(k for k in rejected if k not in positives)
    note = LabeledNote(
        id=f"corr-{note_id}",
        text=text,
        meta=meta,
        codes=tuple(codes.values()),
        distractors=tuple(Distractor(s, c, rejected[(s, c)]) for s, c in sorted(negatives)),
        source="site",
    )
    return CorrectionExample(
        note=note,
        review_id=review_id,
        revision=revision,
        suggestion_set_id=ss_id,
        part=part_of(note_id, eval_percent),
        positives=positives,
        negatives=negatives,
        added=frozenset(positives - suggested),
        reviewed_at=str(record.get("reviewed_at") or ""),
    )


def build_correction_set(
    records: Iterable[Mapping[str, Any]], *, eval_percent: int = EVAL_PERCENT
) -> CorrectionSet:
    """Every usable record, latest review per note, each assigned to its frozen part."""
    latest: dict[str, CorrectionExample] = {}
    superseded = 0
    for i, record in enumerate(records):
        ex = example_from_record(record, where=f"record {i + 1}", eval_percent=eval_percent)
        key = ex.note.id
        old = latest.get(key)
        if old is not None:
            superseded += 1
            if (old.reviewed_at, old.review_id) > (ex.reviewed_at, ex.review_id):
                continue
        latest[key] = ex
    examples = sorted(latest.values(), key=lambda e: e.review_id)
    return CorrectionSet(examples=examples, superseded=superseded, eval_percent=eval_percent)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read an export JSONL; a bad line raises `CorrectionsError` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise CorrectionsError(f"--from-jsonl {path}: no such file")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise CorrectionsError(f"{path}:{lineno}: not JSON ({exc})") from None
            if not isinstance(value, dict):
                raise CorrectionsError(f"{path}:{lineno}: each line must be a JSON object")
            out.append(value)
    return out


def read_db(session: Any, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Reviewed cases from the service database (latest revision of each reviewed set)."""
    from serving.services.corrections import export

    return list(export(session, since=since))


def weighted_training_notes(
    base: Sequence[LabeledNote], examples: Sequence[CorrectionExample], repeat: int
) -> list[LabeledNote]:
    """Base notes, then each training correction `repeat` times under the same note key.

    The same key keeps all copies of one correction in one cross-validation fold and on one side
    of the calibration hold-out, so the repeats weight the note without leaking it.
    """
    out = list(base)
    for ex in examples:
        out.extend([ex.note] * repeat)
    return out


def site_only_codes(
    base: Sequence[LabeledNote],
    examples: Sequence[CorrectionExample],
    *,
    min_cases: int = 5,
    max_base_rate: float = 0.001,
) -> set[tuple[str, str]]:
    """Codes the site's coders assign (in at least `min_cases` training corrections) that the
    base training data practically never does (in under `max_base_rate` of its notes).

    Such a code lies outside the base data's annotation scheme: a base note without it says
    nothing about it, so retraining does not count base notes as its negatives (otherwise every
    base note that looks like the site's cases would teach the ranker the opposite of the
    site's habit).
    """
    site: dict[tuple[str, str], int] = {}
    for ex in examples:
        for code in ex.positives:
            site[code] = site.get(code, 0) + 1
    base_counts: dict[tuple[str, str], int] = {}
    for n in base:
        for c in n.codes:
            key = (c.system, c.code)
            base_counts[key] = base_counts.get(key, 0) + 1
    limit = max_base_rate * len(base)
    return {
        code for code, n in site.items() if n >= min_cases and base_counts.get(code, 0) <= limit
    }


def choose_repeat(
    n_base: int, n_corrections: int, *, target_share: float = 0.25, max_repeat: int = 8
) -> int:
    """How many times each correction is repeated (documented weighting).

    Corrections should make up about `target_share` of the weighted training set, so a few hundred
    of them matter against thousands of base notes, without drowning the base data:
    `k = ceil(share / (1 - share) * n_base / n_corrections)`, clamped to `[1, max_repeat]`.
    E.g. 4,000 base notes and 300 corrections give k = 5 (27% of the weighted set).
    """
    if n_corrections <= 0:
        return 0
    if not 0 < target_share < 1:
        raise ValueError(f"target_share must be in (0, 1); got {target_share}")
    raw = target_share / (1 - target_share) * n_base / n_corrections
    k = int(-(-raw // 1))  # ceil
    return max(1, min(max_repeat, k))


def hash_examples(examples: Sequence[CorrectionExample]) -> str:
    from training.train import corpus_hash

    return corpus_hash([e.note for e in examples])
