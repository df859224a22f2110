"""No driver text, SQL or stack trace in any response (issue 9, point 3).

This file runs last (pytest takes files in alphabetical order). The API log holds
the response body of every request an API consumer made during the whole session: the
fuzzer's against the real server, the hygiene corpus, the attacks, every other test's.
Each is read back and checked with tests/leaks.py. A small hostile corpus of its own
(with a fault that echoes driver text) makes sure there is something to read even when
this file runs alone."""

from __future__ import annotations

import json

from chrgraph.db import hooks
from chrgraph.db.models import ApiLog
from tests.helpers import Vendor
from tests.leaks import leaks_in

REGISTER = """
mutation Register($input: RegisterPatientInput!) {
  registerPatient(input: $input) { patient { id } errors { code field message } }
}"""
SEARCH = "query Search($search: String) { patients(filter: {search: $search}) { totalCount } }"
EVENTS = "query Events($id: ID!) { node(id: $id) { id } auditEvents(first: 1) { totalCount } }"
DRIVER_TEXT = 'sqlite3.OperationalError: near "SELECT": syntax error in INSERT INTO "patient" (asyncpg)'
BATCH = 100


async def hostile_corpus(vendor: Vendor) -> None:
    """Requests whose answers could leak if anything were wrong: hostile strings, ids,
    and a database failure whose text reads like a driver's."""
    for text in ("' OR '1'='1", "x\x00y", "李" * 300, "\u202e", "Robert'); DROP TABLE patient;--"):
        await vendor.post(
            REGISTER,
            {
                "input": {
                    "firstName": text,
                    "lastName": "Tables",
                    "dateOfBirth": "1990-01-01",
                    "healthCardNumber": text,
                }
            },
        )
        await vendor.post(SEARCH, {"search": text})
    await vendor.post(EVENTS, {"id": "VXNlcjo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="})
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="audit_event", reads=True, message=DRIVER_TEXT))
    try:
        response = await vendor.post(EVENTS, {"id": "VXNlcjox"})
    finally:
        hooks.disarm_fault()
    assert "INTERNAL_SERVER_ERROR" in response.text, "the fault was meant to be masked"


async def test_no_response_of_the_session_shows_driver_text_sql_or_a_trace(vendor):
    await hostile_corpus(vendor)
    ids = await ApiLog.all().order_by("id").values_list("id", flat=True)
    assert ids, "the API log is empty: nothing was checked"
    offenders = []
    for start in range(0, len(ids), BATCH):
        rows = await ApiLog.filter(id__in=ids[start : start + BATCH]).values_list(
            "id", "query", "variables", "response_body"
        )
        for row_id, query, variables, body in rows:
            sent = (query or "") + json.dumps(variables, ensure_ascii=False)
            found = leaks_in(body or "", sent)
            if found:
                offenders.append(f"api_log {row_id}: {found}: {(body or '')[:300]}")
    assert not offenders, f"{len(offenders)} of {len(ids)} responses leak:\n" + "\n".join(offenders[:20])
