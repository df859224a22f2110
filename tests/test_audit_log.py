"""The audit log: one event per change in the change's own transaction, secrets
redacted, append-only at the database, one hash chain per organization that stays
unbroken when several processes append at once, and signed checkpoints that
`chrgraph audit verify` checks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from chrgraph.audit import events
from chrgraph.audit.chain import event_hash, genesis_hash, hashed_fields
from chrgraph.audit.checkpoint import (
    audit_files,
    checkpoint_message,
    load_signing_key,
    public_key_hex,
    sign_checkpoints,
)
from chrgraph.audit.redact import REDACTED
from chrgraph.audit.verify import verify_chain
from chrgraph.auth.principals import Actor, Principal, PrincipalKind, support_cli_actor
from chrgraph.db.hooks import FaultPlan, InjectedFault, arm_fault, count_statements, disarm_fault, stop_counting
from chrgraph.db.models import (
    ActorKind,
    ApiConsumer,
    ApiConsumerKey,
    ApiLog,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    Organization,
    User,
    UserType,
)
from chrgraph.db.public_ids import global_id, new_public_id
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.consumers.manage import (
    add_api_consumer_key,
    create_api_consumer,
    revoke_api_consumer_key,
    set_api_consumer_active,
)
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.settings import get_settings
from tests.accounts import make_clinic
from tests.audit_helpers import (
    drop_append_only_triggers,
    events_of,
    new_organization,
    new_vendor,
    restore_append_only_triggers,
    seal,
)
from tests.helpers import gid, public_pem, rsa_key, unique
from tests.processes import (
    Completed,
    chrgraph,
    environment,
    eventually,
    python_script,
    running_server,
)

pytestmark = pytest.mark.usefixtures("app")

VIEWER = "{ viewer { kind } }"
UPDATE_ORGANIZATION = """
mutation UpdateOrganization($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { organization { name } errors { code message field } }
}"""
# What the append-only triggers raise through Tortoise (SQLite) or asyncpg (PostgreSQL).
REFUSED = (OperationalError, asyncpg.exceptions.RaiseError)

PUBLIC_ID = new_public_id()  # a user's, for events recorded without one stored


@pytest.fixture(scope="module")
def signing_key():
    """The server's key file (CHRGRAPH_AUDIT_SIGNING_KEY), made before any process races to."""
    return load_signing_key(get_settings().audit_signing_key, create=True)


def support(org: Organization, request_id: str | None = None) -> Actor:
    return Actor(support_cli_actor(org.id).principal, request_id)


async def new_events(org: Organization, since: list[AuditEvent]) -> list[AuditEvent]:
    return (await events_of(org.id))[len(since) :]


def pem_body(pem: str) -> str:
    """The base64 of a PEM, without its armour and line breaks."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def assert_no_key_material(changes: dict, pem: str) -> None:
    text = json.dumps(changes)
    assert "BEGIN" not in text and "PUBLIC KEY" not in text
    body = pem_body(pem)
    for start in range(0, len(body) - 40, 40):
        assert body[start : start + 40] not in text


# --- one event per change -------------------------------------------------------------


async def test_creating_an_organization_records_who_made_it_and_starts_its_chain():
    org = await new_organization(name="Clinic One")

    recorded = await events_of(org.id)

    created = [e for e in recorded if e.action == "ORGANIZATION_CREATED"]
    assert len(created) == 1
    event = created[0]
    assert event.seq == 1 and event.prev_hash == genesis_hash(org.id)
    assert event.actor_kind == ActorKind.SYSTEM
    assert (event.target_type, event.target_id) == ("Organization", gid(org))
    assert event.changes["domain"] == org.domain and event.changes["name"] == "Clinic One"


async def test_updating_an_organization_records_each_changed_field_before_and_after():
    org = await new_organization(name="Old Name")
    before = await events_of(org.id)

    await update_organization(support(org, "req-update-org-1"), name="New Name", province="QC", time_zone=None)

    [event] = await new_events(org, before)
    assert event.action == "ORGANIZATION_UPDATED"
    assert event.actor_kind == ActorKind.SUPPORT
    assert event.request_id == "req-update-org-1"
    assert (event.target_type, event.target_id) == ("Organization", gid(org))
    assert event.changes == {
        "name": {"before": "Old Name", "after": "New Name"},
        "province": {"before": "ON", "after": "QC"},
    }
    assert event.seq == before[-1].seq + 1 and event.prev_hash == before[-1].hash


async def test_a_change_made_by_a_consumer_records_the_consumer_as_actor(client):
    vendor = await new_vendor(client)
    org = vendor.organization
    principal = Principal(
        PrincipalKind.CONSUMER,
        org.id,
        consumer_id=vendor.consumer.id,
        issuer=vendor.consumer.issuer,
        key_id="k1",
        consumer_public_id=vendor.consumer.public_id,
    )
    before = await events_of(org.id)

    await update_organization(Actor(principal, "req-consumer-1"), stripe_connected=True)

    [event] = await new_events(org, before)
    assert event.actor_kind == ActorKind.CONSUMER
    assert event.actor_id == gid(vendor.consumer)  # the actor's global id, never its key
    assert event.consumer_id == vendor.consumer.id
    assert event.request_id == "req-consumer-1"
    assert event.changes == {"stripeConnected": {"before": False, "after": True}}


async def test_a_change_made_by_a_user_records_the_user_as_actor():
    org = await new_organization()
    before = await events_of(org.id)

    await update_organization(
        Actor(Principal(PrincipalKind.USER, org.id, user_id=4242, user_public_id=PUBLIC_ID), "req-user-1"),
        name="Renamed by a user",
    )

    [event] = await new_events(org, before)
    assert (event.actor_kind, event.actor_id, event.consumer_id) == (ActorKind.USER, global_id("User", PUBLIC_ID), None)
    assert event.request_id == "req-user-1"


async def test_a_graphql_mutation_records_its_session_user_and_request_id(client):
    clinic = await make_clinic(client)
    before = await events_of(clinic.organization.id)
    request_id = unique("audit-request").replace("-", "_")

    response = await client.post(
        "/graphql",
        json={"query": UPDATE_ORGANIZATION, "variables": {"input": {"name": "Renamed Clinic"}}},
        headers={"Authorization": f"Bearer {clinic.support.token}", "X-Request-Id": request_id},
    )

    # The request id is always the server's (the caller's is kept beside it in the API log).
    ours = response.headers["x-request-id"]
    assert response.status_code == 200 and ours != request_id
    assert response.json()["data"]["updateOrganization"]["errors"] == []
    [event] = await new_events(clinic.organization, before)
    assert event.action == "ORGANIZATION_UPDATED" and event.request_id == ours
    support_user = await User.get(organization_id=clinic.organization.id, type=UserType.SUPPORT)
    assert (event.actor_kind, event.actor_id) == (ActorKind.SUPPORT, gid(support_user))
    assert event.changes == {"name": {"before": clinic.organization.name, "after": "Renamed Clinic"}}


async def test_creating_a_consumer_records_its_key_fingerprint_but_never_the_pem():
    org = await new_organization()
    before = await events_of(org.id)
    pem = public_pem(rsa_key(0))
    issuer = unique("issuer")

    consumer = await create_api_consumer(
        support(org, "req-create-consumer"), name="Booking", issuer=issuer, public_key=pem, kid="k1"
    )

    [event] = await new_events(org, before)
    key = await ApiConsumerKey.get(consumer_id=consumer.id)
    assert event.action == "API_CONSUMER_CREATED"
    assert (event.target_type, event.target_id) == ("ApiConsumer", gid(consumer))
    assert event.request_id == "req-create-consumer"
    assert event.changes == {
        "name": "Booking",
        "issuer": issuer,
        "kid": "k1",
        "keyFingerprint": key.fingerprint,
    }
    assert_no_key_material(event.changes, pem)


async def test_each_consumer_operation_records_exactly_one_event():
    org = await new_organization()
    actor = support(org, "req-consumer-ops")
    consumer = await create_api_consumer(actor, name=unique("vendor"), public_key=public_pem(rsa_key(0)), kid="k1")
    second_pem = public_pem(rsa_key(1))
    steps = [
        (
            lambda: set_api_consumer_active(actor, consumer.issuer, False),
            "API_CONSUMER_DEACTIVATED",
            {"active": {"before": True, "after": False}},
        ),
        (
            lambda: set_api_consumer_active(actor, consumer.issuer, True),
            "API_CONSUMER_REACTIVATED",
            {"active": {"before": False, "after": True}},
        ),
        (
            lambda: add_api_consumer_key(actor, consumer.issuer, second_pem, "k2"),
            "API_CONSUMER_KEY_ADDED",
            {"kid": "k2"},
        ),
        (
            lambda: revoke_api_consumer_key(actor, consumer.issuer, "k1"),
            "API_CONSUMER_KEY_REVOKED",
            {"kid": "k1"},
        ),
    ]
    for operation, action, expected in steps:
        before = await events_of(org.id)
        await operation()
        [event] = await new_events(org, before)
        assert event.action == action
        assert (event.target_type, event.target_id) == ("ApiConsumer", gid(consumer))
        assert event.actor_kind == ActorKind.SUPPORT and event.request_id == "req-consumer-ops"
        assert expected.items() <= event.changes.items()
        assert_no_key_material(event.changes, second_pem)
    fingerprints = {k.kid: k.fingerprint for k in await ApiConsumerKey.filter(consumer_id=consumer.id)}
    recorded = await events_of(org.id)
    assert recorded[-2].changes["keyFingerprint"] == fingerprints["k2"]
    assert recorded[-1].changes["keyFingerprint"] == fingerprints["k1"]


async def test_a_refused_operation_records_no_event():
    org = await new_organization()
    taken = await create_api_consumer(support(org), name=unique("vendor"), public_key=public_pem(rsa_key(0)))
    before = await events_of(org.id)

    with pytest.raises(OperationFailed) as refused:
        await create_api_consumer(support(org), name="Again", issuer=taken.issuer, public_key=public_pem(rsa_key(0)))
    assert refused.value.errors[0].code is ErrorCode.ISSUER_TAKEN
    with pytest.raises(OperationFailed):
        await update_organization(support(org), name="Fine", province="XX")

    assert await events_of(org.id) == before
    assert (await Organization.get(id=org.id)).name == org.name


async def test_secret_fields_in_recorded_changes_are_redacted():
    org = await new_organization()
    async with atomic() as conn:
        event = await events.record(
            conn,
            support(org),
            "SECRETS_TESTED",
            "Organization",
            org.public_id,
            {
                "password": {"before": "old-password-1", "after": "new-password-2"},
                "sessionToken": "tok_abcdef",
                "clientSecret": "s3cr3t",
                "name": {"before": "A", "after": "B"},
            },
        )

    stored = await AuditEvent.get(id=event.id)
    assert stored.changes == {
        "password": REDACTED,
        "sessionToken": REDACTED,
        "clientSecret": REDACTED,
        "name": {"before": "A", "after": "B"},
    }
    for secret in ("old-password-1", "new-password-2", "tok_abcdef", "s3cr3t"):
        assert secret not in json.dumps(stored.changes)


# --- no change without its event, no event without its change ----------------------------


async def fails_with(plan: FaultPlan, operation) -> None:
    arm_fault(plan)
    try:
        with pytest.raises(InjectedFault):
            await operation()
    finally:
        disarm_fault()
    assert plan.fired, f"no write matched {plan.match!r}"


@pytest.mark.parametrize(
    "failing_write",
    [
        'UPDATE "organization"',  # the change itself
        'INSERT INTO "audit_event"',  # its event
        'UPDATE "audit_chain_head"',  # the chain's head
    ],
)
async def test_update_organization_writes_its_change_and_event_together_or_not_at_all(failing_write, signing_key):
    org = await new_organization(name="Before")
    before = await events_of(org.id)
    head = await AuditChainHead.get(organization_id=org.id)

    await fails_with(
        FaultPlan(fail_at=1, match=failing_write),
        lambda: update_organization(support(org), name="After"),
    )

    assert (await Organization.get(id=org.id)).name == "Before"
    assert await events_of(org.id) == before
    assert (await AuditChainHead.get(organization_id=org.id)).hash == head.hash
    # The chain takes the next change as if nothing happened.
    await update_organization(support(org), name="After")
    assert (await verify_chain(org.id, signing_key.public_key())).ok


@pytest.mark.parametrize(
    "failing_write",
    [
        'INSERT INTO "api_consumer" ',  # the change itself
        'INSERT INTO "api_consumer_key"',  # the rest of the change
        "audit_event",  # its event
    ],
)
async def test_create_api_consumer_writes_its_change_and_event_together_or_not_at_all(failing_write):
    org = await new_organization()
    before = await events_of(org.id)
    issuer = unique("issuer")

    await fails_with(
        FaultPlan(fail_at=1, match=failing_write),
        lambda: create_api_consumer(
            support(org), name="Vendor", issuer=issuer, public_key=public_pem(rsa_key(0)), kid="k1"
        ),
    )

    assert not await ApiConsumer.filter(issuer=issuer).exists()
    assert not await ApiConsumerKey.filter(consumer__issuer=issuer).exists()
    assert await events_of(org.id) == before
    consumer = await create_api_consumer(
        support(org), name="Vendor", issuer=issuer, public_key=public_pem(rsa_key(0)), kid="k1"
    )
    assert (await events_of(org.id))[-1].target_id == gid(consumer)


async def test_a_failing_audit_insert_leaves_a_consumer_active_after_deactivation():
    org = await new_organization()
    consumer = await create_api_consumer(support(org), name=unique("vendor"), public_key=public_pem(rsa_key(0)))
    before = await events_of(org.id)

    await fails_with(
        FaultPlan(fail_at=1, match="audit_event"),
        lambda: set_api_consumer_active(support(org), consumer.issuer, False),
    )

    assert (await ApiConsumer.get(id=consumer.id)).active is True
    assert await events_of(org.id) == before


# --- append-only at the database ------------------------------------------------------


async def test_the_database_refuses_to_update_an_audit_event():
    org = await new_organization()
    recorded = await events_of(org.id)

    with pytest.raises(REFUSED, match="append-only"):
        await connections.get("default").execute_query(
            f"UPDATE audit_event SET action = 'FORGED', changes = '{{}}' WHERE organization_id = {org.id}"
        )
    with pytest.raises(REFUSED, match="append-only"):
        await AuditEvent.filter(organization_id=org.id).update(target_id="forged")

    assert await events_of(org.id) == recorded
    assert [(e.action, e.target_id, e.changes) for e in await events_of(org.id)] == [
        (e.action, e.target_id, e.changes) for e in recorded
    ]


async def test_the_database_refuses_to_delete_an_audit_event():
    org = await new_organization()
    recorded = await events_of(org.id)

    with pytest.raises(REFUSED, match="append-only"):
        await connections.get("default").execute_query(f"DELETE FROM audit_event WHERE organization_id = {org.id}")
    with pytest.raises(REFUSED, match="append-only"):
        await AuditEvent.filter(id=recorded[0].id).delete()

    assert await events_of(org.id) == recorded


# --- one chain, several processes ---------------------------------------------------------


def assert_unbroken(recorded: list[AuditEvent], organization_id: int) -> None:
    assert [e.seq for e in recorded] == list(range(1, len(recorded) + 1))
    prev = genesis_hash(organization_id)
    for event in recorded:
        assert event.prev_hash == prev, f"seq {event.seq} does not link to seq {event.seq - 1}"
        assert event.hash == event_hash(prev, hashed_fields(event))
        prev = event.hash


async def rename_repeatedly(org: Organization, tag: str, count: int, start_at: float, pause: float = 0) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))
    for i in range(count):
        await update_organization(support(org), name=f"{tag}-{i}")
        await asyncio.sleep(pause)


async def register_consumers(org: Organization, tag: str, count: int, start_at: float) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))
    for i in range(count):
        await create_api_consumer(
            support(org), name=f"{tag}-{i}", issuer=unique(f"{tag}-{i}"), public_key=public_pem(rsa_key(0))
        )


def writer_of(event: AuditEvent) -> str:
    name = event.changes["name"]
    return (name if isinstance(name, str) else name["after"]).split("-")[0]


def head_reads(statements: list[str]) -> int:
    return sum(sql.lstrip().upper().startswith("SELECT") and "audit_chain_head" in sql for sql in statements)


async def test_an_append_links_to_the_true_head_after_another_process_or_a_rollback_moved_it(signing_key):
    """This process appends from the head it last wrote without reading it; the chain
    head row decides (a compare-and-swap), so a head moved elsewhere is read again."""
    org = await new_organization()
    await update_organization(support(org), name="test-0")

    counter = count_statements()
    try:
        await update_organization(support(org), name="test-1")  # from the head it wrote
        assert head_reads(counter.statements) == 0
        done = await chrgraph("org", "set", "--domain", org.domain, "--name", "cli-0")  # another process
        assert done.returncode == 0, done.stderr
        await update_organization(support(org), name="test-2")
        assert head_reads(counter.statements) == 1
        with pytest.raises(RuntimeError):  # an appended event whose transaction rolls back
            async with atomic() as conn:
                await events.record(conn, support(org), "ROLLED_BACK", "Organization", org.public_id, {"name": "gone"})
                raise RuntimeError("after the event")
        await update_organization(support(org), name="test-3")
        assert head_reads(counter.statements) == 2
    finally:
        stop_counting(counter)

    recorded = await events_of(org.id)
    assert [writer_of(e) for e in recorded[-5:]] == ["test", "test", "cli", "test", "test"]
    assert_unbroken(recorded, org.id)
    head = await AuditChainHead.get(organization_id=org.id)
    assert (head.seq, head.hash) == (recorded[-1].seq, recorded[-1].hash)
    assert (await verify_chain(org.id, signing_key.public_key())).ok


async def test_processes_appending_at_once_leave_one_unbroken_chain(signing_key, tmp_path):
    org = await new_organization()
    initial = len(await events_of(org.id))
    pem_file = tmp_path / "vendor.pem"
    pem_file.write_text(public_pem(rsa_key(0)))
    start_at = time.time() + 1.5  # every writer has started by then: they really overlap

    # Registering consumers shares no row but the chain head between writers.
    results = await asyncio.gather(
        *(
            python_script("tests.chain_writer", "consumers", org.domain, "10", tag, str(start_at), str(pem_file))
            for tag in ("proc0", "proc1")
        ),
        python_script("tests.chain_writer", "rename", org.domain, "10", "proc2", str(start_at)),
        register_consumers(org, "test", 10, start_at),
    )

    for done in results[:3]:
        assert done.returncode == 0, done.stderr
    recorded = await events_of(org.id)
    assert len(recorded) == initial + 40
    assert_unbroken(recorded, org.id)
    writers = Counter(writer_of(e) for e in recorded[initial:])
    assert writers == {"proc0": 10, "proc1": 10, "proc2": 10, "test": 10}
    head = await AuditChainHead.get(organization_id=org.id)
    assert (head.seq, head.hash) == (recorded[-1].seq, recorded[-1].hash)
    report = await verify_chain(org.id, signing_key.public_key())
    assert report.ok, report.problems
    assert report.events == initial + 40


async def test_the_server_and_cli_processes_append_to_one_chain_and_checkpoint_it(client, signing_key):
    clinic = await make_clinic(client)
    org = clinic.organization
    initial = len(await events_of(org.id))
    mutation_ids = [f"shared-chain-mutation-{i}-{org.id}" for i in range(8)]
    read_ids = [f"shared-chain-read-{i:02d}-{org.id}" for i in range(12)]
    server_ids: list[str] = []  # the request ids the server gave the renames

    async def cli_lane(lane: int) -> list[Completed]:
        return [await chrgraph("org", "set", "--domain", org.domain, "--name", f"cli{lane}-{i}") for i in range(4)]

    async def server_requests(base_url: str) -> list[httpx.Response]:
        """The support account renames the organization; the consumer reads."""
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            answers = []
            for i, request_id in enumerate(mutation_ids):
                rename = {"query": UPDATE_ORGANIZATION, "variables": {"input": {"name": f"server-{i}"}}}
                answers.append(
                    await http.post(
                        "/graphql",
                        json=rename,
                        headers={
                            "Authorization": f"Bearer {clinic.support.token}",
                            "X-Request-Id": request_id,
                        },
                    )
                )
                server_ids.append(answers[-1].headers["x-request-id"])
                for read_id in read_ids[i :: len(mutation_ids)]:
                    answers.append(
                        await http.post(
                            "/graphql",
                            json={"query": VIEWER},
                            headers={
                                "Authorization": f"Bearer {clinic.vendor.token()}",
                                "X-Request-Id": read_id,
                            },
                        )
                    )
                await asyncio.sleep(0.2)  # spread over the CLI's runs
            return answers

    # The server also writes API-log rows and signs checkpoints every 0.1 s meanwhile.
    async with running_server(CHRGRAPH_AUDIT_CHECKPOINT_INTERVAL_SECONDS="0.1") as server:
        lanes, answers, _ = await asyncio.gather(
            asyncio.gather(cli_lane(0), cli_lane(1)),
            server_requests(server.base_url),
            rename_repeatedly(org, "test", 8, time.time(), pause=0.2),
        )
        for done in [d for lane in lanes for d in lane]:
            assert done.returncode == 0, done.stderr
        for answer in answers:
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        head = await AuditChainHead.get(organization_id=org.id)

        async def head_is_signed() -> bool:
            return await AuditCheckpoint.filter(organization_id=org.id, seq=head.seq).exists()

        await eventually(head_is_signed, time_limit=10)

    recorded = await events_of(org.id)
    assert len(recorded) == initial + 24
    assert_unbroken(recorded, org.id)
    assert Counter(writer_of(e) for e in recorded[initial:]) == {"cli0": 4, "cli1": 4, "server": 8, "test": 8}
    server_writes = [e.request_id for e in recorded[initial:] if writer_of(e) == "server"]
    assert sorted(server_writes) == sorted(server_ids)
    report = await verify_chain(org.id, signing_key.public_key())
    assert report.ok, report.problems
    assert report.checkpoints >= 1 and report.last_checkpoint_seq == len(recorded)
    assert await ApiLog.filter(client_request_id__in=read_ids).count() == len(read_ids)


# --- checkpoints and `chrgraph audit verify` -------------------------------------------------


async def verify(domain: str, *args: str, **env: str) -> tuple[int, dict]:
    done = await chrgraph("audit", "verify", "--org", domain, "--json", *args, env=environment(**env) if env else None)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}") from None
    return done.returncode, report


async def test_checkpoint_then_verify_exits_zero_for_an_intact_chain(signing_key):
    org = await new_organization()
    for name in ("A", "B", "C"):
        await update_organization(support(org), name=name)
    head = await AuditChainHead.get(organization_id=org.id)

    done = await chrgraph("audit", "checkpoint", "--org", org.domain)
    assert done.returncode == 0, done.stderr
    assert "signed 1 checkpoint" in done.stdout
    checkpoint = await AuditCheckpoint.get(organization_id=org.id)
    assert (checkpoint.seq, checkpoint.hash) == (head.seq, head.hash)
    assert checkpoint.public_key == public_key_hex(signing_key.public_key())

    code, report = await verify(org.domain)
    assert code == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert report["lastCheckpointSeq"] == head.seq and report["events"] == head.seq


async def test_verify_accepts_the_public_key_as_a_hex_file(signing_key, tmp_path):
    org = await new_organization()
    await sign_checkpoints(audit_files(get_settings()), org.id)
    hex_file = tmp_path / "audit.pub"
    hex_file.write_text(public_key_hex(signing_key.public_key()) + "\n")

    code, report = await verify(org.domain, "--public-key", str(hex_file))

    assert code == 0, report
    assert report["checkpoints"] == 1


async def test_verify_fails_when_a_checkpoint_was_signed_with_another_key(signing_key, tmp_path):
    org = await new_organization()
    other_key_file = tmp_path / "other.key"
    other = load_signing_key(str(other_key_file), create=True)
    other_hex = tmp_path / "other.pub"
    other_hex.write_text(public_key_hex(other.public_key()))

    done = await chrgraph(
        "audit",
        "checkpoint",
        "--org",
        org.domain,
        env=environment(CHRGRAPH_AUDIT_SIGNING_KEY=str(other_key_file)),
    )
    assert done.returncode == 0, done.stderr

    # A key that signed none of the checkpoints cannot tell tampering from a wrong key.
    done = await chrgraph("audit", "verify", "--org", org.domain)
    assert done.returncode == 2 and done.stdout == "", done
    [line] = done.stderr.splitlines()
    assert line.startswith("error: KEY_MISMATCH (publicKey): none of the 1 checkpoint(s)"), line
    code, report = await verify(org.domain, "--public-key", str(other_hex))
    assert code == 0, report


async def test_a_checkpoint_is_also_written_to_the_application_log(signing_key, caplog):
    org = await new_organization()
    caplog.set_level(logging.INFO, logger="chrgraph")

    [checkpoint] = await sign_checkpoints(audit_files(get_settings()), org.id)

    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "chrgraph" and r.getMessage().startswith("audit checkpoint ")
    ]
    logged = [json.loads(line.removeprefix("audit checkpoint ")) for line in lines]
    [entry] = [e for e in logged if e["organization_id"] == org.id]
    assert (entry["seq"], entry["hash"], entry["signature"]) == (
        checkpoint.seq,
        checkpoint.hash,
        checkpoint.signature,
    )
    # The log alone is enough to check a head, without trusting the database.
    signed_at = datetime.fromisoformat(entry["signed_at"])
    signing_key.public_key().verify(
        bytes.fromhex(entry["signature"]), checkpoint_message(org.id, entry["seq"], entry["hash"], signed_at)
    )
    assert entry["public_key"] == public_key_hex(signing_key.public_key())


# --- tampering: the attacker has DDL rights on the database ----------------------------------


@pytest.fixture
async def attacker(signing_key):
    """Append-only triggers dropped for the test, and put back afterwards."""
    await drop_append_only_triggers()
    try:
        yield
    finally:
        await restore_append_only_triggers()
        probe = await new_organization()
        with pytest.raises(REFUSED, match="append-only"):
            await AuditEvent.filter(organization_id=probe.id).update(action="PROBE")


async def checkpointed_organization() -> tuple[Organization, int]:
    """An organization with a few events, a checkpoint, and one event after it."""
    org = await new_organization()
    for name in ("First", "Second", "Third"):
        await update_organization(support(org), name=name)
    [checkpoint] = await sign_checkpoints(audit_files(get_settings()), org.id)
    await update_organization(support(org), name="After the checkpoint")
    report = await verify_chain(org.id, load_signing_key(get_settings().audit_signing_key).public_key())
    assert report.ok and report.last_checkpoint_seq == checkpoint.seq >= 4, report
    return org, checkpoint.seq


@pytest.mark.parametrize("position", ["first", "at the checkpoint"])
async def test_verify_fails_after_an_event_before_the_checkpoint_is_edited(attacker, position):
    org, checkpoint_seq = await checkpointed_organization()
    seq = 1 if position == "first" else checkpoint_seq

    await AuditEvent.filter(organization_id=org.id, seq=seq).update(changes={"name": "forged"})

    code, report = await verify(org.domain)
    assert code == 1
    assert report["problems"] == [f"seq {seq}: content does not match its hash"]


async def test_verify_fails_after_an_event_before_the_checkpoint_is_deleted(attacker):
    org, checkpoint_seq = await checkpointed_organization()

    await AuditEvent.filter(organization_id=org.id, seq=2).delete()

    code, report = await verify(org.domain)
    assert code == 1
    assert report["events"] == checkpoint_seq  # one fewer, the event after the checkpoint included
    assert report["problems"] == ["seq 2: missing, the chain jumps to seq 3"], report


async def test_verify_fails_after_a_forged_event_is_inserted_before_the_checkpoint(attacker):
    org, checkpoint_seq = await checkpointed_organization()
    recorded = await events_of(org.id)
    for event in reversed(recorded[2:]):  # make room at seq 3
        await AuditEvent.filter(id=event.id).update(seq=event.seq + 1)
    forged = AuditEvent(
        organization_id=org.id,
        seq=3,
        occurred_at=recorded[2].occurred_at,
        actor_kind=ActorKind.SUPPORT,
        action="ORGANIZATION_UPDATED",
        target_type="Organization",
        target_id=gid(org),
        changes={"enterpriseApiEnabled": {"before": False, "after": True}},
    )
    await seal(forged, recorded[1].hash).save()

    code, report = await verify(org.domain)
    assert code == 1
    # One line for the first broken link (every later event's seq moved), one for the head.
    assert report["problems"] == [
        f"seq 4: does not link to the event before it (and {report['events'] - 4} more like it)",
        f"checkpoint at seq {checkpoint_seq}: the chain no longer matches the signed head",
    ], report


async def test_verify_fails_after_the_whole_chain_is_rewritten_with_recomputed_hashes(attacker):
    org, checkpoint_seq = await checkpointed_organization()
    recorded = await events_of(org.id)
    recorded[1].changes = {"name": {"before": "Clinic", "after": "Rewritten"}}
    prev = genesis_hash(org.id)
    for event in recorded:
        seal(event, prev)
        await AuditEvent.filter(id=event.id).update(changes=event.changes, prev_hash=event.prev_hash, hash=event.hash)
        prev = event.hash

    code, report = await verify(org.domain)
    assert code == 1
    # The chain is consistent in itself; only the signed head gives it away.
    assert report["problems"] == [f"checkpoint at seq {checkpoint_seq}: the chain no longer matches the signed head"]

    # Moving the stored checkpoint to the new head does not help without the key.
    await AuditCheckpoint.filter(organization_id=org.id).update(hash=recorded[checkpoint_seq - 1].hash)
    code, report = await verify(org.domain)
    assert code == 1
    assert report["problems"] == [
        f"checkpoint at seq {checkpoint_seq}: the database and the anchor file disagree",
        f"checkpoint at seq {checkpoint_seq}: bad signature",
    ]


async def test_verify_still_passes_after_an_event_is_appended_after_the_last_checkpoint(attacker):
    """The documented limit of a hash chain: what follows the last checkpoint can be forged."""
    org, checkpoint_seq = await checkpointed_organization()
    recorded = await events_of(org.id)
    last = recorded[-1]
    forged = AuditEvent(
        organization_id=org.id,
        seq=last.seq + 1,
        occurred_at=datetime.now(UTC),
        actor_kind=ActorKind.SYSTEM,
        action="ORGANIZATION_UPDATED",
        target_type="Organization",
        target_id=gid(org),
        changes={"name": {"before": "After the checkpoint", "after": "Appended"}},
    )
    await seal(forged, last.hash).save()

    code, report = await verify(org.domain)
    assert code == 0, report
    assert report["events"] == len(recorded) + 1 and report["lastCheckpointSeq"] == checkpoint_seq


async def test_verify_still_passes_after_the_events_after_the_last_checkpoint_are_removed(attacker):
    org, checkpoint_seq = await checkpointed_organization()

    await AuditEvent.filter(organization_id=org.id, seq__gt=checkpoint_seq).delete()

    code, report = await verify(org.domain)
    assert code == 0, report
    assert report["events"] == checkpoint_seq


# --- the anchor file: what an insider who rewrites the database cannot reach -------------


def anchor_lines(org: Organization) -> list[dict]:
    lines = Path(get_settings().audit_anchor_file).read_text().splitlines()
    return [e for e in map(json.loads, lines[1:]) if e["organization_id"] == org.id]


async def rewrite_chain_from(org: Organization, seq: int, changes: dict) -> None:
    """The insider's whole job: edit one event, recompute every later hash and the head."""
    recorded = await events_of(org.id)
    recorded[seq - 1].changes = changes
    prev = recorded[seq - 2].hash if seq > 1 else genesis_hash(org.id)
    for event in recorded[seq - 1 :]:
        seal(event, prev)
        await AuditEvent.filter(id=event.id).update(changes=event.changes, prev_hash=event.prev_hash, hash=event.hash)
        prev = event.hash
    await AuditChainHead.filter(organization_id=org.id).update(hash=prev)
    events._heads.pop(org.id, None)


async def test_a_checkpoint_is_appended_to_the_anchor_file_outside_the_database(signing_key):
    org = await new_organization()

    [checkpoint] = await sign_checkpoints(audit_files(get_settings()), org.id)

    [line] = anchor_lines(org)
    assert (line["seq"], line["hash"], line["signature"]) == (checkpoint.seq, checkpoint.hash, checkpoint.signature)
    assert line["public_key"] == public_key_hex(signing_key.public_key())


async def test_verify_detects_an_edit_with_recomputed_hashes_and_deleted_checkpoints(attacker):
    org, checkpoint_seq = await checkpointed_organization()

    await rewrite_chain_from(org, 2, {"name": {"before": "Clinic", "after": "Forged"}})
    await AuditCheckpoint.filter(organization_id=org.id).delete()

    code, report = await verify(org.domain)
    assert code == 1, report
    assert report["checkpoints"] == 0 and report["anchored"] == 1
    assert report["problems"] == [
        f"checkpoint at seq {checkpoint_seq}: the chain no longer matches the signed head",
        f"checkpoint at seq {checkpoint_seq}: in the anchor file but removed from the database",
    ]


async def test_verify_detects_deleted_checkpoints_even_with_the_chain_untouched(attacker):
    org, checkpoint_seq = await checkpointed_organization()

    await AuditCheckpoint.filter(organization_id=org.id).delete()

    code, report = await verify(org.domain)
    assert code == 1, report
    assert report["problems"] == [
        f"checkpoint at seq {checkpoint_seq}: in the anchor file but removed from the database"
    ]


def remove_anchor_lines(org: Organization) -> None:
    anchor = Path(get_settings().audit_anchor_file)
    kept = [
        line
        for line in anchor.read_text().splitlines()
        if not (line.startswith('{"organization_id"') and json.loads(line)["organization_id"] == org.id)
    ]
    anchor.write_text("\n".join(kept) + "\n")


async def test_verify_detects_a_deleted_anchor_line(signing_key):
    org, checkpoint_seq = await checkpointed_organization()
    remove_anchor_lines(org)

    code, report = await verify(org.domain)
    assert code == 1, report
    assert report["problems"] == [
        f"checkpoint at seq {checkpoint_seq}: in the database but missing from the anchor file"
    ]


async def test_one_edited_event_is_one_report_line_however_long_the_chain(attacker):
    org = await new_organization()
    for n in range(30):
        await update_organization(support(org), name=f"Name {n}")
    await sign_checkpoints(audit_files(get_settings()), org.id)

    await AuditEvent.filter(organization_id=org.id, seq=3).update(changes={"name": "forged"})
    done = await chrgraph("audit", "verify", "--org", org.domain)

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[1:] == ["seq 3: content does not match its hash", "TAMPERED: 1 inconsistency(ies)"], lines


async def test_verify_before_any_checkpoint_says_so_and_exits_zero(signing_key):
    org = await new_organization()

    code, report = await verify(org.domain)

    assert code == 0, report
    assert report["lastCheckpointSeq"] is None
    assert report["notes"] == [
        f"no checkpoint yet: the chain is verified up to its head (seq {report['events']}), unsigned"
    ]


async def test_verify_with_a_missing_anchor_file_is_one_line_and_creates_nothing(signing_key, tmp_path):
    org = await new_organization()
    absent = tmp_path / "anchors.jsonl"

    results = await asyncio.gather(
        chrgraph("audit", "verify", "--org", org.domain, env=environment(CHRGRAPH_AUDIT_ANCHOR_FILE=str(absent))),
        chrgraph("audit", "checkpoint", "--org", org.domain, env=environment(CHRGRAPH_AUDIT_ANCHOR_FILE=str(absent))),
    )

    for done in results:
        assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr, done
        [line] = done.stderr.splitlines()
        assert line.startswith("error: ANCHOR_UNAVAILABLE: ") and str(absent) in line
        assert "CHRGRAPH_AUDIT_ANCHOR_FILE" in line
    assert not absent.exists()
    assert await AuditCheckpoint.filter(organization_id=org.id).count() == 0


async def test_verify_on_a_fresh_folder_is_one_line_and_creates_no_key(tmp_path):
    env = environment()
    for variable in ("CHRGRAPH_DATABASE_URL", "CHRGRAPH_AUDIT_SIGNING_KEY", "CHRGRAPH_AUDIT_ANCHOR_FILE"):
        env.pop(variable)

    done = await chrgraph("audit", "verify", "--org", "clinic", env=env, cwd=tmp_path)

    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr, done
    [line] = done.stderr.splitlines()
    assert line.startswith("error: KEY_UNAVAILABLE: ") and "CHRGRAPH_AUDIT_SIGNING_KEY" in line
    assert list(tmp_path.iterdir()) == []


def test_with_postgresql_the_server_refuses_to_start_without_the_key_and_anchor_settings():
    import dataclasses

    from chrgraph.app import create_app
    from chrgraph.settings import SettingError

    base = dataclasses.replace(get_settings(), database_url="postgres://chrgraph@127.0.0.1:5432/chrgraph")
    for missing, variable in (
        ("audit_signing_key", "CHRGRAPH_AUDIT_SIGNING_KEY"),
        ("audit_anchor_file", "CHRGRAPH_AUDIT_ANCHOR_FILE"),
    ):
        with pytest.raises(SettingError, match=f"^{variable} is required when the database is PostgreSQL"):
            create_app(dataclasses.replace(base, **{missing: ""}))


async def test_processes_signing_at_once_make_one_checkpoint_per_interval(signing_key):
    org = await new_organization()
    files = audit_files(get_settings())

    made = await asyncio.gather(*(sign_checkpoints(files, org.id, min_interval=600) for _ in range(4)))
    await update_organization(support(org), name="Moved on")
    again = await sign_checkpoints(files, org.id, min_interval=600)
    on_demand = await sign_checkpoints(files, org.id)

    assert sum(len(m) for m in made) == 1
    assert again == []  # the head moved, but the interval has not passed
    assert len(on_demand) == 1
    assert await AuditCheckpoint.filter(organization_id=org.id).count() == 2
    assert len(anchor_lines(org)) == 2
