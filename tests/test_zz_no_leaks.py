"""No driver text, SQL or stack trace in any response (issue 9, point 3).

The test needs no other test: it sends a hostile corpus of its own (with a fault that
echoes driver text), checks each answer, and checks that the API log kept every one of
them, committed before the answer left. Then it reads back, with tests/leaks.py, every
response body the API log holds: whatever ran before it in the session (the fuzzer's
against the real server, the hygiene corpus, the attacks, …), all of it when it runs
last, as it does by its name."""

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


async def hostile_corpus(vendor: Vendor) -> list[tuple[str, str]]:
    """Requests whose answers could leak if anything were wrong: hostile strings, ids,
    and a database failure whose text reads like a driver's. Returns (what was sent,
    what came back) for each."""
    exchanges: list[tuple[str, str]] = []

    async def send(query: str, variables: dict) -> str:
        response = await vendor.post(query, variables)
        exchanges.append((query + json.dumps(variables, ensure_ascii=False), response.text))
        return response.text

    for text in ("' OR '1'='1", "x\x00y", "李" * 300, "\u202e", "Robert'); DROP TABLE patient;--"):
        await send(
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
        await send(SEARCH, {"search": text})
    await send(EVENTS, {"id": "VXNlcjo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="})
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="audit_event", reads=True, message=DRIVER_TEXT))
    try:
        answer = await send(EVENTS, {"id": "VXNlcjox"})
    finally:
        hooks.disarm_fault()
    assert "INTERNAL_SERVER_ERROR" in answer, "the fault was meant to be masked"
    return exchanges


async def test_no_response_of_the_session_shows_driver_text_sql_or_a_trace(vendor):
    exchanges = await hostile_corpus(vendor)
    for sent, answer in exchanges:
        assert not leaks_in(answer, sent), answer[:300]
    kept = await ApiLog.filter(consumer_id=vendor.consumer.id).count()
    assert kept == len(exchanges), "every answer's log row is committed before the answer leaves"
    ids = await ApiLog.all().order_by("id").values_list("id", flat=True)
    offenders = []
    for start in range(0, len(ids), BATCH):
        logged = await ApiLog.filter(id__in=ids[start : start + BATCH])
        rows = [(row.id, row.query, row.variables, row.response_body) for row in logged]  # decrypted
        for row_id, query, variables, body in rows:
            sent = (query or "") + json.dumps(variables, ensure_ascii=False)
            found = leaks_in(body or "", sent)
            if found:
                offenders.append(f"api_log {row_id}: {found}: {(body or '')[:300]}")
    assert not offenders, f"{len(offenders)} of {len(ids)} responses leak:\n" + "\n".join(offenders[:20])
