"""chartcoder: ranked ICD-10-CM and CPT/HCPCS code suggestions with evidence."""

__version__ = "0.1.0"
