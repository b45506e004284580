"""National Provider Identifier check digit (45 CFR 162.406; ISO/IEC 7812 Luhn).

An NPI is 10 digits; the last is a Luhn check digit computed over the card-issuer prefix
`80840` followed by the first nine digits. `1234567893` is the example CMS publishes.
"""

from __future__ import annotations

NPI_PREFIX = "80840"


def luhn_check_digit(payload: str) -> int:
    """Check digit that makes `payload + digit` pass the Luhn test."""
    total = 0
    # Double every second digit from the right of the payload (the check digit will be rightmost).
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_problem(npi: str) -> str | None:
    """None when `npi` is a valid NPI, else why not (for the edit message)."""
    if len(npi) != 10 or not npi.isdigit():
        return f"NPI {npi!r} must be exactly 10 digits"
    if npi[0] not in "12":
        return f"NPI {npi!r} must start with 1 (individual) or 2 (organization)"
    expected = luhn_check_digit(NPI_PREFIX + npi[:9])
    if int(npi[9]) != expected:
        return f"NPI {npi!r} fails the Luhn check digit with prefix 80840 (expected {expected})"
    return None


def is_valid_npi(npi: str) -> bool:
    return npi_problem(npi) is None
