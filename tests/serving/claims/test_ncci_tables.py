"""NCCI/MUE/global-days tables: validated on load, dates honoured, codes in the curated set."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib.resources import files

import pytest

from serving.claims.catalog import CodeCatalog
from serving.claims.ncci import (
    NcciTables,
    TableError,
    parse_global_days,
    parse_mue,
    parse_ptp,
    parse_rules,
)
from serving.claims.npi import is_valid_npi, luhn_check_digit, npi_problem

HEADER = "column_1\tcolumn_2\teffective_date\tdeletion_date\tmodifier_indicator\trationale\n"


def test_packaged_tables_cover_only_curated_codes(tables: NcciTables, catalog: CodeCatalog) -> None:
    codes = {c for pair in tables.ptp for c in pair} | set(tables.mue) | set(tables.global_days)
    unknown = sorted(
        c for c in codes if catalog.get("HCPCS" if c[0].isalpha() else "CPT", c) is None
    )
    assert unknown == []
    assert tables.ptp and tables.mue and tables.global_days


def test_packaged_files_state_quarter_and_illustrative_status() -> None:
    data = files("serving.claims").joinpath("data")
    for name in ("ncci_ptp_practitioner.tsv", "mue_practitioner.tsv", "global_days.tsv"):
        head = data.joinpath(name).read_text()[:600]
        assert "CURATED SUBSET" in head and "ILLUSTRATIVE" in head, name
    assert "2025Q1" in data.joinpath("ncci_ptp_practitioner.tsv").read_text()[:400]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("9300\t93010\t19960101\t*\t0\tx", "'9300' is not a 5-character"),
        ("93000\t93010\t1996-01-01\t*\t0\tx", "date '1996-01-01' is not YYYYMMDD"),
        ("93000\t93010\t19960101\t*\t2\tx", "modifier indicator '2' is not one of 0, 1, 9"),
        ("93000\t93010", "expected 5+ columns"),
    ],
)
def test_bad_ptp_rows_are_refused_naming_the_value(row: str, message: str) -> None:
    with pytest.raises(TableError, match=re.escape(message)) as info:
        parse_ptp(HEADER + row + "\n", "ptp.tsv")
    assert "ptp.tsv:2" in str(info.value)


def test_bad_mue_and_global_days_rows_are_refused() -> None:
    with pytest.raises(TableError, match="MAI '4' is not one of 1, 2, 3"):
        parse_mue("code\tmue\tmai\n99213\t1\t4\n", "mue.tsv")
    with pytest.raises(TableError, match="MUE value 'x' is not an integer"):
        parse_mue("99213\tx\t2\n", "mue.tsv")
    with pytest.raises(TableError, match="global days '999'"):
        parse_global_days("code\tglobal_days\n11102\t999\n", "gd.tsv")


def test_rules_file_missing_keys_are_named() -> None:
    raw = json.loads(files("serving.claims").joinpath("data", "claim_rules.json").read_text())
    del raw["bypass_modifiers"], raw["us_states"]
    with pytest.raises(TableError, match="missing keys bypass_modifiers, us_states"):
        parse_rules(raw, "claim_rules.json")


def test_deleted_and_future_edits_are_inactive() -> None:
    edits = parse_ptp(
        HEADER + "93000\t93010\t20200101\t20240101\t0\tx\n80053\t82947\t20300101\t*\t1\ty\n",
        "ptp.tsv",
    )
    deleted, future = edits
    assert deleted.active_on(dt.date(2023, 12, 31)) and not deleted.active_on(dt.date(2024, 1, 1))
    assert not future.active_on(dt.date(2025, 3, 14))


def test_em_ranges(tables: NcciTables) -> None:
    assert tables.rules.is_em("99214") and tables.rules.is_em("99285")
    assert not tables.rules.is_em("96372") and not tables.rules.is_em("G0439")


def test_npi_luhn_with_80840_prefix() -> None:
    assert is_valid_npi("1234567893")  # the example NPI CMS publishes
    assert luhn_check_digit("80840123456789") == 3
    for i in range(10):
        digits = list("1234567893")
        digits[i] = str((int(digits[i]) + 1) % 10)
        assert not is_valid_npi("".join(digits)), "".join(digits)
    assert npi_problem("123456789") == "NPI '123456789' must be exactly 10 digits"
    assert "start with 1" in (npi_problem("3234567891") or "")
