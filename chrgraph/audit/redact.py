"""Secrets never reach audit events or API logs."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"(password|secret|token|private|signature|^key$|credential)", re.I)
# Inline string arguments in a query text: `password: "..."`.
_INLINE = re.compile(r'(?P<name>\b\w*(?:password|secret|token|private)\w*\s*:\s*)"(?:[^"\\]|\\.)*"', re.I)


def is_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_query(text: str) -> str:
    return _INLINE.sub(lambda m: m.group("name") + f'"{REDACTED}"', text)


def storable(value: Any) -> Any:
    """Text any database can hold: NUL and lone surrogates (which a hostile request may
    carry, and PostgreSQL refuses) become U+FFFD, recursively."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if _has_surrogate(value):
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
