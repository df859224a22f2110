"""The portal's background image route, served without credentials."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chrgraph.resolvers.portal.images import served_background
from chrgraph.schema.portal.operations import IMAGE_PATH

# What the URL's token can be (`secrets.token_urlsafe`, within the column's 64): anything
# else is not found before it reaches the database (which would refuse NUL or the length).
_IMAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def portal_image(request: Request) -> Response:
    """The portal's background image, without credentials, at its unguessable URL; a
    replaced or removed image answers 404. Caches keep it at most an hour, so a removed
    image leaves them soon; revalidation by ETag costs a 304."""
    token = request.path_params["token"]
    image = await served_background(token) if _IMAGE_TOKEN.fullmatch(token) else None
    if image is None:
        return JSONResponse(
            {"errors": [{"message": "Not found.", "extensions": {"code": "NOT_FOUND"}}]},
            status_code=404,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
    etag = f'"{image.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(bytes(image.data), media_type=image.content_type, headers=headers)


image_route = Route(IMAGE_PATH + "{token}", portal_image)
