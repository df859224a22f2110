"""The keys our middlewares put on the ASGI scope, each with one owner (the middleware
that sets it), and reading a request header. Imports nothing of chrgraph, so every
layer that looks at a request may use it."""

from __future__ import annotations

from starlette.types import Scope

# Set by the trace middleware (http/trace.py): the request id of every answer and log line.
REQUEST_ID = "chrgraph.request_id"
# Set there too: the caller's own X-Request-Id, kept beside ours (None when absent or unfit).
CLIENT_REQUEST_ID = "chrgraph.client_request_id"
# Set by the auth middleware (http/auth.py): the `Principal`, or None for an anonymous request.
PRINCIPAL = "chrgraph.principal"
# Set by the request guard (http/guards.py): the request body, read once.
BODY = "chrgraph.body"
# Set by the endpoint (http/graphql.py): (query, operation name, variables) for the API log.
GRAPHQL_REQUEST = "chrgraph.graphql"
# Set by the endpoint once the documents are prepared, for API consumers: the
# `RequestRedaction` the API log applies (absent: the documents did not parse or validate).
REDACTION = "chrgraph.redaction"

# The database keys of the patients the request read (a set the context fills, the
# API-log middleware writes with the request's log batch).
PATIENTS_READ = "chrgraph.patients_read"
GRAPHQL_PATH = "/graphql"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
