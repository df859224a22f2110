"""What any text the server accepts must be: valid Unicode, of bounded length, without
control characters (identifiers: none at all). Shared by input validation, passwords and
the token checks, so a value is never accepted by one and refused by another."""

from __future__ import annotations

import re


def text_problem(value: str, max_length: int) -> str | None:
    if len(value) > max_length:
        return f"At most {max_length} characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Not valid Unicode (lone surrogate)."
    if any(ord(c) < 32 and c not in "\t\r\n" for c in value):
        return "Control characters (NUL included) are not allowed."
    return None


# C0, DEL and C1 control characters: layout (tab, CR, LF) included.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def identifier_problem(value: object, max_length: int) -> str | None:
    """An identifier (an issuer, a key id): a string of valid Unicode, at most
    `max_length` characters, without any control character. Used where such a value
    arrives and where it is registered, so that one is never accepted by the other only."""
    if not isinstance(value, str):
        return "Not a string."
    problem = text_problem(value, max_length)
    if problem is None and _CONTROL.search(value):
        return "Control characters are not allowed."
    return problem
