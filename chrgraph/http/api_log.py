"""The API-log middleware: a consumer's answer is held until its log row is committed
(the row and the writer are chrgraph/audit/api_log.py)."""

from __future__ import annotations

import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.audit.api_log import log_row, writer
from chrgraph.audit.patient_access import access_rows
from chrgraph.auth.principals import PrincipalKind
from chrgraph.http.answers import error_body
from chrgraph.http.scope import GRAPHQL_PATH, GRAPHQL_REQUEST, PATIENTS_READ, PRINCIPAL, REQUEST_ID
from chrgraph.telemetry import log


class ApiLogMiddleware:
    """Wraps `send`: holds the response until its log row is committed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        start_message: Message | None = None
        body: list[bytes] = []
        # Patient key -> the operation that read it, filled by the endpoint's context.
        patients_read: dict[int, str | None] = scope.setdefault(PATIENTS_READ, {})

        async def capture(message: Message) -> None:
            nonlocal start_message
            principal = scope.get(PRINCIPAL)
            if principal is None or principal.kind is not PrincipalKind.CONSUMER:
                if patients_read and principal is not None and _last_chunk(message):
                    await _record_session_reads(principal, scope, patients_read)
                await send(message)
                return
            if message["type"] == "http.response.start":
                start_message = message
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start_message is not None
            response = b"".join(body)
            try:
                row = log_row(
                    principal,
                    request_id=scope.get(REQUEST_ID, ""),
                    method=scope["method"],
                    graphql_request=scope.get(GRAPHQL_REQUEST),
                    status=start_message["status"],
                    response=response,
                    started=started,
                )
                await writer.write(row, _accesses(principal, scope, patients_read))
            except Exception:
                log.exception("api log write failed request_id=%s", scope.get(REQUEST_ID))
                failed = orjson.dumps(
                    error_body(
                        "The request could not be logged and was not answered.",
                        "INTERNAL_SERVER_ERROR",
                        requestId=scope.get(REQUEST_ID),
                    )
                )
                start_message = {
                    **start_message,
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(failed)).encode()),
                    ],
                }
                response = failed
            await send(start_message)
            await send({"type": "http.response.body", "body": response})

        await self.app(scope, receive, capture)


def _last_chunk(message: Message) -> bool:
    return message["type"] == "http.response.body" and not message.get("more_body")


def _accesses(principal, scope: Scope, patients_read: dict[int, str | None]) -> list:
    """The request's patient access rows: one per patient, in the request's log batch."""
    if not patients_read:
        return []
    request_id = scope.get(REQUEST_ID, "")
    by_operation: dict[str | None, list[int]] = {}
    for patient_id, operation in patients_read.items():
        by_operation.setdefault(operation, []).append(patient_id)
    return [
        row
        for operation, ids in by_operation.items()
        for row in access_rows(principal, ids, request_id=request_id, operation_name=operation)
    ]


async def _record_session_reads(principal, scope: Scope, patients_read: dict[int, str | None]) -> None:
    """A session's request has no API-log row: its patient reads go alone into the next
    group commit, before the answer's last chunk leaves. A failure is an alarm in the
    application log; the answer still goes (the outage path of the API log)."""
    try:
        await writer.write(None, _accesses(principal, scope, patients_read))
    except Exception:
        log.exception("patient access log write failed request_id=%s", scope.get(REQUEST_ID))
