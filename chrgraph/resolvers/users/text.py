"""Folded text for case- and accent-insensitive search on every database."""

from __future__ import annotations

import unicodedata

from chrgraph.email_identity import lookup_key


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def search_key(*parts: str | None) -> str:
    return fold(" ".join(p for p in parts if p))[:600]


def normalize_email(email: str) -> str:
    """The key a login account is found by: NFKC, then case folding (logins are
    case-insensitive; chrgraph/email_identity.py)."""
    return lookup_key(email)
