"""Build `resources/icd_pool.tsv`, the ICD-10-CM code pool the generator draws from.

Run once per code-set release (the output is committed, so generation never needs the full
ICD-10-CM tables at run time)::

    python -m data.synthetic.build_pool

The pool keeps billable (leaf) codes whose official description can be turned into natural
mentions: it drops "Other specified ..." residual codes, subsequent-encounter and sequela
injury codes, and very long descriptions, then samples a fixed number per chapter (shorter,
more general codes first, as those are the common ones in practice). Every code of the
hand-written lexicon is always kept. Columns: code, chapter, tier (``common`` for lexicon
codes, ``tail`` otherwise), sex / age_min / age_max (the catalog's MCE-style edits, empty when
none), description, inclusion terms joined by ``|``. Manifestation codes are left out.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

#: How many tail codes to keep per chapter (chapter number as in ICD-10-CM 2026).
CHAPTER_QUOTA: dict[str, int] = {
    "1": 220,
    "2": 380,
    "3": 160,
    "4": 280,
    "5": 240,
    "6": 260,
    "7": 400,
    "8": 190,
    "9": 420,
    "10": 220,
    "11": 360,
    "12": 260,
    "13": 640,
    "14": 300,
    "15": 280,
    "16": 130,
    "17": 180,
    "18": 330,
    "19": 900,
    "20": 200,
    "21": 380,
    "22": 3,
}

_SKIP = re.compile(
    r"(^other\b|\bother specified\b|subsequent encounter|sequela|\bnot elsewhere\b|"
    r"\bunspecified (?:physis|nondisplaced)\b|\bcontact with and \(suspected\)|"
    r"\bassault by\b|\bwith routine healing\b|\bwith delayed healing\b|\bnonunion\b|malunion|"
    r"\bmild\) \(|\bin remission\b.*\bin remission\b|\(\w+\) \(\w+\) \(|\bexcept\b|"
    r"\bunspecified part of unspecified\b|unspecified side|, unspecified (?:eye|ear|side)\b|"
    r"unspecified (?:hand|leg|arm|foot|upper limb|lower limb|thigh|lower leg|knee|"
    r"hip|shoulder|elbow|wrist|ankle|finger|toe|eye|ear|kidney|breast|lung|ovary)\b)",
    re.IGNORECASE,
)


def _keep(code: str, desc: str) -> bool:
    if len(desc) > 110 or _SKIP.search(desc):
        return False
    # Injury and external-cause codes: keep initial encounters only.
    if code[0] in "STVWXY" and len(code) == 8 and code[-1] != "A":
        return False
    return not (code[0] in "VWXY" and len(desc) > 70)


def build(out: Path, seed: int = 2026) -> int:
    """Write the pool TSV and return how many codes it holds."""
    import simple_icd_10_cm as icd  # heavy; only this build step needs it

    from model.codesets import get_catalog

    catalog = get_catalog()

    res = resources.files("data.synthetic.resources")
    forced: set[str] = set()
    for name, cols in (("conditions.tsv", (0,)), ("history.tsv", (1, 2))):
        lines = res.joinpath(name).read_text("utf-8").splitlines()[1:]
        forced |= {line.split("\t")[c] for line in lines if line for c in cols}
    # BMI codes that go with the obesity/overweight diagnoses.
    forced |= {f"Z68.{n}" for n in range(25, 40)} | {f"Z68.{n}" for n in range(41, 46)}
    by_chapter: dict[str, list[str]] = {}
    rows: dict[str, tuple[str, str, str, str]] = {}
    demo: dict[str, str] = {}
    for code in icd.get_all_codes(True):
        if not (icd.is_category_or_subcategory(code) or icd.is_extended_subcategory(code)):
            continue
        if not icd.is_leaf(code):
            continue
        chapter = icd.get_ancestors(code)[-1]
        desc = icd.get_description(code)
        entry = catalog.get("ICD-10-CM", code)
        if entry is None or not entry.billable:
            continue
        if entry.is_manifestation and code not in forced:
            continue
        demo[code] = "\t".join(
            ("" if v is None else str(v)) for v in (entry.sex, entry.age_min, entry.age_max)
        )
        terms = "|".join(t for t in icd.get_inclusion_term(code) if len(t) < 90)
        if code in forced:
            rows[code] = (chapter, "common", desc, terms)
        elif _keep(code, desc):
            by_chapter.setdefault(chapter, []).append(code)
            rows.setdefault(code, (chapter, "tail", desc, terms))
    missing = sorted(forced - set(rows))
    if missing:
        raise ValueError(f"lexicon codes not billable in this ICD-10-CM release: {missing}")
    rng = random.Random(seed)
    keep = set(forced)
    for chapter, codes in sorted(by_chapter.items(), key=lambda kv: int(kv[0])):
        quota = CHAPTER_QUOTA.get(chapter, 50)
        # Prefer short (general) codes and short descriptions, with some randomness.
        ranked = sorted(codes, key=lambda c: (len(c) + rng.random() * 4, len(rows[c][2])))
        keep.update(ranked[:quota])
    with out.open("w", encoding="utf-8") as fh:
        fh.write("code\tchapter\ttier\tsex\tage_min\tage_max\tdescription\tinclusion_terms\n")
        for code in sorted(keep):
            chapter, tier, desc, terms = rows[code]
            fh.write(f"{code}\t{chapter}\t{tier}\t{demo[code]}\t{desc}\t{terms}\n")
    return len(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(str(resources.files("data.synthetic.resources").joinpath("icd_pool.tsv")))
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    n = build(args.out)
    log.info("wrote %d codes to %s", n, args.out)


if __name__ == "__main__":
    main()
