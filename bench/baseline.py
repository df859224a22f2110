"""The bare baseline: Starlette answering every POST /graphql with constant JSON, run by
uvicorn with exactly the flags of the real server. It is the ceiling of this machine,
this Python and this HTTP stack; every scenario is reported as a fraction of it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"data":{"viewer":{"organization":{"id":"T3JnYW5pemF0aW9uOjE=","name":"Bench Clinic"}}}}'


async def graphql(request: Request) -> Response:
    await request.body()  # read what the client sent, as any endpoint must
    return Response(BODY, media_type="application/json")


def app_factory() -> Starlette:
    """For `uvicorn --factory bench.baseline:app_factory`."""
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
