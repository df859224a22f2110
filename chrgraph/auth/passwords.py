"""Passwords: Argon2id with the OWASP profile (19 MiB, 2 iterations, p=1)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chrgraph.text_rules import text_problem

MIN_LENGTH = 12
MAX_LENGTH = 256
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user is unknown, so timing does not tell.
_DUMMY = _hasher.hash("chrgraph-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"Passwords have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Passwords have at most {MAX_LENGTH} characters."
    # What `login` refuses must not be accepted as a password: it could never log in.
    return text_problem(password, MAX_LENGTH)
