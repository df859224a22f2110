"""The TOTP second factor (RFC 6238 as authenticator apps expect it: SHA-1, 30-second
steps, 6 digits), its recovery codes and login challenges.

A code is checked against the current and the previous step only, and a step is
accepted once per user (the caller records the step it accepted: `TwoFactor.last_used_step`).
The secret is sealed at rest with the API log's key ring (chrgraph/db/log_keys.py),
bound to the user's public id; recovery codes and challenge tokens are random with 80
and 256 bits and kept as SHA-256 digests (too many guesses to try offline, too few
attempts online: wrong codes count in the login throttle)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp

from chrgraph.db import log_keys
from chrgraph.db.models import TwoFactor

STEP_SECONDS = 30
DIGITS = 6
CHALLENGE_TTL = timedelta(minutes=5)
# Wrong codes a challenge takes before it is void (each counts in the login throttle too).
CHALLENGE_ATTEMPTS = 5
RECOVERY_CODES = 10
ISSUER = "chrgraph"

_CODE = re.compile(r"^[0-9]{6}$")
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_RECOVERY = re.compile(r"^[A-Z0-9]{16}$")
_CHALLENGE_SHAPE = re.compile(r"^chc_[A-Za-z0-9_-]{43}$")


def new_secret() -> str:
    """A 160-bit secret, base32 (what authenticator apps read)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The `otpauth://totp/…` URI an authenticator app reads from the QR code."""
    # A colon separates issuer and account in the label: keep it out of the issuer.
    clean = issuer.replace(":", " ").strip() or ISSUER
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=clean)


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document (black on white, no XML declaration)."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, border=4)


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def looks_like_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None


def matching_step(secret: str, code: str, at: datetime, after: int | None) -> int | None:
    """The time step (current or previous) whose code `code` is, if it is later than
    `after` (the last step accepted for the user); None otherwise."""
    if not looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = step_at(at)
    found = None
    for step in (now, now - 1):  # both compared, whatever the first gives
        if hmac.compare_digest(totp.generate_otp(step), code) and (after is None or step > after):
            found = step if found is None else max(found, step)
    return found


def seal_secret(user_public_id: str, secret: str) -> tuple[str, str]:
    """(key id, sealed secret) under the newest key of the log key ring."""
    return log_keys.current.get().seal(user_public_id, secret.encode("ascii"), log_keys.TOTP_PURPOSE)


def open_secret(user_public_id: str, factor: TwoFactor) -> str:
    return log_keys.open_content(user_public_id, factor.secret_key, factor.secret, log_keys.TOTP_PURPOSE).decode(
        "ascii"
    )


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (80 bits), shown as `XXXX-XXXX-XXXX-XXXX`."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def normalized_recovery_code(code: str) -> str | None:
    """A recovery code as stored (dashes and spaces dropped, upper case), or None when
    it cannot be one."""
    plain = re.sub(r"[\s-]", "", code[:64]).upper()
    return plain if _RECOVERY.fullmatch(plain) else None


def recovery_hash(user_public_id: str, normalized: str) -> str:
    return hashlib.sha256(f"chrgraph recovery code:{user_public_id}:{normalized}".encode()).hexdigest()


def new_challenge_token() -> tuple[str, str]:
    token = "chc_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return token, challenge_hash(token)


def looks_like_challenge(token: str) -> bool:
    return _CHALLENGE_SHAPE.fullmatch(token) is not None


def challenge_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def enrolled(user_id: int) -> bool:
    """Whether the user has a second factor turned on."""
    return await TwoFactor.filter(user_id=user_id, enabled_at__isnull=False).exists()
