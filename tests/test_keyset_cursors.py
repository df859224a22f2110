"""Cursors are keyset cursors: a client paging through any connection while rows are
written never gets a row twice and never misses a row that was there when it started
(offset cursors repeated two rows of the API log's first page on its second one).

The test walks the schema: every connection field of the root query that pages (takes
`after`) must have a writer below, that adds rows sorting *before* the pages already
read (newest-first lists get new rows on top, ordered lists get rows sorting first);
a connection that does not page (the deactivation preview's) must return its whole list."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
import pytest
from graphql import GraphQLObjectType, get_named_type

from chrgraph.db.models import License, QuestionnaireKind, UserType
from chrgraph.graphql_engine import core_schema
from chrgraph.resolvers.patients.patients import register_patient
from chrgraph.resolvers.portal.settings import update_portal_settings
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.work import create_inbox_message, create_questionnaire
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from chrgraph.schema import schema
from tests.accounts import Clinic, make_clinic
from tests.helpers import gid, unique
from tests.test_connection_sql_counts import chart_number, patient, practitioner, slot, support

PAGE = 4
SEEDED = 10
WRITTEN_BETWEEN_PAGES = 3


def _paging_connections() -> dict[str, bool]:
    """Root query fields returning a connection, and whether each pages (takes `after`)."""
    core = core_schema(schema)
    found = {}
    for name, field in core.query_type.fields.items():
        target = get_named_type(field.type)
        if isinstance(target, GraphQLObjectType) and target.name.endswith("Connection") and "edges" in target.fields:
            found[name] = "after" in field.args
    return found


# --- writers: each adds `count` rows that sort before every row already read ------------

Writer = Callable[[Clinic, dict, int], Awaitable[None]]


async def _users(clinic: Clinic, state: dict, count: int) -> None:
    for _ in range(count):
        state["n"] = state.get("n", 0) + 1
        await invite_user(
            support(clinic),
            f"{unique('early')}@{clinic.domain}.test",
            Profile(
                type=UserType.STAFF, license=License.STAFF, first_name="Ann", last_name=f"Aa{1000 - state['n']:04}"
            ),
        )


async def _patients(clinic: Clinic, state: dict, count: int) -> None:
    for _ in range(count):
        state["n"] = state.get("n", 0) + 1
        await register_patient(
            support(clinic),
            {
                "first_name": "Pat",
                "last_name": f"Aa{1000 - state['n']:04}",
                "date_of_birth": date(1980, 5, 17),
                "email": None,
                "phone": None,
                "health_card_number": None,
            },
            [],
        )


async def _appointments(clinic: Clinic, state: dict, count: int) -> None:
    if "dr" not in state:
        state["dr"], state["chart"], state["next"] = (
            await practitioner(clinic, accept=True),
            await chart_number(clinic),
            100,
        )
    for _ in range(count):
        state["next"] -= 1  # earlier and earlier slots: each sorts first
        pat = await patient(clinic, state["chart"], state["next"])
        await book_appointment(support(clinic), state["dr"], pat, slot(state["next"]), 15)


async def _questionnaires(clinic: Clinic, state: dict, count: int) -> None:
    if "dr" not in state:
        state["dr"], state["chart"] = await practitioner(clinic), await chart_number(clinic)
    for _ in range(count):
        state["n"] = state.get("n", 0) + 1
        await create_questionnaire(
            support(clinic),
            kind=QuestionnaireKind.SENT,
            title=unique("q"),
            practitioner_id=state["dr"],
            patient_id=await patient(clinic, state["chart"], state["n"]),
        )


async def _inbox_messages(clinic: Clinic, state: dict, count: int) -> None:
    if "dr" not in state:
        state["dr"], state["chart"] = await practitioner(clinic), await chart_number(clinic)
    for _ in range(count):
        state["n"] = state.get("n", 0) + 1
        await create_inbox_message(
            support(clinic),
            owner_id=state["dr"],
            sender_id=state["dr"],
            patient_id=await patient(clinic, state["chart"], state["n"]),
            subject=unique("subject"),
            body="Please review.",
        )


async def _audit_events(clinic: Clinic, state: dict, count: int) -> None:
    await _patients(clinic, state, count)  # one event each


async def _portal_history(clinic: Clinic, state: dict, count: int) -> None:
    for _ in range(count):
        state["n"] = state.get("n", 0) + 1
        await update_portal_settings(support(clinic), otp_timeout_minutes=(5, 10)[state["n"] % 2])


async def _api_logs(clinic: Clinic, state: dict, count: int) -> None:
    for _ in range(count):
        await clinic.vendor.gql("query Ping { viewer { kind } }")


async def _patient_accesses(clinic: Clinic, state: dict, count: int) -> None:
    if "patient" not in state:  # registered without a request: no read recorded
        row = await register_patient(
            support(clinic),
            {
                "first_name": "Pat",
                "last_name": "Read",
                "date_of_birth": date(1980, 5, 17),
                "email": None,
                "phone": None,
                "health_card_number": None,
            },
            [],
        )
        state["patient"] = gid(row)
        state["arguments"] = f'patientId: "{state["patient"]}"'
    for _ in range(count):  # one read per request, newest first
        await clinic.vendor.gql("query Read($id: ID!) { node(id: $id) { id } }", {"id": state["patient"]})


async def _webhook_deliveries(clinic: Clinic, state: dict, count: int) -> None:
    if "subscribed" not in state:  # the receiver's address is allowed in tests; nobody answers there
        await clinic.vendor.gql(
            'mutation { createWebhookSubscription(input: {url: "http://127.0.0.1:9/keyset",'
            " events: [PATIENT_REGISTERED]}) { errors { code } } }"
        )
        state["subscribed"] = True
    for _ in range(count):  # each registration queues one delivery
        await clinic.vendor.gql(
            'mutation { registerPatient(input: {firstName: "Del", lastName: "Ivery", dateOfBirth: "1980-05-17"})'
            " { errors { code } } }"
        )


# Field -> (writer, who reads it, the node's identity).
CONNECTIONS: dict[str, tuple[Writer, str, str]] = {
    "users": (_users, "vendor", "id"),
    "patients": (_patients, "vendor", "id"),
    "appointments": (_appointments, "vendor", "id"),
    "questionnaires": (_questionnaires, "vendor", "id"),
    "inboxMessages": (_inbox_messages, "vendor", "id"),
    "auditEvents": (_audit_events, "vendor", "id"),
    "portalSettingsHistory": (_portal_history, "support", "id"),
    "apiLogs": (_api_logs, "owner", "requestId"),
    "patientAccessLog": (_patient_accesses, "vendor", "requestId"),
    "webhookDeliveries": (_webhook_deliveries, "vendor", "id"),
}


# Connections that page but are not lists of what was there when paging started: a change
# feed returns, by design, every row changed while it is read (again, after the rows read
# before); tests/test_change_feeds.py proves it skips none.
FEEDS = {"patientChanges", "appointmentChanges"}


def test_every_paging_connection_of_the_schema_has_a_writer_here():
    paging = {name for name, pages in _paging_connections().items() if pages}
    assert paging == set(CONNECTIONS) | FEEDS


def test_a_connection_that_does_not_page_returns_its_whole_list():
    core = core_schema(schema)
    for type_ in core.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_ is core.query_type or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            target = get_named_type(field.type)
            if (
                target.name.endswith("Connection")
                and isinstance(target, GraphQLObjectType)
                and "edges" in target.fields
            ):
                assert not {"first", "after", "last", "before"} & set(field.args), f"{type_.name}.{name}"


def _document(field: str, identity: str, backward: bool, extra: str = "") -> str:
    arguments = "last: $size, before: $cursor" if backward else "first: $size, after: $cursor"
    arguments = f"{extra}, {arguments}" if extra else arguments
    return f"""query Page($size: Int, $cursor: String) {{ {field}({arguments}) {{
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ {identity} }} }} }} }}"""


async def _all_ids(caller: Any, field: str, identity: str, extra: str = "") -> list[str]:
    arguments = f"{extra}, first: 100" if extra else "first: 100"
    page = await caller.gql(f"{{ {field}({arguments}) {{ totalCount edges {{ node {{ {identity} }} }} }} }}")
    assert page[field]["totalCount"] < 100
    return [e["node"][identity] for e in page[field]["edges"]]


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("field", sorted(CONNECTIONS))
async def test_rows_written_between_pages_never_repeat_or_skip_a_row(client, field, backward):
    writer, reader, identity = CONNECTIONS[field]
    if backward and "before" not in core_schema(schema).query_type.fields[field].args:
        pytest.skip(f"{field} pages forward only")
    clinic = await make_clinic(client)
    caller = getattr(clinic, reader)
    state: dict = {}
    await writer(clinic, state, SEEDED)
    extra = state.get("arguments", "")  # a connection of one record (patientAccessLog)
    there_at_start = await _all_ids(caller, field, identity, extra)
    document = _document(field, identity, backward, extra)

    seen: list[str] = []
    cursor = None
    for _ in range(50):
        page = (await caller.gql(document, {"size": PAGE, "cursor": cursor}))[field]
        ids = [e["node"][identity] for e in page["edges"]]
        seen += reversed(ids) if backward else ids
        info = page["pageInfo"]
        if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
            break
        cursor = info["startCursor"] if backward else info["endCursor"]
        await writer(clinic, state, WRITTEN_BETWEEN_PAGES)  # rows sorting before the pages read
    else:
        raise AssertionError("paging never ended")

    assert len(seen) == len(set(seen)), "a row came twice"
    if backward:  # paging back from the end: rows written on top after it started may show
        assert set(there_at_start) <= set(seen), "a row was skipped"
    else:  # paging forward, the new rows sort before the pages: none of them shows
        assert seen == there_at_start


def test_a_cursor_carries_neither_an_offset_nor_a_database_key():
    from chrgraph.schema.relay import encode_cursor

    cursor = encode_cursor(("last_name", "id"), ["Doe"], "a" * 26)
    decoded = orjson.loads(base64.urlsafe_b64decode(cursor))
    assert decoded[2:] == [["Doe"], "a" * 26]


AFTER = "query($c: String) { auditEvents(after: $c) { totalCount } }"


async def test_a_malformed_or_old_offset_cursor_is_bad_user_input(client):
    clinic = await make_clinic(client)
    old_offset = base64.urlsafe_b64encode(b"cursor:3").decode()
    for cursor in (old_offset, "not base64!", base64.urlsafe_b64encode(b'["k1","-seq",[1],"x"]').decode()):
        response = await clinic.vendor.post(
            "query($c: String) { auditEvents(after: $c) { totalCount } }", {"c": cursor}
        )
        body = response.json()
        assert body["data"]["auditEvents"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
