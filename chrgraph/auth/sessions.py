"""User session tokens (§2.2): opaque, told apart from JWTs by their shape."""

from __future__ import annotations

import re

from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.principals import Principal

SESSION_SHAPE = re.compile(r"^chs_[A-Za-z0-9_-]{43}$")


def looks_like_session(token: str) -> bool:
    return bool(SESSION_SHAPE.match(token))


async def verify_session_token(token: str) -> Principal:
    # No user sessions exist until the accounts issue (#3) adds login; until then
    # every session-shaped token is, truthfully, unknown.
    raise AuthError(AuthReason.INVALID_SESSION)
