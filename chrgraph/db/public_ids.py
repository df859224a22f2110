"""Public identifiers: what a global id carries instead of the database key.

A database key is sequential and shared by every organization of the server: an id
holding it would tell a clinic how many records other clinics create between two of its
own. Every record that a global id names has a `public_id` instead: 16 random bytes
(128 bits, from the operating system's CSPRNG) in lowercase base32 without padding,
26 characters. Unique on the server; looked up through its unique index."""

from __future__ import annotations

import base64
import secrets

from tortoise import fields

LENGTH = 26
_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def new_public_id() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def is_public_id(text: str) -> bool:
    """Whether `text` has the shape of a public id (a cheap check before any lookup)."""
    return len(text) == LENGTH and text.isascii() and _ALPHABET.issuperset(text)


def global_id(type_name: str, public_id: str) -> str:
    """The client-facing id of a record: base64 of "Type:<public id>", as Relay writes it."""
    return base64.b64encode(f"{type_name}:{public_id}".encode()).decode("ascii")


def public_id_field() -> fields.CharField:
    """The `public_id` column of a model that a global id names, set on creation."""
    return fields.CharField(max_length=LENGTH, unique=True, default=new_public_id)
