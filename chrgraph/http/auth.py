"""Authentication (the third HTTP check, after body size and content type): credentials
that were sent and fail are a 401 here; otherwise the principal (or None for an anonymous
request) goes on the scope."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from chrgraph.auth.consumers import claimed_issuer, looks_like_jwt, verify_consumer_token
from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.principals import Principal
from chrgraph.auth.sessions import looks_like_session, verify_session_token
from chrgraph.http.answers import error_body, send_json
from chrgraph.http.scope import GRAPHQL_PATH, PRINCIPAL, REQUEST_ID, header
from chrgraph.telemetry import auth_refusals, log


def unauthorized_headers(reason: AuthReason) -> list[tuple[bytes, bytes]]:
    if reason is AuthReason.MISSING_CREDENTIALS:
        return [(b"www-authenticate", b"Bearer")]
    return [(b"www-authenticate", b'Bearer error="invalid_token"')]


async def send_unauthorized(send: Send, error: AuthError) -> None:
    body = error_body(error.message, "UNAUTHENTICATED", reason=error.reason.value)
    await send_json(send, 401, body, unauthorized_headers(error.reason))


async def authenticate(authorization: str) -> Principal:
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise AuthError(AuthReason.MALFORMED_TOKEN)
    if looks_like_jwt(value):
        return await verify_consumer_token(value)
    if looks_like_session(value):
        return await verify_session_token(value)
    raise AuthError(AuthReason.MALFORMED_TOKEN)


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        if authorization is None:
            scope[PRINCIPAL] = None
            await self.app(scope, receive, send)
            return
        try:
            scope[PRINCIPAL] = await authenticate(authorization)
        except AuthError as error:
            # Never the token itself: the reason, where it came from, and the issuer a
            # JWT claims when it is a clean string (quoted: it is the caller's text).
            client = scope.get("client") or ("?", 0)
            _, _, token = authorization.partition(" ")
            issuer = claimed_issuer(token.strip()) if looks_like_jwt(token.strip()) else None
            log.warning(
                "auth refused reason=%s client=%s iss=%s request_id=%s",
                error.reason.value,
                client[0],
                json.dumps(issuer, ensure_ascii=True) if issuer is not None else "-",
                scope.get(REQUEST_ID, "-"),
            )
            auth_refusals.add(1, {"reason": error.reason.value})
            await send_unauthorized(send, error)
            return
        await self.app(scope, receive, send)
