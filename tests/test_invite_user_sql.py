"""What one inviteUser reads and writes, statement by statement (the bench's S3 path)."""

from __future__ import annotations

import re

from chrgraph.db import hooks
from chrgraph.db.models import AuditEvent
from tests.accounts import make_clinic
from tests.helpers import unique

INVITE = """mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email status } errors { code message field } } }"""
# Not the mutation's: the API-log writer's group commit (its row and the consumer's
# lastUsedAt) and the once-every-0.5-s revocation poll.
ELSEWHERE = ("api_log", "api_consumer", "auth_epoch")
TABLE = re.compile(r'^(?:UPDATE "(\w+)"|(SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO) "(\w+)")', re.S)


def shape(sql: str) -> tuple[str, str]:
    match = TABLE.match(sql.lstrip())
    assert match, sql
    updated, verb, table = match.groups()
    return ("UPDATE", updated) if updated else (verb, table)


async def invite(clinic) -> dict:
    staff = {"email": f"{unique('sql')}@x.test", "type": "STAFF", "license": "STAFF", "firstName": "S", "lastName": "Q"}
    return (await clinic.vendor.gql(INVITE, {"input": staff}))["inviteUser"]


async def test_an_invitation_by_a_consumer_is_two_reads_and_seven_writes(client):
    clinic = await make_clinic(client)
    assert (await invite(clinic))["errors"] == []  # warm: the consumer's key, the chain head
    invited = AuditEvent.filter(organization_id=clinic.organization.id, action="USER_INVITED")
    before = await invited.count()

    counter = hooks.count_statements()
    try:
        result = await invite(clinic)
    finally:
        hooks.stop_counting(counter)

    assert result["errors"] == [] and result["user"]["status"] == "INVITED"
    statements = [shape(sql) for sql in counter.statements if not any(t in sql for t in ELSEWHERE)]
    assert statements == [
        ("SELECT", "organization"),
        ("INSERT", "user"),  # no SELECT first: the unique login_email answers EMAIL_TAKEN
        ("INSERT", "user_status_change"),
        ("INSERT", "license_change"),
        ("INSERT", "invitation"),  # nothing to void for a new user
        ("INSERT", "outbox_message"),
        ("UPDATE", "audit_chain_head"),  # from the head this process wrote: no SELECT
        ("INSERT", "audit_event"),
        # USER_INVITED is a webhook event: who subscribed to it (none here: nothing written).
        ("SELECT", "webhook_subscription"),
    ]
    assert await invited.count() == before + 1
