"""Curated CPT/HCPCS tables and the loaders for licensed CPT and CMS HCPCS files."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.codesets import (
    CPT_FILE_ENV,
    HCPCS_FILE_ENV,
    Catalog,
    CodeSetDataError,
    get_catalog,
    load_cpt_file,
    load_hcpcs_file,
)
from model.codesets.curated import curated_cpt, curated_hcpcs, parse_curated
from model.codesets.icd10cm_rules import load_restrictions
from model.codesets.search import load_synonyms

EM_CODES = (
    [f"9920{i}" for i in range(2, 6)]
    + [f"9921{i}" for i in range(1, 6)]
    + [f"9928{i}" for i in range(1, 6)]
    + ["99221", "99222", "99223", "99231", "99232", "99233", "99238", "99239"]
    + [f"9938{i}" for i in range(1, 8)]
    + [f"9939{i}" for i in range(1, 8)]
)
NAMED_PROCEDURES = [
    "36415", "80053", "85025", "83036", "80061", "81001", "71046", "93000", "96372", "90471",
    "11102", "17110", "20610", "12001", "69210", "45378", "43239", "10060", "99406", "94010",
    "94640", "76700", "74177", "70450", "72148", "73030", "93306", "93880", "95004", "87880",
    "87804", "86580", "84443", "82947",
]  # fmt: skip
NAMED_HCPCS = [
    "G0438", "G0439", "G0402", "G0444", "G0442", "G0443", "G2211", "G0008", "G0009", "J3420",
    "J1100", "J0696", "J1885", "J7030", "J7050", "J2550", "J1030", "J1040", "J0585", "J3301",
    "A4550", "A4253", "A4259", "E0114", "E0601", "L3908", "L4361", "Q2035", "J7613", "J7620",
]  # fmt: skip


def test_curated_cpt_covers_em_and_common_procedures() -> None:
    entries = {e.code: e for e in curated_cpt()}
    missing = [c for c in EM_CODES + NAMED_PROCEDURES if c not in entries]
    assert not missing
    procedures = [e for e in entries.values() if e.category != "evaluation_management"]
    assert len(procedures) >= 120
    assert all(not e.official and e.billable for e in entries.values())
    assert all(0 < len(e.description) <= 120 for e in entries.values())


def test_curated_hcpcs_has_at_least_40_codes() -> None:
    entries = {e.code: e for e in curated_hcpcs()}
    assert len(entries) >= 40
    assert not [c for c in NAMED_HCPCS if c not in entries]
    assert all(not e.official for e in entries.values())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("9921\tLabel\tlaboratory\t", "is not a CPT code"),
        ("99213\t\tlaboratory\t", "label must be"),
        ("99213\tLabel\tsurgery_of_everything\t", "category 'surgery_of_everything'"),
        ("99213\tLabel\tlaboratory\tOffice-New", "em_family"),
        ("99213\tLabel\tlaboratory", "expected 4 tab-separated fields"),
    ],
)
def test_curated_table_errors_name_line_and_value(row: str, message: str) -> None:
    text = "code\tlabel\tcategory\tem_family\n" + row + "\n"
    with pytest.raises(CodeSetDataError, match=message) as err:
        parse_curated(text, "cpt_curated.tsv", "CPT", retired=False)
    assert "cpt_curated.tsv line 2" in str(err.value)


def test_curated_duplicate_and_missing_term_date_are_rejected() -> None:
    text = "code\tlabel\tcategory\tem_family\n99213\tA\tlaboratory\t\n99213\tB\tlaboratory\t\n"
    with pytest.raises(CodeSetDataError, match="duplicate code 99213"):
        parse_curated(text, "x.tsv", "CPT", retired=False)
    text = "code\tlabel\tcategory\tem_family\tterminated\n99441\tA\ttelehealth\t\t\n"
    with pytest.raises(CodeSetDataError, match="terminated date is required"):
        parse_curated(text, "x.tsv", "CPT", retired=True)
    with pytest.raises(CodeSetDataError, match="missing column"):
        parse_curated("code\tlabel\n1\t2\n", "x.tsv", "CPT", retired=False)


def test_rule_tables_are_validated() -> None:
    good = "first\tlast\tsex\tage_min\tage_max\tedit\tnote\n"
    with pytest.raises(CodeSetDataError, match="sex 'X'"):
        load_restrictions(good + "N40\tN53\tX\t\t\tmale\tx\n")
    with pytest.raises(CodeSetDataError, match="sorts after"):
        load_restrictions(good + "N53\tN40\tM\t\t\tmale\tx\n")
    with pytest.raises(CodeSetDataError, match="age '130'"):
        load_restrictions(good + "O00\tO9A\tF\t12\t130\tmaternity\tx\n")
    with pytest.raises(CodeSetDataError, match="header"):
        load_restrictions("")
    with pytest.raises(CodeSetDataError, match="one lower-case word"):
        load_synonyms("term\texpansion\nT2DM\ttype 2 diabetes\n")
    assert load_synonyms("term\texpansion\nhtn\thypertension\n") == {"htn": "hypertension"}


def test_licensed_cpt_file_replaces_labels_and_adds_codes(cpt_file: Path) -> None:
    entries = {e.code: e for e in load_cpt_file(cpt_file)}
    assert set(entries) == {"99213", "99214", "0001U", "27096"}
    assert entries["99213"].official
    assert entries["0001U"].category == "other"
    assert entries["27096"].category == "surgery"


def test_official_catalog_merges_files_over_curated(official_catalog: Catalog) -> None:
    visit = official_catalog.get("CPT", "99213")
    assert visit is not None and visit.official
    assert visit.description.startswith("Test descriptor")
    assert visit.em_family == "office_established"  # curated metadata kept
    assert not official_catalog.get("CPT", "99215").official  # type: ignore[union-attr]
    assert official_catalog.get("CPT", "0001U") is not None
    awv = official_catalog.get("HCPCS", "G0439")
    assert awv is not None and awv.official
    assert awv.description == (
        "Annual wellness visit, includes a personalized prevention plan of service (pps), "
        "subsequent visit"
    )
    assert official_catalog.get("HCPCS", "25") is None  # modifiers are skipped
    assert official_catalog.release["CPT"] == "licensed file licensed_cpt.csv"
    assert official_catalog.release["HCPCS"].startswith("CMS file HCPC2026_JAN_ANWEB.csv")


def test_cpt_file_without_header_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "cpt.csv"
    path.write_text("99213,Test descriptor A\n99214,Test descriptor B\n", encoding="utf-8")
    assert [e.code for e in load_cpt_file(path)] == ["99213", "99214"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,descriptor\n9921,Test\n", "line 2: code '9921' is not a CPT code"),
        ("code,descriptor\n99213,\n", "line 2: descriptor of 99213 is empty"),
        ("code,descriptor,terminated\n99213,Test,31.12.2025\n", "line 2: terminated"),
        ("cpt,text\n99213,Test\n", "lacks a column"),
        ("", "is empty"),
    ],
)
def test_bad_cpt_file_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cpt.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodeSetDataError, match=message):
        load_cpt_file(path)


def test_missing_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(CodeSetDataError, match="does not exist"):
        load_cpt_file(tmp_path / "nope.csv")
    with pytest.raises(CodeSetDataError, match="does not exist"):
        load_hcpcs_file(tmp_path / "nope.csv")


def test_bad_hcpcs_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("HCPC,LONG DESCRIPTION,TERM DT\nZZ123,Bad,\n", encoding="utf-8")
    with pytest.raises(CodeSetDataError, match="line 2: HCPC 'ZZ123'"):
        load_hcpcs_file(path)
    path.write_text("CODE X,TEXT\nG0439,Visit\n", encoding="utf-8")
    with pytest.raises(CodeSetDataError, match="lacks a column"):
        load_hcpcs_file(path)


def test_env_vars_select_files_when_catalog_is_built(
    monkeypatch: pytest.MonkeyPatch,
    cpt_file: Path,
    hcpcs_file: Path,
    catalog: Catalog,
    official_catalog: Catalog,
) -> None:
    monkeypatch.setenv(CPT_FILE_ENV, str(cpt_file))
    monkeypatch.setenv(HCPCS_FILE_ENV, str(hcpcs_file))
    loaded = get_catalog()
    assert loaded is official_catalog  # read at call time; one build per file pair
    assert loaded.get("CPT", "0001U") is not None
    monkeypatch.delenv(CPT_FILE_ENV)
    monkeypatch.delenv(HCPCS_FILE_ENV)
    assert get_catalog() is catalog
