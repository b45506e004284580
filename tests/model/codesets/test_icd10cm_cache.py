"""The ICD-10-CM row cache: same entries with or without it; a broken cache is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.codesets import Catalog
from model.codesets.icd10cm import (
    CACHE_ENV,
    _cache_path,
    _read_cache,
    _source_files,
    data_dir,
    load_icd10cm,
)


@pytest.mark.slow
def test_parse_matches_cache_and_corrupt_cache_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Catalog
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    parsed = load_icd10cm()  # empty cache dir: parses the XML and writes the cache
    (cache_file,) = tmp_path.glob("icd10cm-*.marshal")
    cached = load_icd10cm()
    assert list(cached.entries) == list(parsed.entries)
    assert cached.entries == parsed.entries
    assert cached.children == parsed.children and cached.groups == parsed.groups
    assert parsed.entries["E119"] == catalog.get("ICD-10-CM", "E11.9")
    cache_file.write_bytes(b"not marshal data")
    assert _read_cache(cache_file) is None


def test_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    assert _cache_path(*_source_files(data_dir())) is None


def test_cache_path_follows_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    path = _cache_path(*_source_files(data_dir()))
    assert path is not None and path.parent == tmp_path / "c"
