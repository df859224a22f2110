"""A patient's postal address and health card issuer: Canadian provinces and territories
by their two-letter postal abbreviations, postal codes as Canada Post shapes them."""

from __future__ import annotations

import re
from typing import Any

from chrgraph.resolvers.errors import ErrorCode
from chrgraph.resolvers.validation import Errors

# The provinces and territories by their Canada Post abbreviation.
PROVINCES = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NS": "Nova Scotia",
    "NT": "Northwest Territories",
    "NU": "Nunavut",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
    "YT": "Yukon",
}
PROVINCE_LIST = ", ".join(PROVINCES)
# The first letter of a postal code names its province or territory (X: both NT and NU).
_REGIONS = {
    "A": ("NL",),
    "B": ("NS",),
    "C": ("PE",),
    "E": ("NB",),
    "G": ("QC",),
    "H": ("QC",),
    "J": ("QC",),
    "K": ("ON",),
    "L": ("ON",),
    "M": ("ON",),
    "N": ("ON",),
    "P": ("ON",),
    "R": ("MB",),
    "S": ("SK",),
    "T": ("AB",),
    "V": ("BC",),
    "X": ("NT", "NU"),
    "Y": ("YT",),
}
# Letter, digit, letter, digit, letter, digit; D, F, I, O, Q and U are never used.
_POSTAL_CODE = re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d")
MAX_LINES, LINE_LENGTH = 3, 100
_VERSION = re.compile(r"[A-Z]{1,2}")


def province(errors: Errors, value: str | None, *field: str, required: bool = False) -> str | None:
    """A province or territory code (`on` and ` ON ` are ON), or None when absent."""
    value = errors.text(value, *field, max_length=20, required=required)
    if not value:
        return None
    code = value.upper()
    if code not in PROVINCES:
        errors.add(ErrorCode.INVALID_INPUT, f"Not a Canadian province or territory code ({PROVINCE_LIST}).", *field)
        return None
    return code


def postal_code(errors: Errors, value: str | None, *field: str) -> str | None:
    """`A1A 1A1` (spaces and case are free in the input)."""
    value = errors.text(value, *field, max_length=20, required=True)
    if not value:
        return None
    compact = re.sub(r"[\s\-]", "", value).upper()
    if not _POSTAL_CODE.fullmatch(compact):
        errors.add(
            ErrorCode.INVALID_INPUT,
            "Not a Canadian postal code (letter digit letter, digit letter digit, e.g. K1A 0B1).",
            *field,
        )
        return None
    return f"{compact[:3]} {compact[3:]}"


def health_card_version(errors: Errors, value: str | None) -> str | None:
    """The card's version code: one or two letters (Ontario prints them after the number)."""
    value = errors.text(value, "healthCardVersion", max_length=10)
    if not value:
        return None
    code = value.upper()
    if not _VERSION.fullmatch(code):
        errors.add(ErrorCode.INVALID_INPUT, "A health card version code is one or two letters.", "healthCardVersion")
        return None
    return code


def address_columns(errors: Errors, value: dict[str, Any] | None) -> dict[str, Any]:
    """The address columns of a patient from an address input (every one None when the
    input is null: the address is cleared). An address is whole: one to three lines, a
    city, a province or territory and a postal code of that province."""
    columns: dict[str, Any] = {
        "address_lines": None,
        "address_city": None,
        "address_province": None,
        "address_postal_code": None,
    }
    if value is None:
        return columns
    lines = [
        errors.text(line, "address", "lines", str(i), max_length=LINE_LENGTH)
        for i, line in enumerate(value.get("lines") or [])
    ]
    kept = [line for line in lines if line]
    if None in lines:
        pass  # a line was refused: its own error says why
    elif any(any(c in line for c in "\r\n") for line in kept):
        errors.add(ErrorCode.INVALID_INPUT, "An address line holds no line break.", "address", "lines")
    elif not kept or len(kept) > MAX_LINES:
        errors.add(ErrorCode.INVALID_INPUT, f"An address has 1 to {MAX_LINES} lines.", "address", "lines")
    city = errors.text(value.get("city"), "address", "city", max_length=100, required=True)
    code = province(errors, value.get("province"), "address", "province", required=True)
    postal = postal_code(errors, value.get("postal_code"), "address", "postalCode")
    if code and postal and code not in _REGIONS.get(postal[0], ()):
        errors.add(
            ErrorCode.INVALID_INPUT,
            f"The postal code {postal} is not one of {PROVINCES[code]} (its first letter names the province).",
            "address",
            "postalCode",
        )
    columns.update(address_lines="\n".join(kept), address_city=city, address_province=code, address_postal_code=postal)
    return columns


def address_of(row: Any) -> dict[str, Any] | None:
    """The patient's address as its parts, or None."""
    if row.address_lines is None:
        return None
    return {
        "lines": row.address_lines.split("\n"),
        "city": row.address_city,
        "province": row.address_province,
        "postal_code": row.address_postal_code,
    }
