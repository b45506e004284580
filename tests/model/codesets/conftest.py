"""Fixtures for the code-set tests: one catalog per session, and small official-file fixtures.

The licensed-CPT fixture holds descriptors written for these tests (never AMA text).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from model.codesets import CPT_FILE_ENV, HCPCS_FILE_ENV, Catalog, get_catalog

LICENSED_CPT = """code,descriptor,terminated
99213,Test descriptor: established patient office visit,
99214,Test descriptor: established patient office visit (moderate),
0001U,Test descriptor: a proprietary lab analysis,
27096,Test descriptor: sacroiliac joint injection,2025-12-31
"""

# The CSV export of the CMS quarterly file: continuation rows (RECID 4), a modifier (RECID 7),
# a terminated code and a code that takes effect later.
CMS_HCPCS = "\n".join(
    [
        "HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT",
        'G0439,00100,3,"Annual wellness visit, includes a personalized prevention plan of",'
        "Annual wellness visit,20110101,20110101,",
        'G0439,00200,4,"service (pps), subsequent visit",,,,',
        "25,00100,7,Significant separately identifiable e/m service,Sig sep e/m ser,19920101,,",
        "G0436,00100,3,Smoking and tobacco cessation counseling visit for the asymptomatic "
        "patient,Tobacco-use counsel 3-10 min,20100101,20120101,20111231",
        "J9999,00100,3,Test drug introduced in a future quarter,Test drug,20990101,20990101,",
    ]
)


@pytest.fixture(scope="session")
def catalog() -> Iterator[Catalog]:
    """The process-wide catalog with curated CPT/HCPCS only (env overrides removed)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(CPT_FILE_ENV, raising=False)
        mp.delenv(HCPCS_FILE_ENV, raising=False)
        yield get_catalog()


@pytest.fixture(scope="session")
def cpt_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cpt") / "licensed_cpt.csv"
    path.write_text(LICENSED_CPT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def hcpcs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hcpcs") / "HCPC2026_JAN_ANWEB.csv"
    path.write_text(CMS_HCPCS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def official_catalog(cpt_file: Path, hcpcs_file: Path) -> Catalog:
    """The catalog with both official-file fixtures loaded (cached like any file pair)."""
    return get_catalog(cpt_file=cpt_file, hcpcs_file=hcpcs_file)
