"""Labelled corpora and prediction files, loaded into one common structure.

Every loader returns `LabeledNote`s: the exact note text, its metadata, the gold codes a coder
would assign (each with evidence spans, end-exclusive character offsets into `text`) and the
distractors (mentions a coder must NOT code). The model, the baselines and the harness all read
this one structure, whatever the corpus.

Loaders:

- `load_synthetic(path, split=None)`: the project's synthetic corpus (JSONL file, or a directory
  holding `train.jsonl` / `dev.jsonl` / `test.jsonl`, or `notes.jsonl` when `split` is None).
- `load_codiesp(split_dir)`, `load_codiesp_dir(root, splits)`: CodiEsp in its official layout,
  English texts, ICD-10-CM diagnosis codes (PCS procedure codes kept apart in `pcs_codes`, since
  chartcoder does not predict ICD-10-PCS).
- `load_predictions(path)`: the JSONL written by `chartcoder predict`.

Bad input raises `DatasetError` naming the file, the line and the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ICD10CM = "ICD-10-CM"
ICD10PCS = "ICD-10-PCS"
SPLITS: tuple[str, ...] = ("train", "dev", "test")


class DatasetError(ValueError):
    """A corpus or prediction file that cannot be read. The message names file, line and field."""


@dataclass(frozen=True, slots=True)
class GoldCode:
    """One gold code of a note. `evidence` holds end-exclusive `(start, end)` offsets."""

    system: str
    code: str
    evidence: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Distractor:
    """A mention a coder must not code (negated, ruled out, family history, ...)."""

    system: str
    code: str
    reason: str = ""
    evidence: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class LabeledNote:
    """A note with its gold labels."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    codes: tuple[GoldCode, ...] = ()
    distractors: tuple[Distractor, ...] = ()
    #: ICD-10-PCS procedure codes (CodiEsp); kept for completeness, never scored.
    pcs_codes: tuple[str, ...] = ()
    #: Notes sharing a group share their wording (a synthetic note's template): training keeps a
    #: group on one side of every internal split. None: the note is its own group.
    group: str | None = None
    #: The corpus the note came from ("synthetic", "codiesp", "site" for coder corrections):
    #: calibration certifies the `accepted` band on each source's notes separately. None: a
    #: user-supplied note of no named corpus.
    source: str | None = None

    def gold_set(self, system: str | None = None) -> set[tuple[str, str]]:
        """The `(system, code)` pairs of the gold codes, optionally of one system."""
        return {(c.system, c.code) for c in self.codes if system is None or c.system == system}

    def systems(self) -> set[str]:
        return {c.system for c in self.codes}


# --------------------------------------------------------------------------------------------
# helpers


def normalise_code(system: str, code: str) -> str:
    """Canonical spelling of a code: stripped, uppercase; ICD-10-CM keeps (or gains) its dot."""
    code = code.strip().upper()
    if system == ICD10CM and "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise DatasetError(f"{path}:{lineno}: each line must be a JSON object")
            yield lineno, obj


def _spans(raw: Any, where: str, text_len: int | None) -> tuple[tuple[int, int], ...]:
    """Parse evidence given as `[{start, end}, ...]` or `[[start, end], ...]`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: evidence must be a list of {{start, end}}")
    out: list[tuple[int, int]] = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            start, end = item.get("start"), item.get("end")
        elif isinstance(item, list | tuple) and len(item) == 2:
            start, end = item
        else:
            raise DatasetError(f"{where}: evidence[{i}] must be {{start, end}} or [start, end]")
        if (
            isinstance(start, bool)
            or isinstance(end, bool)
            or not isinstance(start, int)
            or not isinstance(end, int)
            or not 0 <= start <= end
        ):
            raise DatasetError(
                f"{where}: evidence[{i}] needs integers 0 <= start <= end; got {start!r}, {end!r}"
            )
        if text_len is not None and end > text_len:
            raise DatasetError(
                f"{where}: evidence[{i}] [{start}, {end}) lies outside a text of "
                f"{text_len} characters"
            )
        out.append((start, end))
    return tuple(out)


def _require_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (key != "text" and not value):
        raise DatasetError(f"{where}: field {key!r} must be a non-empty string; got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# synthetic corpus


def _synthetic_note(obj: dict[str, Any], where: str) -> LabeledNote:
    note_id = _require_str(obj, "id", where)
    text = _require_str(obj, "text", where)
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise DatasetError(f"{where}: field 'meta' must be an object")
    codes: list[GoldCode] = []
    raw_codes = obj.get("codes") or []
    if not isinstance(raw_codes, list):
        raise DatasetError(f"{where}: field 'codes' must be a list")
    for i, c in enumerate(raw_codes):
        w = f"{where}: codes[{i}]"
        if not isinstance(c, dict):
            raise DatasetError(f"{w} must be an object")
        system = _require_str(c, "system", w)
        code = normalise_code(system, _require_str(c, "code", w))
        codes.append(GoldCode(system, code, _spans(c.get("evidence"), w, len(text))))
    distractors: list[Distractor] = []
    raw_d = obj.get("distractors") or []
    if not isinstance(raw_d, list):
        raise DatasetError(f"{where}: field 'distractors' must be a list")
    for i, d in enumerate(raw_d):
        w = f"{where}: distractors[{i}]"
        if not isinstance(d, dict):
            raise DatasetError(f"{w} must be an object")
        system = _require_str(d, "system", w)
        code = normalise_code(system, _require_str(d, "code", w))
        distractors.append(
            Distractor(
                system,
                code,
                str(d.get("reason") or ""),
                _spans(d.get("evidence"), w, len(text)),
            )
        )
    template = obj.get("template")
    has_template = isinstance(template, str) and bool(template)
    corpus = meta.get("corpus")
    return LabeledNote(
        note_id,
        text,
        dict(meta),
        tuple(codes),
        tuple(distractors),
        group=f"template:{template}" if has_template else None,
        # a generated note names its template; a user's JSONL may name its corpus in meta
        source=str(corpus) if corpus else ("synthetic" if has_template else None),
    )


def load_synthetic(path: str | Path, split: str | None = None) -> list[LabeledNote]:
    """Load the synthetic corpus.

    `path` is a JSONL file, or a directory: with `split` ("train", "dev" or "test") it reads
    `<path>/<split>.jsonl`; without, `<path>/notes.jsonl`.
    """
    p = Path(path)
    if p.is_dir():
        if split is not None:
            if split not in SPLITS:
                raise DatasetError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
            p = p / f"{split}.jsonl"
        else:
            p = p / "notes.jsonl"
        if not p.is_file():
            raise DatasetError(f"synthetic corpus file not found: {p}")
    elif split is not None:
        raise DatasetError(f"split={split!r} needs a directory, but {p} is a file")
    elif not p.is_file():
        raise DatasetError(f"synthetic corpus not found: {p}")
    notes = [_synthetic_note(obj, f"{p}:{lineno}") for lineno, obj in _iter_jsonl(p)]
    _check_unique(notes, p)
    logger.info("loaded %d synthetic notes from %s", len(notes), p)
    return notes


def _check_unique(notes: Sequence[LabeledNote], source: Path) -> None:
    seen: set[str] = set()
    for n in notes:
        if n.id in seen:
            raise DatasetError(f"{source}: duplicate note id {n.id!r}")
        seen.add(n.id)


# --------------------------------------------------------------------------------------------
# CodiEsp


def _read_code_tsv(path: Path) -> dict[str, list[str]]:
    """`<case id>\\t<code>` rows -> codes per case, in file order, without duplicates."""
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise DatasetError(f"{path}:{lineno}: expected '<case id>\\t<code>'")
            codes = out.setdefault(parts[0].strip(), [])
            code = parts[1].strip().upper()
            if code not in codes:
                codes.append(code)
    return out


def load_codiesp(split_dir: str | Path) -> list[LabeledNote]:
    """Load one CodiEsp split (official layout) with its English texts.

    - text: `<split_dir>/text_files_en/<id>.txt`, read whole as UTF-8 (offsets index this text);
    - codes: ICD-10-CM from `<split>D.tsv` (uppercase, with dot), system "ICD-10-CM";
    - evidence: `en_ranges` of the `DIAGNOSTICO` rows of `<split_dir>/evidence_en.jsonl`
      (matched by id and code); codes without a row there get no evidence;
    - `pcs_codes`: the ICD-10-PCS codes of `<split>P.tsv`, never scored.

    Notes without any gold code (possible only in unlabelled splits) are kept with `codes=()`.
    """
    root = Path(split_dir)
    text_dir = root / "text_files_en"
    if not text_dir.is_dir():
        raise DatasetError(f"CodiEsp split {root} has no text_files_en/ folder")
    split = root.name
    d_path = root / f"{split}D.tsv"
    diag = _read_code_tsv(d_path)
    proc = _read_code_tsv(root / f"{split}P.tsv")
    texts: dict[str, str] = {}
    for f in sorted(text_dir.glob("*.txt")):
        with f.open(encoding="utf-8", newline="") as handle:
            texts[f.stem] = handle.read()
    if not texts:
        raise DatasetError(f"{text_dir} holds no .txt files")
    missing = sorted(set(diag) - set(texts))
    if missing:
        raise DatasetError(
            f"{d_path}: {len(missing)} case id(s) have no English text, e.g. {missing[0]!r}"
        )

    evidence: dict[tuple[str, str], list[tuple[int, int]]] = {}
    ev_path = root / "evidence_en.jsonl"
    if ev_path.is_file():
        for lineno, obj in _iter_jsonl(ev_path):
            if obj.get("label") != "DIAGNOSTICO":
                continue
            where = f"{ev_path}:{lineno}"
            note_id = _require_str(obj, "id", where)
            code = normalise_code(ICD10CM, _require_str(obj, "code", where))
            text = texts.get(note_id)
            spans = _spans(obj.get("en_ranges"), where, None if text is None else len(text))
            bucket = evidence.setdefault((note_id, code), [])
            for s in spans:
                if s not in bucket:
                    bucket.append(s)
    else:
        logger.warning("%s not found: CodiEsp codes will have no evidence", ev_path)

    notes: list[LabeledNote] = []
    for note_id, text in texts.items():
        codes = tuple(
            GoldCode(ICD10CM, code, tuple(evidence.get((note_id, code), ())))
            for code in (normalise_code(ICD10CM, c) for c in diag.get(note_id, []))
        )
        notes.append(
            LabeledNote(
                id=note_id,
                text=text,
                meta={"corpus": "codiesp", "split": split},
                codes=codes,
                pcs_codes=tuple(proc.get(note_id, [])),
                source="codiesp",
            )
        )
    logger.info("loaded %d CodiEsp notes from %s", len(notes), root)
    return notes


def load_codiesp_dir(
    root: str | Path, splits: Iterable[str] = ("train", "dev")
) -> list[LabeledNote]:
    """Load several CodiEsp splits found under `root` (e.g. `root/train`, `root/dev`)."""
    base = Path(root)
    if not base.is_dir():
        raise DatasetError(f"CodiEsp root not found: {base}")
    notes: list[LabeledNote] = []
    for split in splits:
        split_dir = base / split
        if not split_dir.is_dir():
            raise DatasetError(f"CodiEsp split {split!r} not found under {base}")
        notes.extend(load_codiesp(split_dir))
    return notes


# --------------------------------------------------------------------------------------------
# predictions


def load_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Read the JSONL of `chartcoder predict`, validating the fields the harness uses.

    Each line: `{"id", "model_version", "codes": [{"system", "code", "description", "score",
    "rank", "accepted", "evidence": [{"start", "end", "text"}]}]}`. Codes are returned sorted by
    score, descending, ties broken by rank (calibrated scores tie often); ICD-10-CM codes are
    normalised like the gold codes.
    """
    p = Path(path)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, obj in _iter_jsonl(p):
        where = f"{p}:{lineno}"
        note_id = _require_str(obj, "id", where)
        if note_id in seen:
            raise DatasetError(f"{where}: duplicate prediction for note id {note_id!r}")
        seen.add(note_id)
        raw_codes = obj.get("codes")
        if not isinstance(raw_codes, list):
            raise DatasetError(f"{where}: field 'codes' must be a list")
        codes = [
            validate_predicted_code(c, f"{where}: codes[{i}]") for i, c in enumerate(raw_codes)
        ]
        codes.sort(key=lambda c: (-c["score"], c["rank"]))
        out.append(
            {"id": note_id, "model_version": str(obj.get("model_version", "")), "codes": codes}
        )
    return out


def validate_predicted_code(c: Any, where: str) -> dict[str, Any]:
    """Check and normalise one predicted code dict (raises `DatasetError` naming the field)."""
    if not isinstance(c, dict):
        raise DatasetError(f"{where} must be an object")
    system = _require_str(c, "system", where)
    code = normalise_code(system, _require_str(c, "code", where))
    score = c.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
        raise DatasetError(f"{where}: field 'score' must be a number in [0, 1]; got {score!r}")
    rank = c.get("rank")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise DatasetError(f"{where}: field 'rank' must be an integer >= 1; got {rank!r}")
    accepted = c.get("accepted", False)
    if not isinstance(accepted, bool):
        raise DatasetError(f"{where}: field 'accepted' must be true or false; got {accepted!r}")
    evidence = [{"start": s, "end": e} for s, e in _spans(c.get("evidence"), where, None)]
    return {
        "system": system,
        "code": code,
        "description": str(c.get("description", "")),
        "score": float(score),
        "rank": rank,
        "accepted": accepted,
        "evidence": evidence,
    }
