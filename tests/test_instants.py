"""Instants with offsets and the supported range of dates (issue 13, point 1).

An instant written with any offset is that instant: it is converted to UTC before it is
stored, compared or filtered on, on both databases, so two spellings of one moment can
never double-book a slot. Dates and instants outside 1900-01-01 … 2199-12-31 are
INVALID_INPUT in a mutation's payload and BAD_USER_INPUT on a query field, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    coerce_input_value,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from chrgraph.db import hooks
from chrgraph.db.models import Appointment, AuditEvent, Classification, License, User, UserType
from chrgraph.schema import schema
from chrgraph.schema.scalars import OUT_OF_RANGE, RangeGuard
from tests.accounts import PASSWORD, login, make_clinic
from tests.database_snapshot import BACKGROUND_TABLES
from tests.helpers import key_of
from tests.processes import chrgraph
from tests.scheduling_helpers import patient, practitioner
from tests.test_fault_injection import CALLS, World

BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id start end } errors { code field message relatedId } } }"""
RESCHEDULE = """mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) {
  appointment { id start end } errors { code field message } } }"""
APPOINTMENTS = """query($f: AppointmentFilter) { appointments(filter: $f, first: 100) {
  edges { node { id start } } } }"""
INBOX = """mutation($i: CreateInboxMessageInput!) { createInboxMessage(input: $i) {
  inboxMessage { id snoozedUntil } errors { code field message } } }"""
AUDIT_EVENTS = """query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) {
  edges { node { id occurredAt } } } }"""
API_LOGS = """query($f: ApiLogFilter) { apiLogs(filter: $f, first: 100) { edges { node { requestId createdAt } } } }"""
BILLING = """query($m: String!) { billingStatement(month: $m) { month } }"""

EST = timezone(timedelta(hours=-5))
IST = timezone(timedelta(hours=5, minutes=30))
FAR_FUTURE = ["9999-12-31T00:00:00Z", "9999-12-31T23:00:00-05:00", "2200-01-01T00:00:00Z", "2199-12-31T20:00:00-05:00"]
FAR_PAST = ["1899-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00"]


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def spelled(instant: datetime, zone: timezone) -> str:
    return instant.astimezone(zone).isoformat()


def future(days: int, hour: int = 17) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


async def book(vendor, practitioner_id: str, start: str, minutes: int = 30, patient_id: str | None = None) -> dict:
    org = vendor.organization.id
    variables = {
        "i": {
            "practitionerId": practitioner_id,
            "patientId": patient_id or await patient(org),
            "start": start,
            "durationMinutes": minutes,
        }
    }
    return (await vendor.gql(BOOK, variables))["bookAppointment"]


def writes_of(counter) -> list[str]:
    return [s for s in counter.statements if hooks.is_write(s) and not any(t in s for t in BACKGROUND_TABLES)]


# --- the issue's booking, and what the database holds ----------------------------------


async def test_the_same_instant_written_with_another_offset_cannot_double_book(clinic):
    dr = await practitioner(clinic.organization.id)
    first = await book(clinic.vendor, dr, "2027-01-11T17:00:00Z")
    assert first["errors"] == [] and first["appointment"]["start"] == "2027-01-11T17:00:00+00:00"

    same = await book(clinic.vendor, dr, "2027-01-11T12:00:00-05:00")
    overlapping = await book(clinic.vendor, dr, "2027-01-11T12:10:00-05:00")
    in_india = await book(clinic.vendor, dr, "2027-01-11T22:40:00+05:30")

    for refused in (same, overlapping, in_india):
        assert refused["errors"] == [
            {
                "code": "SLOT_TAKEN",
                "field": ["start"],
                "message": refused["errors"][0]["message"],
                "relatedId": first["appointment"]["id"],
            }
        ]
    after = await book(clinic.vendor, dr, "2027-01-11T12:30:00-05:00")
    assert after["errors"] == [] and after["appointment"]["start"] == "2027-01-11T17:30:00+00:00"


async def test_an_instant_with_an_offset_is_stored_in_utc(clinic):
    dr = await practitioner(clinic.organization.id)
    booked = await book(clinic.vendor, dr, "2027-02-01T09:15:00+05:30", minutes=45)
    assert booked["appointment"]["start"] == "2027-02-01T03:45:00+00:00"
    assert booked["appointment"]["end"] == "2027-02-01T04:30:00+00:00"
    row = await Appointment.get(id=await key_of(booked["appointment"]["id"]))
    assert row.start == datetime(2027, 2, 1, 3, 45, tzinfo=UTC) and row.start.utcoffset() == timedelta(0)
    assert row.end == datetime(2027, 2, 1, 4, 30, tzinfo=UTC)
    # What SQLite compares is the text itself; PostgreSQL's timestamptz is an instant anyway.
    raw = await Appointment.filter(id=row.id).values_list("start", flat=True)
    assert raw[0].utcoffset() == timedelta(0)


async def test_rescheduling_with_an_offset_keeps_the_appointment_list_in_instant_order(clinic):
    dr = await practitioner(clinic.organization.id)
    base = future(20, hour=15)
    early = await book(clinic.vendor, dr, base.isoformat())
    later = await book(clinic.vendor, dr, (base + timedelta(hours=2)).isoformat())
    # 16:00 UTC written as 11:00-05:00: as text it sorts before 15:00+00:00.
    moved = await clinic.vendor.gql(
        RESCHEDULE,
        {"i": {"appointmentId": later["appointment"]["id"], "start": spelled(base + timedelta(hours=1), EST)}},
    )
    assert moved["rescheduleAppointment"]["errors"] == []
    assert moved["rescheduleAppointment"]["appointment"]["start"] == (base + timedelta(hours=1)).isoformat()

    # Move the early one to 15:30 UTC, written in India's time, and list the day.
    clash = await clinic.vendor.gql(
        RESCHEDULE,
        {"i": {"appointmentId": early["appointment"]["id"], "start": spelled(base + timedelta(minutes=45), IST)}},
    )
    assert clash["rescheduleAppointment"]["errors"][0]["code"] == "SLOT_TAKEN"  # [15:45, 16:15) meets 16:00
    listed = await clinic.vendor.gql(
        APPOINTMENTS,
        {
            "f": {
                "practitionerId": dr,
                "startFrom": spelled(base, EST),
                "startBefore": spelled(base + timedelta(hours=3), IST),
            }
        },
    )
    starts = [e["node"]["start"] for e in listed["appointments"]["edges"]]
    assert starts == [base.isoformat(), (base + timedelta(hours=1)).isoformat()]


async def test_the_appointment_window_filters_on_the_instant_whatever_its_offset(clinic):
    dr = await practitioner(clinic.organization.id)
    base = future(21, hour=18)
    ids = []
    for hours in range(4):
        ids.append((await book(clinic.vendor, dr, (base + timedelta(hours=hours)).isoformat()))["appointment"]["id"])

    async def window(start_from: str, start_before: str) -> list[str]:
        filters = {"practitionerId": dr, "startFrom": start_from, "startBefore": start_before}
        data = await clinic.vendor.gql(APPOINTMENTS, {"f": filters})
        return [e["node"]["id"] for e in data["appointments"]["edges"]]

    # [19:00, 21:00) UTC in three spellings each.
    for zone in (UTC, EST, IST):
        assert (
            await window(spelled(base + timedelta(hours=1), zone), spelled(base + timedelta(hours=3), zone)) == ids[1:3]
        )
    assert await window(spelled(base + timedelta(hours=1), EST), spelled(base + timedelta(hours=1), IST)) == []


async def test_snoozed_until_with_an_offset_is_answered_in_utc(clinic):
    data = await clinic.owner.gql(
        INBOX,
        {
            "i": {
                "ownerId": await practitioner(clinic.organization.id),
                "subject": "Lab result",
                "body": "Normal.",
                "snoozedUntil": "2027-03-01T08:00:00-05:00",
            }
        },
    )
    assert data["createInboxMessage"]["errors"] == []
    assert data["createInboxMessage"]["inboxMessage"]["snoozedUntil"] == "2027-03-01T13:00:00+00:00"


async def test_audit_events_since_and_until_mean_the_instant_whatever_the_offset(clinic):
    dr = await practitioner(clinic.organization.id)
    for hours in range(3):
        await book(clinic.vendor, dr, (future(22) + timedelta(hours=hours)).isoformat())
    events = await AuditEvent.filter(organization_id=clinic.organization.id).order_by("-seq").limit(3)
    newest, middle, oldest = events
    # Each window is [middle, newest): only the middle event, however it is written.
    for zone in (UTC, EST, IST):
        filters = {"since": spelled(middle.occurred_at, zone), "until": spelled(newest.occurred_at, zone)}
        data = await clinic.owner.gql(AUDIT_EVENTS, {"f": filters})
        occurred = [datetime.fromisoformat(e["node"]["occurredAt"]) for e in data["auditEvents"]["edges"]]
        assert occurred == [middle.occurred_at], (zone, occurred)
        assert all(o.utcoffset() == timedelta(0) for o in occurred)
    assert oldest.occurred_at < middle.occurred_at


async def api_log_rows(clinic, count: int) -> list[tuple[str, datetime]]:
    for _ in range(count):
        await clinic.vendor.gql("{ viewer { kind } }")
    data = await clinic.support.gql(API_LOGS)
    rows = [(e["node"]["requestId"], datetime.fromisoformat(e["node"]["createdAt"])) for e in data["apiLogs"]["edges"]]
    return rows


async def test_api_logs_since_and_until_mean_the_instant_whatever_the_offset(client):
    clinic = await make_clinic(client)
    rows = await api_log_rows(clinic, 3)
    (newest, newest_at), (middle, middle_at), _ = rows[:3]
    for zone in (UTC, EST, IST):
        filters = {"since": spelled(middle_at, zone), "until": spelled(newest_at, zone)}
        data = await clinic.support.gql(API_LOGS, {"f": filters})
        assert [e["node"]["requestId"] for e in data["apiLogs"]["edges"]] == [middle], zone


async def test_logs_show_since_and_until_take_any_offset(client):
    clinic = await make_clinic(client)
    rows = await api_log_rows(clinic, 3)
    (newest, newest_at), (middle, middle_at), (oldest, _) = rows[:3]
    for since, until in (
        (spelled(middle_at, EST), spelled(newest_at, IST)),
        (middle_at.isoformat(), newest_at.replace(tzinfo=None).isoformat()),  # no offset: UTC, as --help says
    ):
        shown = await chrgraph("logs", "show", "--org", clinic.domain, "--since", since, "--until", until, "--json")
        assert shown.returncode == 0, shown.stderr
        assert [r["requestId"] for r in json.loads(shown.stdout)] == [middle]
    everything = await chrgraph(
        "logs", "show", "--org", clinic.domain, "--since", middle_at.date().isoformat(), "--json"
    )
    assert {oldest, middle, newest} <= {r["requestId"] for r in json.loads(everything.stdout)}


@pytest.mark.parametrize("value", ["9999-12-31T00:00:00Z", "yesterday", "1899-12-31"])
async def test_logs_show_refuses_a_bad_instant_in_one_line(clinic, value):
    shown = await chrgraph("logs", "show", "--org", clinic.domain, "--since", value)
    assert shown.returncode == 2
    assert shown.stderr.strip().count("\n") == 0 and shown.stderr.startswith("error: INVALID_USAGE (since): "), (
        shown.stderr
    )
    assert "Traceback" not in shown.stderr


async def test_org_set_refuses_an_enforcement_date_outside_the_range(clinic):
    shown = await chrgraph("org", "set", "--domain", clinic.domain, "--license-enforcement-date", "9999-12-31")
    assert shown.returncode == 2 and "1900-01-01" in shown.stderr and "Traceback" not in shown.stderr


# --- what an instant must look like --------------------------------------------------


@pytest.mark.parametrize("start", ["2027-01-11T17:00:00", "2027-01-11", "17:00", "tomorrow", "2027-13-01T00:00:00Z"])
async def test_an_instant_without_an_offset_or_malformed_is_bad_user_input(clinic, start):
    dr = await practitioner(clinic.organization.id)
    pat = await patient(clinic.organization.id)
    counter = hooks.count_statements()
    try:
        response = await clinic.owner.post(
            BOOK,
            {
                "i": {
                    "practitionerId": dr,
                    "patientId": pat,
                    "start": start,
                    "durationMinutes": 30,
                }
            },
        )
    finally:
        hooks.stop_counting(counter)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "offset" in body["errors"][0]["message"] or "ISO 8601" in body["errors"][0]["message"]
    assert writes_of(counter) == []


# --- the supported range --------------------------------------------------------------


@pytest.mark.parametrize("start", FAR_FUTURE + FAR_PAST)
async def test_booking_outside_the_supported_range_is_invalid_input(clinic, start):
    dr = await practitioner(clinic.organization.id)
    pat = await patient(clinic.organization.id)
    counter = hooks.count_statements()
    try:
        response = await clinic.owner.post(
            BOOK, {"i": {"practitionerId": dr, "patientId": pat, "start": start, "durationMinutes": 30}}
        )
    finally:
        hooks.stop_counting(counter)
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["bookAppointment"]
    assert payload["appointment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["start"])]
    assert "1900-01-01" in payload["errors"][0]["message"]
    assert writes_of(counter) == []


async def test_an_out_of_range_literal_in_the_document_is_refused_the_same_way(clinic):
    dr = await practitioner(clinic.organization.id)
    pat = await patient(clinic.organization.id)
    document = f"""mutation {{ bookAppointment(input: {{practitionerId: "{dr}", patientId: "{pat}",
      start: "9999-12-31T23:00:00-05:00", durationMinutes: 30}}) {{
      appointment {{ id }} errors {{ code field }} }} }}"""
    data = await clinic.vendor.gql(document)
    assert data["bookAppointment"] == {"appointment": None, "errors": [{"code": "INVALID_INPUT", "field": ["start"]}]}


async def test_snoozing_until_year_9999_is_invalid_input(clinic):
    response = await clinic.owner.post(
        INBOX,
        {
            "i": {
                "ownerId": await practitioner(clinic.organization.id),
                "subject": "Lab",
                "body": "x",
                "snoozedUntil": "9999-12-31T23:59:59Z",
            }
        },
    )
    payload = response.json()["data"]["createInboxMessage"]
    assert payload["inboxMessage"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["snoozedUntil"])]


async def test_a_query_filter_outside_the_range_is_bad_user_input_at_its_field(clinic):
    response = await clinic.owner.post(
        "query($f: AuditEventFilter) { viewer { kind } auditEvents(filter: $f) { totalCount } }",
        {"f": {"since": "9999-12-31T23:00:00-05:00"}},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"viewer": {"kind": "USER"}, "auditEvents": None}  # the other field still answers
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["path"] == ["auditEvents"]
    assert "filter.since" in error["message"]


@pytest.mark.parametrize("month", ["9999-12", "1899-12", "2200-01", "0000-01", "2027-13", "2027-1", "２０２７-01"])
async def test_billing_statement_for_a_month_outside_the_range_or_malformed_is_bad_user_input(clinic, month):
    response = await clinic.owner.post(BILLING, {"m": month})
    body = response.json()
    assert response.status_code == 200, response.text
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


async def test_billing_statement_at_the_edges_of_the_range_answers(clinic):
    for month in ("1900-01", "2199-12"):
        data = await clinic.owner.gql(BILLING, {"m": month})
        assert data["billingStatement"]["month"] == month


async def test_billing_statement_cli_refuses_year_9999_in_one_line(clinic):
    shown = await chrgraph("billing", "statement", "--org", clinic.domain, "--month", "9999-12")
    assert shown.returncode == 1 and "INVALID_INPUT" in shown.stderr and "Traceback" not in shown.stderr


async def test_a_trainee_whose_training_ends_in_year_9999_can_log_in(clinic):
    member = await clinic.member(
        type=UserType.PRACTITIONER,
        license=License.CLINICAL_TRAINEE,
        classification=Classification.CLINICAL_TRAINEE,
        expected_end_of_training=date(2030, 1, 1),
    )
    # Stored before dates were range-checked (an old import, a database edited by hand).
    await User.filter(email=member.email).update(expected_end_of_training=date(9999, 12, 31))
    result = await login(clinic.client, member.email, PASSWORD)
    assert result["errors"] == [] and result["token"]


# --- every date and instant the schema takes ---------------------------------------------


def _date_positions(type_, prefix: tuple[str, ...] = (), seen: frozenset = frozenset()) -> list[tuple[tuple, str]]:
    """(path, scalar name) of every DateTime and Date inside an argument's type."""
    named = get_named_type(type_)
    if named.name in ("DateTime", "Date"):
        return [(prefix, named.name)]
    if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
        return []
    found = []
    for name, field in named.fields.items():
        found.extend(_date_positions(field.type, (*prefix, name), seen | {named.name}))
    return found


def _date_arguments() -> list[tuple[str, str, str, tuple, str]]:
    """(type, field, argument, path inside the argument, scalar) for the whole schema."""
    found = []
    for type_name, type_ in schema._schema.type_map.items():
        if not isinstance(type_, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in type_.fields.items():
            for argument, arg in field.args.items():
                for path, scalar in _date_positions(arg.type):
                    found.append((type_name, field_name, argument, path, scalar))
    return found


DATE_ARGUMENTS = _date_arguments()
VALID_ID = to_base64("User", "1")


def _placeholder(type_) -> Any:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return [_placeholder(inner.of_type)]
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    if isinstance(inner, GraphQLInputObjectType):
        return {n: _placeholder(f.type) for n, f in inner.fields.items() if isinstance(f.type, GraphQLNonNull)}
    return {
        "ID": VALID_ID,
        "String": "x",
        "Int": 1,
        "Boolean": True,
        "DateTime": "2027-01-11T17:00:00Z",
        "Date": "2027-01-11",
    }[inner.name]


def value_at(type_, path: tuple, leaf: Any) -> Any:
    """A value of the argument's type (required fields filled in) with `leaf` at `path`."""
    value = _placeholder(type_)
    target, current = value, get_named_type(type_)
    for part in path[:-1]:
        field_type = current.fields[part].type
        target[part] = target.get(part) or _placeholder(field_type)
        if isinstance(target[part], list):
            target[part] = [target[part][0]]
            target = target[part][0]
        else:
            target = target[part]
        current = get_named_type(field_type)
    if path:
        target[path[-1]] = leaf
        return value
    return leaf


def read_at(coerced: Any, type_, path: tuple) -> Any:
    current = get_named_type(type_)
    for part in path:
        field = current.fields[part]
        coerced = coerced[field.out_name or part]
        if isinstance(coerced, list):
            coerced = coerced[0]
        current = get_named_type(field.type)
    return coerced


def test_the_schema_takes_dates_and_instants_where_this_test_expects_them():
    fields = {(t, f) for t, f, *_ in DATE_ARGUMENTS}
    assert {("Mutation", "bookAppointment"), ("Query", "appointments"), ("Query", "auditEvents")} <= fields
    assert ("Mutation", "createInboxMessage", "input", ("snoozedUntil",), "DateTime") in DATE_ARGUMENTS
    assert len(DATE_ARGUMENTS) >= 15


@pytest.mark.parametrize(
    "type_name, field_name, argument, path, scalar",
    DATE_ARGUMENTS,
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else str(v),
)
def test_every_date_and_instant_argument_is_normalised_and_range_checked(type_name, field_name, argument, path, scalar):
    field = schema._schema.type_map[type_name].fields[field_name]
    arg_type = field.args[argument].type
    if scalar == "DateTime":
        spellings = [
            "2027-01-11T17:00:00Z",
            "2027-01-11T12:00:00-05:00",
            "2027-01-11T22:30:00+05:30",
            "2027-01-11T17:00:00+00:00",
            "20270111T120000-0500",
        ]
        for spelling in spellings:
            got = read_at(coerce_input_value(value_at(arg_type, path, spelling), arg_type), arg_type, path)
            assert got == datetime(2027, 1, 11, 17, tzinfo=UTC) and got.utcoffset() == timedelta(0), (spelling, got)
        out = "9999-12-31T23:00:00-05:00"
    else:
        got = read_at(coerce_input_value(value_at(arg_type, path, "2027-01-11"), arg_type), arg_type, path)
        assert got == date(2027, 1, 11)
        out = "9999-12-31"
    assert read_at(coerce_input_value(value_at(arg_type, path, out), arg_type), arg_type, path) is OUT_OF_RANGE
    definition = schema.get_field_for_type(field_name, type_name)
    assert any(isinstance(e, RangeGuard) for e in definition.extensions), f"{type_name}.{field_name} is not guarded"


@pytest.fixture(scope="module")
async def world(client) -> World:
    return World(client, await make_clinic(client))


@pytest.mark.parametrize(
    "field_name, path",
    [(f, p) for t, f, a, p, _ in DATE_ARGUMENTS if t == "Mutation"],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else v,
)
async def test_every_mutation_refuses_an_out_of_range_date_as_invalid_input_and_writes_nothing(world, field_name, path):
    call = await CALLS[field_name](world)
    arg_type = schema._schema.mutation_type.fields[field_name].args["input"].type
    scalar = get_named_type(read_type(arg_type, path)).name
    out = "9999-12-31T23:00:00-05:00" if scalar == "DateTime" else "9999-12-31"
    variables = {"input": merge(call.input, value_at(arg_type, path, out), path, out)}
    document = f"mutation Run($input: {arg_type}) {{ {field_name}(input: $input) {{ errors {{ code field }} }} }}"
    counter = hooks.count_statements()
    try:
        response = await world.client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {call.token}"},
        )
    finally:
        hooks.stop_counting(counter)
    assert response.status_code == 200, response.text
    payload = response.json()["data"][field_name]
    assert payload["errors"] == [{"code": "INVALID_INPUT", "field": list(path)}], payload
    assert writes_of(counter) == []


@pytest.mark.parametrize(
    "field_name, argument, path",
    [(f, a, p) for t, f, a, p, _ in DATE_ARGUMENTS if t == "Query"],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else v,
)
async def test_every_query_refuses_an_out_of_range_date_as_bad_user_input(world, field_name, argument, path):
    field = schema._schema.query_type.fields[field_name]
    arg_type = field.args[argument].type
    scalar = get_named_type(read_type(arg_type, path)).name
    out = "9999-12-31T23:00:00-05:00" if scalar == "DateTime" else "9999-12-31"
    others = "".join(
        f", {name}: {_literal(arg.type, world.clinic.owner.user_id)}"
        for name, arg in field.args.items()
        if name != argument and isinstance(arg.type, GraphQLNonNull)
    )
    document = f"query Ask($value: {arg_type}) {{ {field_name}({argument}: $value{others}) {{ __typename }} }}"
    counter = hooks.count_statements()
    try:
        response = await world.client.post(
            "/graphql",
            json={"query": document, "variables": {"value": value_at(arg_type, path, out)}},
            headers={"Authorization": f"Bearer {world.owner}"},
        )
    finally:
        hooks.stop_counting(counter)
    body = response.json()
    assert response.status_code == 200, response.text
    assert [(e["extensions"]["code"], e.get("path")) for e in body["errors"]] == [("BAD_USER_INPUT", [field_name])]
    assert ".".join((argument, *path)) in body["errors"][0]["message"]
    assert writes_of(counter) == []


def _literal(type_, an_id: str) -> str:
    """A valid literal for another required argument of a query (its value is beside the
    point: the date under test must be the one refused)."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return f"[{_literal(inner.of_type, an_id)}]"
    named = get_named_type(inner)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    return {"ID": f'"{an_id}"', "Int": "30", "Boolean": "true", "DateTime": '"2030-01-07T14:00:00Z"'}.get(
        named.name, '"2030-01-07"'
    )


def read_type(type_, path: tuple):
    for part in path:
        type_ = get_named_type(type_).fields[part].type
    return type_


def merge(valid: dict, placeholder: dict, path: tuple, leaf: Any) -> dict:
    """The valid call's input with `leaf` at `path` (nested objects it lacks from `placeholder`)."""
    result = json.loads(json.dumps(valid))
    target, source = result, placeholder
    for part in path[:-1]:
        source = source[part]
        target = target.setdefault(part, json.loads(json.dumps(source)))
    target[path[-1]] = leaf
    return result


# --- the property: any spelling, exactly the overlaps --------------------------------

OFFSETS = st.sampled_from(
    [-12 * 60, -9 * 60 - 30, -5 * 60, -3 * 60 - 30, 0, 60, 5 * 60 + 30, 5 * 60 + 45, 9 * 60, 14 * 60]
)
BOOKINGS = st.lists(
    st.tuples(st.integers(0, 16).map(lambda q: q * 15), st.sampled_from([15, 30, 45, 60]), OFFSETS),
    min_size=2,
    max_size=7,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bookings=BOOKINGS)
async def test_bookings_written_with_random_offsets_find_exactly_the_overlaps(clinic, bookings):
    dr = await practitioner(clinic.organization.id)
    pat = await patient(clinic.organization.id)
    base = future(40, hour=12)
    accepted: list[tuple[datetime, datetime, str]] = []
    for minutes, length, offset in bookings:
        start = base + timedelta(minutes=minutes)
        end = start + timedelta(minutes=length)
        written = spelled(start, timezone(timedelta(minutes=offset)))
        result = await book(clinic.vendor, dr, written, length, patient_id=pat)
        clashes = [a for a in accepted if a[0] < end and start < a[1]]
        if clashes:
            assert [e["code"] for e in result["errors"]] == ["SLOT_TAKEN"], (written, result)
            assert result["errors"][0]["relatedId"] in {c[2] for c in clashes}
        else:
            assert result["errors"] == [], (written, accepted, result)
            assert result["appointment"]["start"] == start.isoformat()
            accepted.append((start, end, result["appointment"]["id"]))
    listed = await clinic.vendor.gql(APPOINTMENTS, {"f": {"practitionerId": dr}})
    assert [e["node"]["start"] for e in listed["appointments"]["edges"]] == sorted(a[0].isoformat() for a in accepted)
