"""Passwords: Argon2id with the OWASP profile (19 MiB, 2 iterations, p=1)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from chrgraph.text_rules import text_problem

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's lowest score we accept (0..4: 3 is "safely unguessable", about 10^10 guesses),
# and the prefix it judges: it refuses longer input, and more characters only help.
MIN_SCORE = 3
SCORED_PREFIX = 72
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


def password_problem(password: str, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why a new password is refused (None: it is accepted). The one rule for every new
    password (accepting an invitation, the support password, a change, a reset): 12 to
    256 characters, clean text, and not easily guessed: zxcvbn scores its first 72
    characters at least 3, with the user's own name and email counting as known words
    (`user_inputs`). The message carries zxcvbn's advice."""
    if len(password) < MIN_LENGTH:
        return f"Passwords have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Passwords have at most {MAX_LENGTH} characters."
    # What `login` refuses must not be accepted as a password: it could never log in.
    if (problem := text_problem(password, MAX_LENGTH)) is not None:
        return problem
    words = [word for word in user_inputs if word]
    estimate = zxcvbn(password[:SCORED_PREFIX], user_inputs=words)
    if estimate["score"] >= MIN_SCORE:
        return None
    feedback = estimate.get("feedback") or {}
    advice = [str(feedback.get("warning") or "").strip(), *(str(s).strip() for s in feedback.get("suggestions", []))]
    advice_text = " ".join(a if a.endswith(".") else a + "." for a in advice if a)
    return ("That password is too easy to guess. " + advice_text).strip()
