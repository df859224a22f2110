"""String hygiene and formats, checked before anything reaches the database."""

from __future__ import annotations

import re
from typing import Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chrgraph.resolvers.errors import ErrorCode, UserError
from chrgraph.text_rules import identifier_problem, text_problem

PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class Errors:
    """Collects every problem of one input, so a caller sees them all at once."""

    def __init__(self) -> None:
        self.items: list[UserError] = []

    def add(self, code: ErrorCode, message: str, *field: str) -> None:
        self.items.append(UserError(code, message, tuple(field) or None))

    def __bool__(self) -> bool:
        return bool(self.items)

    # Typing only: a required value is typed `str`. It is None just when an error was
    # recorded, and every caller raises on recorded errors before using the value.
    @overload
    def text(self, value: str | None, *field: str, max_length: int = ..., required: Literal[True]) -> str: ...
    @overload
    def text(self, value: str | None, *field: str, max_length: int = ..., required: bool = ...) -> str | None: ...
    def text(self, value: str | None, *field: str, max_length: int = 200, required: bool = False) -> str | None:
        """Valid Unicode, no NUL or other C0 controls but tab/CR/LF, bounded length."""
        if value is None:
            if required:
                self.add(ErrorCode.INVALID_INPUT, "This field is required.", *field)
            return None
        problem = text_problem(value, max_length)
        if problem is None and required and not value.strip():
            problem = "This field is required."
        if problem:
            self.add(ErrorCode.INVALID_INPUT, problem, *field)
            return None
        return value.strip()

    @overload
    def identifier(self, value: str | None, *field: str, max_length: int, required: Literal[True]) -> str: ...
    @overload
    def identifier(self, value: str | None, *field: str, max_length: int, required: bool = ...) -> str | None: ...
    def identifier(self, value: str | None, *field: str, max_length: int, required: bool = False) -> str | None:
        """Like `text`, under `identifier_problem`'s rule."""
        value = self.text(value, *field, max_length=max_length, required=required)
        if value is not None and (problem := identifier_problem(value, max_length)):
            self.add(ErrorCode.INVALID_INPUT, problem, *field)
            return None
        return value


def valid_time_zone(name: str) -> bool:
    # IANA names are short; ZoneInfo would otherwise look for a file of any name (OSError).
    if text_problem(name, 64) is not None:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
