"""`generate_note` and `generate_corpus`: the public entry points of the generator.

Determinism: note *i* of a corpus with seed *s* is generated from its own
`random.Random(f"{s}:{i}")`, so a note does not depend on the notes before it, and the same
(seed, index) always gives the same bytes. No global random state, no set-iteration order.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from data.synthetic.layouts import LAYOUTS
from data.synthetic.lexicon import SPLITS, load_lexicon
from data.synthetic.notes import Writer, make_builder, pick_style
from data.synthetic.plan import Planner

logger = logging.getLogger(__name__)

#: Bump when the output for a given seed changes.
GENERATOR_VERSION = "1.5"
#: Share of notes per split (by note index hash, before any content is drawn).
SPLIT_WEIGHTS = {"train": 0.8, "dev": 0.1, "test": 0.1}


@lru_cache(maxsize=1)
def _curated_procedures() -> frozenset[tuple[str, str]] | None:
    """CPT/HCPCS codes of the project's curated tables (only these may be emitted)."""
    try:
        data = resources.files("model.codesets").joinpath("data")
    except ModuleNotFoundError:  # pragma: no cover - codesets not installed
        return None
    out: set[tuple[str, str]] = set()
    for name, system in (("cpt_curated.tsv", "CPT"), ("hcpcs_curated.tsv", "HCPCS")):
        f = data.joinpath(name)
        if not f.is_file():
            return None
        rows = csv.DictReader(f.read_text("utf-8").splitlines(), delimiter="\t")
        out |= {(system, r["code"].strip()) for r in rows if r.get("code")}
    return frozenset(out)


@lru_cache(maxsize=1)
def _planner() -> Planner:
    try:
        from model.codesets import get_catalog
    except ImportError:  # pragma: no cover - the catalog ships with the project
        return Planner(load_lexicon(), _curated_procedures())
    catalog = get_catalog()

    @lru_cache(maxsize=200_000)
    def conflict(a: str, b: str) -> bool:
        return catalog.excludes1_conflict(a, b)

    def billable(code: str) -> bool:
        return catalog.validate("ICD-10-CM", code) == []

    return Planner(load_lexicon(), _curated_procedures(), conflict, billable)


def _split_for(rng: random.Random) -> str:
    u = rng.random()
    return "train" if u < SPLIT_WEIGHTS["train"] else "dev" if u < 0.9 else "test"


def generate_note(index: int, seed: int = 0, split: str | None = None) -> dict[str, Any]:
    """Generate note number `index` of the corpus with `seed`.

    Returns the JSON-ready record: ``id``, ``text``, ``meta`` (note_type, specialty, setting,
    age, sex, date_of_service), ``codes`` ([{system, code, evidence: [{start, end}]}]),
    ``distractors`` ([{system, code, reason, evidence}]), ``split``, ``template`` (the note
    layout id) and ``frames`` (ids of the sentence frames used). `split` forces a split
    (``train``, ``dev`` or ``test``); by default it is drawn from the note's own seed.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    rng = random.Random(f"{seed}:{index}")
    split = split or _split_for(rng)
    planner = _planner()
    case = planner.sample(rng, split)
    b = make_builder(planner.lex, rng, case)
    style = pick_style(rng, split)
    meds_by_code = {
        c: planner.lex.conditions[c].meds
        for c in (p.code for p in case.problems)
        if c in planner.lex.conditions
    }
    w = Writer(b, case, meds_by_code, style)
    layout = LAYOUTS[case.note_type](w)
    text, codes, distractors = b.result()
    return {
        "id": f"syn-{seed}-{index:07d}",
        "text": text,
        "meta": {
            "note_type": case.note_type,
            "specialty": case.specialty,
            "setting": case.setting,
            "age": case.age,
            "sex": case.sex,
            "date_of_service": case.dos.isoformat(),
        },
        "codes": codes,
        "distractors": distractors,
        "split": split,
        "template": f"{case.note_type}.{layout}.{style}",
        "frames": sorted(set(b.frames_used)),
    }


def _words(text: str) -> int:
    return len(text.split())


def corpus_stats(notes: list[dict[str, Any]] | None = None) -> StatsAccumulator:
    acc = StatsAccumulator()
    for n in notes or []:
        acc.add(n)
    return acc


class StatsAccumulator:
    """Measures the distributions reported in `stats.json` and the dataset card."""

    def __init__(self) -> None:
        self.n = 0
        self.codes_per_note: Counter[int] = Counter()
        self.words: list[int] = []
        self.with_distractor = 0
        self.distractor_reasons: Counter[str] = Counter()
        self.chapters: Counter[str] = Counter()
        self.specialties: Counter[str] = Counter()
        self.note_types: Counter[str] = Counter()
        self.settings: Counter[str] = Counter()
        self.splits: Counter[str] = Counter()
        self.systems: dict[str, Counter[str]] = {
            "ICD-10-CM": Counter(),
            "CPT": Counter(),
            "HCPCS": Counter(),
        }
        self.templates: dict[str, set[str]] = {s: set() for s in SPLITS}

    def add(self, note: dict[str, Any]) -> None:
        from data.synthetic.lexicon import load_lexicon as _lex

        lex = _lex()
        self.n += 1
        self.codes_per_note[len(note["codes"])] += 1
        self.words.append(_words(note["text"]))
        if note["distractors"]:
            self.with_distractor += 1
        for d in note["distractors"]:
            self.distractor_reasons[d["reason"]] += 1
        for c in note["codes"]:
            self.systems[c["system"]][c["code"]] += 1
            chapter = lex.chapter_of(c["code"]) if c["system"] == "ICD-10-CM" else None
            if chapter is not None:
                self.chapters[str(chapter)] += 1
        m = note["meta"]
        self.specialties[m["specialty"]] += 1
        self.note_types[m["note_type"]] += 1
        self.settings[m["setting"]] += 1
        self.splits[note["split"]] += 1
        self.templates[note["split"]].add(note["template"])

    def to_dict(self) -> dict[str, Any]:
        w = sorted(self.words) or [0]

        def pct(q: float) -> int:
            return w[min(len(w) - 1, int(q * len(w)))]

        n_codes = sum(k * v for k, v in self.codes_per_note.items())
        return {
            "generator_version": GENERATOR_VERSION,
            "notes": self.n,
            "splits": dict(sorted(self.splits.items())),
            "codes_per_note": {
                "mean": round(n_codes / max(self.n, 1), 2),
                "histogram": {str(k): v for k, v in sorted(self.codes_per_note.items())},
            },
            "words_per_note": {
                "mean": round(sum(w) / max(len(w), 1), 1),
                "min": w[0],
                "p10": pct(0.1),
                "median": pct(0.5),
                "p90": pct(0.9),
                "max": w[-1],
            },
            "notes_with_distractor": round(self.with_distractor / max(self.n, 1), 3),
            "distractor_reasons": dict(self.distractor_reasons.most_common()),
            "distinct_codes": {s: len(c) for s, c in self.systems.items()},
            "code_mentions": {s: sum(c.values()) for s, c in self.systems.items()},
            "icd_chapters": {k: self.chapters[k] for k in sorted(self.chapters, key=int)},
            "specialties": dict(self.specialties.most_common()),
            "note_types": dict(self.note_types.most_common()),
            "settings": dict(self.settings.most_common()),
            "templates_per_split": {s: len(t) for s, t in self.templates.items()},
            "top_icd": dict(self.systems["ICD-10-CM"].most_common(15)),
        }


def generate_corpus(
    n: int, seed: int = 0, out_dir: str | Path | None = None, progress: bool = False
) -> dict[str, Any]:
    """Generate `n` notes with `seed`; write them under `out_dir` and return the stats.

    Files: ``notes.jsonl`` (all notes), ``train.jsonl`` / ``dev.jsonl`` / ``test.jsonl``
    (the same records split by held-out templates and phrasings) and ``stats.json``.
    With `out_dir` None nothing is written (the stats are still returned).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    acc = StatsAccumulator()
    handles: dict[str, Any] = {}
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        handles = {
            name: (out / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("notes", *SPLITS)
        }
    iterator: Any = range(n)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="synth", unit="note")
    try:
        for i in iterator:
            note = generate_note(i, seed)
            acc.add(note)
            if handles:
                line = json.dumps(note, ensure_ascii=False) + "\n"
                handles["notes"].write(line)
                handles[note["split"]].write(line)
    finally:
        for h in handles.values():
            h.close()
    stats = acc.to_dict()
    stats["seed"] = seed
    if out is not None:
        (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats
