"""Why a request's credentials were refused; each is HTTP 401."""

from __future__ import annotations

from enum import Enum


class AuthReason(str, Enum):
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    MALFORMED_TOKEN = "MALFORMED_TOKEN"
    ALGORITHM_NOT_ALLOWED = "ALGORITHM_NOT_ALLOWED"
    UNKNOWN_OR_INACTIVE_ISSUER = "UNKNOWN_OR_INACTIVE_ISSUER"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    LIFETIME_TOO_LONG = "LIFETIME_TOO_LONG"
    NOT_YET_VALID = "NOT_YET_VALID"
    INVALID_SESSION = "INVALID_SESSION"


MESSAGES = {
    AuthReason.MISSING_CREDENTIALS: "Authentication required.",
    AuthReason.MALFORMED_TOKEN: "The bearer token is malformed.",
    AuthReason.ALGORITHM_NOT_ALLOWED: "Only RS512 tokens are accepted.",
    AuthReason.UNKNOWN_OR_INACTIVE_ISSUER: "The token's issuer is unknown or inactive.",
    AuthReason.BAD_SIGNATURE: "The token's signature does not verify.",
    AuthReason.TOKEN_EXPIRED: "The token has expired.",
    AuthReason.LIFETIME_TOO_LONG: "Tokens may be valid for at most 15 minutes.",
    AuthReason.NOT_YET_VALID: "The token is not valid yet.",
    AuthReason.INVALID_SESSION: "The session is invalid or has expired.",
}


class AuthError(Exception):
    def __init__(self, reason: AuthReason) -> None:
        super().__init__(reason.value)
        self.reason = reason

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]
