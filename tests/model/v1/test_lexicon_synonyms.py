"""The project synonym list: every row names a billable code, and new wording matches notes."""

from __future__ import annotations

from typing import Any

import pytest

from model.codesets import get_catalog
from model.v1.lexicon import build_phrases, synonym_rows, synonym_system
from model.v1.matcher import PhraseMatcher
from model.v1.tokens import tokenize


def _system(catalog: Any, code: str) -> str:
    return synonym_system(catalog, code)


def test_every_synonym_row_names_a_billable_code() -> None:
    catalog = get_catalog()
    bad = []
    for code, phrase in synonym_rows():
        entry = catalog.get(_system(catalog, code), code)
        if entry is None or not entry.billable:
            bad.append((code, phrase))
    assert not bad, f"synonyms.tsv rows without a billable code: {bad}"


def test_synonym_rows_are_unique_and_cpt_rows_are_project_written_names() -> None:
    """CPT descriptors are AMA text: CPT rows are allowed only in the block of common clinical
    names the project wrote, and never repeat the catalog's own label."""
    from importlib import resources

    catalog = get_catalog()
    rows = synonym_rows()
    assert len(rows) == len(set(rows))
    assert len(rows) >= 600
    lines = resources.files("model.v1").joinpath("data/synonyms.tsv").read_text("utf-8")
    marker = "# CPT / HCPCS: common clinical names (project-written)"
    assert marker in lines
    before = synonym_rows_in(lines.split(marker)[0])
    assert not [c for c, _ in before if _system(catalog, c) == "CPT"]
    cpt = [(c, p) for c, p in rows if _system(catalog, c) == "CPT"]
    assert cpt
    for code, phrase in cpt:
        assert phrase.lower() != catalog.get("CPT", code).description.lower(), code


def synonym_rows_in(text: str) -> list[tuple[str, str]]:
    return [
        (row.split("\t")[0], row.split("\t")[1])
        for row in text.splitlines()
        if row and not row.startswith("#") and "\t" in row
    ]


@pytest.mark.parametrize(
    ("code", "system"),
    [("G0439", "HCPCS"), ("J1100", "HCPCS"), ("G2211", "HCPCS"), ("G04.39", "ICD-10-CM"),
     ("J11.00", "ICD-10-CM"), ("I10", "ICD-10-CM"), ("90715", "CPT"), ("E11.9", "ICD-10-CM")],
)  # fmt: skip
def test_synonym_system_tells_hcpcs_from_undotted_icd(code: str, system: str) -> None:
    assert synonym_system(get_catalog(), code) == system


#: Codes whose official wording and synonyms make the small dictionary below, plus distractors.
_CODES = (
    "E78.5",
    "E03.9",
    "E05.90",
    "R73.03",
    "E87.1",
    "R06.2",
    "E66.9",
    "F41.9",
    "Z87.891",
    "Z79.01",
    "Z79.4",
    "K64.9",
    "K58.9",
    "J18.9",
    "J44.1",
    "J44.9",
    "R11.2",
    "Z95.1",
    "L82.1",
    "L57.0",
    "D50.9",
    "K90.0",
    "K20.90",
    "R31.9",
    "I10",
    "E11.9",
    "G2211",
)


@pytest.fixture(scope="module")
def matcher() -> PhraseMatcher:
    catalog = get_catalog()
    entries = []
    for code in _CODES:
        system = _system(catalog, code)
        e = catalog.get(system, code)
        assert e is not None and e.billable, code
        entries.append((system, e.code, True, e.description, tuple(e.inclusion_terms), ()))
    synonyms = [
        (_system(catalog, code), catalog.normalize(_system(catalog, code), code), phrase)
        for code, phrase in synonym_rows()
        if code in _CODES
    ]
    # A small dictionary has tiny IDFs: keep every phrase.
    return PhraseMatcher(min_phrase_weight=0.0).fit(build_phrases(entries, {}, synonyms))


def _found(m: PhraseMatcher, text: str) -> dict[str, str]:
    """code → matched text, for strong (full-coverage) matches; text is one sentence."""
    out = {}
    for x in m.match(tokenize(text), [(0, len(text))]).values():
        if x.coverage >= 0.999:
            assert 0 <= x.start < x.end <= len(text)
            out[m.codes_[x.code_index][1]] = text[x.start : x.end]
    return out


@pytest.mark.parametrize(
    ("text", "code", "evidence"),
    [
        # lay and clinical synonyms
        ("Longstanding dyslipidemia, on diet.", "E78.5", "dyslipidemia"),
        ("Underactive thyroid, on levothyroxine.", "E03.9", "Underactive thyroid"),
        ("Overactive thyroid diagnosed in May.", "E05.90", "Overactive thyroid"),
        ("Prediabetes, diet counselling given.", "R73.03", "Prediabetes"),
        ("Hyponatremia improving with fluid restriction.", "E87.1", "Hyponatremia"),
        ("Expiratory wheeze bilaterally.", "R06.2", "wheeze"),
        ("Obese, counselled on weight.", "E66.9", "Obese"),
        ("Anxiety, stable.", "F41.9", "Anxiety"),
        ("Former smoker; quit smoking in 2010.", "Z87.891", "quit smoking"),
        ("Chronic anticoagulation with apixaban.", "Z79.01", "Chronic anticoagulation"),
        ("Bleeding hemorrhoids after straining.", "K64.9", "Bleeding hemorrhoids"),
        ("Irritable bowel, worse with stress.", "K58.9", "Irritable bowel"),
        ("Community-acquired pneumonia, on antibiotics.", "J18.9", "Community-acquired pneumonia"),
        # abbreviations
        ("Admitted with AECOPD.", "J44.1", "AECOPD"),
        ("N&V since last night.", "R11.2", "N&V"),
        ("He is s/p CABG.", "Z95.1", "s/p CABG"),
        ("Irritated SK on the back.", "L82.1", "SK"),
        ("Two AKs on the scalp treated.", "L57.0", "AKs"),
        # British spellings against ICD-10-CM's US wording
        ("Iron deficiency anaemia secondary to blood loss.", "D50.9", "Iron deficiency anaemia"),
        ("Coeliac disease, gluten free.", "K90.0", "Coeliac disease"),
        ("Oesophagitis on endoscopy.", "K20.90", "Oesophagitis"),
        ("Visible haematuria for two days.", "R31.9", "haematuria"),
        # HCPCS G2211, CMS wording
        (
            "I serve as the continuing focal point for all needed health care services.",
            "G2211",
            "continuing focal point for all needed health care services",
        ),
    ],
)
def test_synonyms_match_notes_with_exact_evidence(
    matcher: PhraseMatcher, text: str, code: str, evidence: str
) -> None:
    found = _found(matcher, text)
    assert code in found, found
    assert found[code] == evidence


def test_synonyms_do_not_fire_on_unrelated_text(matcher: PhraseMatcher) -> None:
    assert _found(matcher, "Ankle swelling after a fall; x-ray negative.") == {}
