"""Instants and calendar dates as people and programs write them, made safe to store.

An instant is ISO 8601 with its UTC offset (`2027-01-11T17:00:00Z`,
`2027-01-11T12:00:00-05:00`, `…+05:30`): it means that moment, and it is converted to
UTC before anything stores, compares or filters on it, so two spellings of one moment
are one value on every database. Dates and instants lie between 1900-01-01 and
2199-12-31 (instants in UTC): outside that, a year like 9999 overflows date arithmetic
and means nothing to a clinic.

The GraphQL scalars, the command line and the importers parse through here."""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
_FIRST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
_END_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
_LONGEST = 64  # far longer than any ISO 8601 instant; a longer text is not one

RANGE_MESSAGE = f"Dates and instants lie between {EARLIEST} and {LATEST} (instants in UTC)."
INSTANT_FORMAT = "An instant is ISO 8601 with its UTC offset, e.g. 2027-01-11T17:00:00Z or 2027-01-11T12:00:00-05:00."
DATE_FORMAT = "A date is written YYYY-MM-DD."
MONTH_FORMAT = "A month is written YYYY-MM."


class OutOfRange(ValueError):
    """A well-formed date or instant outside 1900-01-01 … 2199-12-31."""

    def __init__(self) -> None:
        super().__init__(RANGE_MESSAGE)


def to_utc(value: datetime, *, naive_is_utc: bool = False) -> datetime:
    """`value` as an aware UTC datetime within the supported range.

    A naive value (no offset) is refused unless `naive_is_utc`: a clock time without
    its offset names a different moment in every time zone. ValueError (OutOfRange for
    a well-formed value outside the range)."""
    if value.utcoffset() is None:
        if not naive_is_utc:
            raise ValueError(INSTANT_FORMAT)
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight by its offset
        raise OutOfRange() from None
    if not _FIRST_INSTANT <= utc < _END_INSTANT:
        raise OutOfRange()
    return utc


def parse_instant(text: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 instant as an aware UTC datetime (see `to_utc`). With `naive_is_utc`
    a date alone (`2027-01-11`) is that day's first instant in UTC."""
    if not isinstance(text, str) or len(text) > _LONGEST:
        raise ValueError(INSTANT_FORMAT)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(INSTANT_FORMAT) from None
    return to_utc(value, naive_is_utc=naive_is_utc)


def check_date(value: date) -> date:
    """`value` if it lies within the supported range, else OutOfRange."""
    if not EARLIEST <= value <= LATEST:
        raise OutOfRange()
    return value


def parse_date(text: str) -> date:
    """An ISO 8601 calendar date (`YYYY-MM-DD`) within the supported range."""
    if not isinstance(text, str) or len(text) > _LONGEST:
        raise ValueError(DATE_FORMAT)
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(DATE_FORMAT) from None
    return check_date(value)


def parse_month(text: str) -> date:
    """`YYYY-MM` as the month's first day, within the supported range."""
    digits = text[:4] + text[5:] if isinstance(text, str) and len(text) == 7 and text[4] == "-" else ""
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(MONTH_FORMAT)
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError(MONTH_FORMAT)
    if year == 0:
        raise OutOfRange()
    return check_date(date(year, month, 1))
