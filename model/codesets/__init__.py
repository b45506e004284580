"""Code sets: ICD-10-CM (full CMS release), CPT (curated labels or a licensed file) and
HCPCS Level II (curated labels or the CMS quarterly file) behind one `Catalog` API.

    from model.codesets import get_catalog
    cat = get_catalog()                    # built once per process, on first call
    cat.get("ICD-10-CM", "e119").code      # 'E11.9'
    cat.validate("ICD-10-CM", "E11")       # [Problem('not_billable', ..., billable_children)]
    cat.search("type 2 diabetes without complications")[0].entry.code   # 'E11.9'

Importing this package is cheap: nothing is read until `get_catalog()` is called.
"""

from model.codesets.catalog import (
    CPT_FILE_ENV,
    CURATED_RELEASE,
    HCPCS_FILE_ENV,
    Catalog,
    build_catalog,
    get_catalog,
)
from model.codesets.curated import CodeSetDataError
from model.codesets.entry import (
    CPT,
    HCPCS,
    ICD10CM,
    SYSTEMS,
    CodeEntry,
    Problem,
    SearchHit,
    UnknownCodeError,
    canonical_system,
    clean_code,
)
from model.codesets.official import load_cpt_file, load_hcpcs_file

__all__ = [
    "CPT",
    "CPT_FILE_ENV",
    "CURATED_RELEASE",
    "HCPCS",
    "HCPCS_FILE_ENV",
    "ICD10CM",
    "SYSTEMS",
    "Catalog",
    "CodeEntry",
    "CodeSetDataError",
    "Problem",
    "SearchHit",
    "UnknownCodeError",
    "build_catalog",
    "canonical_system",
    "clean_code",
    "get_catalog",
    "load_cpt_file",
    "load_hcpcs_file",
]
