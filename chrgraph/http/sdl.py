"""`GET /graphql/schema.graphql`: the running schema's SDL, for code generators and for
anyone reading the API before they hold credentials. The text is the one committed as
`schema.graphql` (a test compares them); it is built once, at start."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

SDL_PATH = "/graphql/schema.graphql"


def sdl_route(sdl: str) -> Route:
    """A route answering `sdl` as UTF-8 text to GET and HEAD, without credentials."""
    body = sdl if sdl.endswith("\n") else sdl + "\n"

    async def schema_sdl(request: Request) -> PlainTextResponse:
        return PlainTextResponse(body)

    return Route(SDL_PATH, schema_sdl, methods=["GET", "HEAD"])
