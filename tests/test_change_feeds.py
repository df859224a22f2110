"""The change feeds: patients and appointments in the order of the audit event of their
latest change, resumed from a cursor, never skipping a row (also one written by a
transaction that began first and committed last)."""

from __future__ import annotations

import asyncio
import re

import pytest
from tortoise import connections

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import Appointment, AuditEvent, Organization, Patient
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.demo import DEMO_DOMAIN, load_demo
from tests.accounts import make_clinic
from tests.databases import backend
from tests.helpers import gid, key_of, unique
from tests.scheduling_helpers import at, patient, practitioner

PATIENT_CHANGES = """query($after: String, $n: Int) { patientChanges(after: $after, first: $n) {
  edges { cursor node { id lastName updatedAt } } pageInfo { hasNextPage endCursor } } }"""
APPOINTMENT_CHANGES = """query($after: String, $n: Int) { appointmentChanges(after: $after, first: $n) {
  edges { node { id status start reason updatedAt } } pageInfo { hasNextPage endCursor } } }"""
REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { patient { id } errors { code } } }"""
UPDATE = """mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { patient { id } errors { code } } }"""
ACCESS = """mutation($i: SetPatientPortalAccessInput!) { setPatientPortalAccess(input: $i) { errors { code } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { appointment { id } errors { code } } }"""
RESCHEDULE = """mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) { errors { code } } }"""
STATUS = """mutation($i: SetAppointmentStatusInput!) { setAppointmentStatus(input: $i) { errors { code } } }"""
CANCEL = """mutation($i: CancelAppointmentInput!) { cancelAppointment(input: $i) { errors { code } } }"""
DEACTIVATE = """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { errors { code } } }"""


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def feed(caller, query: str, after: str | None = None, n: int = 100) -> tuple[list[str], str | None]:
    """Every row id the feed returns after `after`, paging to its end, and the cursor to
    resume from (the last one when nothing came)."""
    name = "patientChanges" if "patientChanges" in query else "appointmentChanges"
    seen = []
    while True:
        page = (await caller.gql(query, {"after": after, "n": n}))[name]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"] or after
        if not page["pageInfo"]["hasNextPage"]:
            return seen, after


async def gql_ok(caller, query: str, variables: dict) -> dict:
    data = await caller.gql(query, variables)
    [result] = data.values()
    assert result["errors"] == [], result
    return result


async def register(caller, **extra) -> str:
    fields = {"firstName": "Ann", "lastName": unique("Feed"), "dateOfBirth": "1980-01-01", **extra}
    return (await gql_ok(caller, REGISTER, {"i": fields}))["patient"]["id"]


async def book(caller, dr: str, pat: str, start: str) -> str:
    i = {"practitionerId": dr, "patientId": pat, "start": start, "durationMinutes": 30}
    return (await gql_ok(caller, BOOK, {"i": i}))["appointment"]["id"]


async def assert_stamped(org_id: int) -> None:
    """Every patient and appointment of the organization carries the sequence number and
    the time of the latest audit event about it (those written before the feed, none)."""
    for model, type_name in ((Patient, "Patient"), (Appointment, "Appointment")):
        latest = {}
        for event in await AuditEvent.filter(organization_id=org_id, target_type=type_name).order_by("seq"):
            latest[event.target_id] = event
        rows = await model.filter(organization_id=org_id)
        assert rows
        for row in rows:
            event = latest[gid(row)]
            assert (row.change_seq, row.updated_at) == (event.seq, event.occurred_at), (type_name, event.action)


_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE)\s+"(patient|appointment)"', re.IGNORECASE)


def unstamped_writes(statements: list[str]) -> list[str]:
    """Writes of a patient or an appointment that no stamp (`feeds.stamp`) follows before
    the table is written again: a write path that changed a row without an event about it."""
    pending: dict[str, str] = {}
    missed = []
    for sql in statements:
        match = _WRITE.match(sql)
        if not match:
            continue
        table = match.group(1)
        if 'SET "change_seq"' in sql:
            pending.pop(table, None)
        elif table in pending:
            missed.append(pending[table])
            pending[table] = sql
        else:
            pending[table] = sql
    return missed + list(pending.values())


def test_a_write_without_its_stamp_is_caught():
    assert unstamped_writes(['INSERT INTO "patient" ("a") VALUES (?)', 'UPDATE "patient" SET "change_seq"=?']) == []
    assert unstamped_writes(['UPDATE "appointment" SET "status"=?']) == ['UPDATE "appointment" SET "status"=?']
    assert len(unstamped_writes(['UPDATE "patient" SET "a"=?', 'UPDATE "patient" SET "a"=?'])) == 2


async def test_every_write_path_stamps_the_rows_it_changes(clinic):
    org = clinic.organization.id
    counter = hooks.count_statements()
    try:
        pat = await register(clinic.vendor)
        await gql_ok(clinic.vendor, UPDATE, {"i": {"patientId": pat, "phone": "4165550100", "sex": "FEMALE"}})
        await gql_ok(clinic.vendor, ACCESS, {"i": {"patientId": pat, "enabled": True}})
        dr, other = await practitioner(org), await practitioner(org)
        first = await book(clinic.vendor, dr, pat, at(3, 9))
        await gql_ok(clinic.vendor, RESCHEDULE, {"i": {"appointmentId": first, "start": at(3, 10)}})
        await gql_ok(clinic.vendor, STATUS, {"i": {"appointmentId": first, "status": "CONFIRMED"}})
        second = await book(clinic.vendor, dr, pat, at(4, 9))
        await gql_ok(clinic.vendor, CANCEL, {"i": {"appointmentId": second, "reason": "Patient called"}})
        moved = await book(clinic.vendor, dr, pat, at(5, 9))
        await gql_ok(
            clinic.vendor,
            DEACTIVATE,
            {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": other}}},
        )
        cancelled = await book(clinic.vendor, other, pat, at(6, 9))
        await gql_ok(clinic.vendor, DEACTIVATE, {"i": {"userId": other}})  # cancels its bookings
    finally:
        hooks.stop_counting(counter)
    assert unstamped_writes(counter.statements) == []
    await assert_stamped(org)
    # Each change brought its row back to the feed's end: the cancelled one first, then
    # the three that the second deactivation cancelled (two of them moved there before).
    ids, _ = await feed(clinic.vendor, APPOINTMENT_CHANGES)
    assert ids[0] == second and sorted(ids[1:]) == sorted([first, moved, cancelled])
    assert (await Appointment.get(id=await key_of(first))).practitioner_id == await key_of(other)


async def test_the_demo_data_is_stamped(app):
    await load_demo()
    await assert_stamped((await Organization.get(domain=DEMO_DOMAIN)).id)


async def test_a_feed_pages_in_commit_order_and_resumes_after_its_cursor(clinic):
    made = [await register(clinic.vendor) for _ in range(5)]
    ids, cursor = await feed(clinic.vendor, PATIENT_CHANGES, n=2)
    assert ids == made
    # Nothing new: an empty page, and the cursor the client keeps stays valid.
    page = (await clinic.vendor.gql(PATIENT_CHANGES, {"after": cursor, "n": 2}))["patientChanges"]
    assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    # A changed patient comes again, after what was read; the others do not.
    await gql_ok(clinic.vendor, UPDATE, {"i": {"patientId": made[1], "lastName": unique("Moved")}})
    await gql_ok(clinic.vendor, UPDATE, {"i": {"patientId": made[3], "lastName": unique("Moved")}})
    again, cursor = await feed(clinic.vendor, PATIENT_CHANGES, cursor)
    assert again == [made[1], made[3]]
    assert (await feed(clinic.vendor, PATIENT_CHANGES, cursor))[0] == []


async def test_an_appointment_feed_returns_changes_with_the_latest_state(clinic):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    one, two = await book(clinic.vendor, dr, pat, at(2, 9)), await book(clinic.vendor, dr, pat, at(2, 10))
    ids, cursor = await feed(clinic.vendor, APPOINTMENT_CHANGES)
    assert ids == [one, two]
    await gql_ok(clinic.vendor, CANCEL, {"i": {"appointmentId": one, "reason": "Sick"}})
    page = (await clinic.vendor.gql(APPOINTMENT_CHANGES, {"after": cursor}))["appointmentChanges"]
    assert [(e["node"]["id"], e["node"]["status"]) for e in page["edges"]] == [(one, "CANCELLED")]


async def test_a_feed_shows_only_the_callers_organization(client, clinic):
    other = await make_clinic(client)
    theirs = await register(other.vendor)
    mine = await register(clinic.vendor)
    assert (await feed(clinic.vendor, PATIENT_CHANGES))[0] == [mine]
    assert theirs in (await feed(other.vendor, PATIENT_CHANGES))[0]


async def test_support_and_users_without_the_read_permission_are_forbidden(clinic):
    for caller in (clinic.support, await clinic.member()):
        for query in (PATIENT_CHANGES, APPOINTMENT_CHANGES):
            body = (await caller.post(query, {})).json()
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    scheduler = await clinic.member(permissions_of=["Front desk"])
    assert (await scheduler.gql(APPOINTMENT_CHANGES, {}))["appointmentChanges"] is not None


async def test_a_bad_cursor_or_page_size_is_refused(clinic):
    for variables in ({"after": "not-a-cursor"}, {"n": -1}, {"n": 100_000}):
        body = (await clinic.vendor.post(PATIENT_CHANGES, variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


# --- Nothing committed late is skipped -------------------------------------------------


async def _slow_update(org_id: int, patient_key: int, started: asyncio.Event, release: asyncio.Event) -> None:
    """A transaction that writes a patient, then waits (a slow client, a long batch)
    before its audit event is recorded and it commits."""
    actor = support_cli_actor(org_id)
    async with atomic() as conn:
        row = await actor.data.patients.filter(id=patient_key).using_db(conn).get()
        row.last_name = unique("Slow")
        await row.save(using_db=conn, update_fields=["last_name"])
        started.set()
        await release.wait()
        await events.record(
            conn, actor, AuditAction.PATIENT_UPDATED, "Patient", row.public_id, {"lastName": row.last_name}, row=row
        )


async def _slow_after_its_event(org_id: int, patient_key: int, started: asyncio.Event, release: asyncio.Event) -> None:
    """A transaction that writes a patient and records its event (taking the next
    sequence number), then waits before it commits."""
    actor = support_cli_actor(org_id)
    async with atomic() as conn:
        row = await actor.data.patients.filter(id=patient_key).using_db(conn).get()
        row.last_name = unique("Slow")
        await row.save(using_db=conn, update_fields=["last_name"])
        await events.record(
            conn, actor, AuditAction.PATIENT_UPDATED, "Patient", row.public_id, {"lastName": row.last_name}, row=row
        )
        started.set()
        await release.wait()


NO_OVERTAKING_ON_SQLITE = (
    "SQLite cannot commit a later transaction first: every write transaction begins IMMEDIATE and holds the "
    "database's one write lock until it ends, so a second writer waits for the first to commit (and would wait "
    "for this test forever); numbers are taken and committed strictly one transaction after another"
)


@pytest.mark.skipif(backend() != "postgres", reason=NO_OVERTAKING_ON_SQLITE)
async def test_a_slow_transaction_that_began_first_is_not_skipped(clinic):
    """On PostgreSQL two connections: the slow one writes its patient first; another
    change commits meanwhile and a reader moves past it; the slow one commits last, and
    the reader's next page still returns it (its sequence number is taken under the
    chain lock, after the other's commit)."""
    org = clinic.organization.id
    slow, fast = await register(clinic.vendor), await register(clinic.vendor)
    _, cursor = await feed(clinic.vendor, PATIENT_CHANGES)
    started, release = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_slow_update(org, await key_of(slow), started, release))
    await started.wait()
    await gql_ok(clinic.vendor, UPDATE, {"i": {"patientId": fast, "phone": "4165550111"}})
    seen, cursor = await feed(clinic.vendor, PATIENT_CHANGES, cursor)
    assert seen == [fast]  # the slow change is not committed yet
    release.set()
    await task
    seen, _ = await feed(clinic.vendor, PATIENT_CHANGES, cursor)
    assert seen == [slow]


@pytest.mark.skipif(backend() != "postgres", reason=NO_OVERTAKING_ON_SQLITE)
async def test_a_transaction_holding_a_number_makes_later_ones_commit_after_it(clinic):
    """On PostgreSQL two connections: the slow one has taken its sequence number and not
    committed; a change that starts meanwhile waits on the chain lock, so no reader can
    see a higher number while a lower one is still to come."""
    org = clinic.organization.id
    slow, fast = await register(clinic.vendor), await register(clinic.vendor)
    _, cursor = await feed(clinic.vendor, PATIENT_CHANGES)
    started, release = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_slow_after_its_event(org, await key_of(slow), started, release))
    await started.wait()
    change = asyncio.create_task(gql_ok(clinic.vendor, UPDATE, {"i": {"patientId": fast, "phone": "4165550112"}}))
    seen, cursor_meanwhile = await feed(clinic.vendor, PATIENT_CHANGES, cursor)
    assert seen == []  # neither has committed: the second waits for the first
    release.set()
    await task
    await change
    seen, _ = await feed(clinic.vendor, PATIENT_CHANGES, cursor_meanwhile)
    assert seen == [slow, fast]


# --- SQL statements --------------------------------------------------------------------


async def _statements(caller, query: str, n: int) -> list[str]:
    counter = hooks.count_statements()
    try:
        data = await caller.gql(query, {"n": n})
    finally:
        hooks.stop_counting(counter)
    [page] = data.values()
    assert len(page["edges"]) == n
    # The revocation poll may land in any request; the API-log and patient access writes
    # are the request's own, one batch each.
    return [sql for sql in counter.statements if "auth_epoch" not in sql]


async def test_a_feed_page_costs_the_same_statements_for_5_and_25_rows(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    for day in range(25):
        await book(clinic.vendor, dr, await register(clinic.vendor), at(2 + day, 9))
    WITH_PEOPLE = APPOINTMENT_CHANGES.replace("reason updatedAt", "patient { id lastName } practitioner { id }")
    for query in (PATIENT_CHANGES, APPOINTMENT_CHANGES, WITH_PEOPLE):
        await _statements(clinic.owner, query, 1)  # warm the session cache
        five, twenty_five = await _statements(clinic.owner, query, 5), await _statements(clinic.owner, query, 25)
        assert len(five) == len(twenty_five), (five, twenty_five)
        reads = [sql for sql in five if sql.lstrip().upper().startswith("SELECT")]
        assert not any("COUNT(" in sql.upper() for sql in reads)  # no totalCount asked, none counted
    assert len(reads) == 3, reads  # the page, its patients, its practitioners


async def test_the_feeds_read_by_their_index(app):
    conn = connections.get("default")
    if backend() == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        _, rows = await conn.execute_query("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
    assert {f"chx_{t}_organization_id_change_seq" for t in ("patient", "appointment")} <= {r["name"] for r in rows}
    if backend() == "sqlite":  # PostgreSQL's planner scans small tables; the catalog check covers it
        _, plan = await conn.execute_query(
            'EXPLAIN QUERY PLAN SELECT "id" FROM "patient" WHERE "organization_id" = ? AND "change_seq" > ? '
            'ORDER BY "change_seq", "id" LIMIT 10',
            [1, 0],
        )
        assert any("chx_patient_organization_id_change_seq" in str(dict(r)) for r in plan), plan
