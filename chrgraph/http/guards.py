"""The first two HTTP checks, before anyone is authenticated: a body or headers
over their limit (413 / 431), then a content type that is neither JSON nor GraphQL
multipart (415). The body is read here, once, and left on the scope."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from chrgraph.http.answers import error_body, send_json
from chrgraph.http.scope import BODY, GRAPHQL_PATH, header
from chrgraph.settings import Settings

JSON_TYPES = ("application/json", "application/graphql-response+json")


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))
        if header_bytes > self.settings.max_header_bytes:
            await send_json(send, 431, error_body("Request headers are too large.", "HEADERS_TOO_LARGE"))
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        multipart = ctype == "multipart/form-data"
        limit = self.settings.max_multipart_body_bytes if multipart else self.settings.max_json_body_bytes
        declared = header(scope, b"content-length")
        # isdigit() alone also takes "²" and other digits int() refuses.
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            await send_json(send, 413, error_body("Request body is too large.", "PAYLOAD_TOO_LARGE"))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_json(send, 413, error_body("Request body is too large.", "PAYLOAD_TOO_LARGE"))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        if ctype not in JSON_TYPES and not multipart:
            await send_json(
                send,
                415,
                error_body("Send application/json, or multipart/form-data for uploads.", "UNSUPPORTED_MEDIA_TYPE"),
            )
            return
        scope[BODY] = b"".join(chunks)
        await self.app(scope, receive, send)
