"""GraphQL conventions: Relay ids and connections, tenancy of `node`, SQL
statements per request, the committed SDL, declared permissions, masked errors, the
parse/validation cache and the request id."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from strawberry import relay
from strawberry.permission import BasePermission

import chrgraph.http.graphql as view
from chrgraph.auth import epoch
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import ActorKind
from chrgraph.db.models import AuditEvent as AuditEventModel
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.schema import schema
from tests.helpers import Vendor, make_vendor, unique

ROOT = Path(__file__).resolve().parent.parent

VIEWER = "query Viewer { viewer { kind organization { id domain } consumer { id issuer } } }"

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Organization { domain }
    ... on ApiConsumer { issuer }
    ... on AuditEvent { action }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
  }
}
"""

AUDIT_PAGE = """
query AuditPage($first: Int, $after: String, $last: Int, $before: String, $filter: AuditEventFilter) {
  viewer { kind }
  auditEvents(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id seq action actorKind occurredAt } }
  }
}
"""

AUDIT_FULL = """
query AuditFull {
  auditEvents(first: 100) {
    totalCount
    edges {
      cursor
      node { id seq action actorKind actorId targetType targetId changes { field before after } }
    }
  }
}
"""

AUDIT_COUNT = "query AuditCount { viewer { kind } auditEvents { totalCount } }"

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


async def _add_events(vendor: Vendor, count: int) -> None:
    """Each rename through `updateOrganization`'s operation records one audit event."""
    actor = support_cli_actor(vendor.organization.id)
    for i in range(count):
        await update_organization(actor, name=f"Clinic {i}")


async def _event_count(vendor: Vendor, **where: object) -> int:
    """Counted by the ORM, not by the API under test."""
    return await AuditEventModel.filter(organization_id=vendor.organization.id, **where).count()


async def _events_vendor(client, events: int) -> Vendor:
    """A vendor whose organization holds exactly `events` audit events."""
    vendor = await make_vendor(client)
    await _add_events(vendor, events - await _event_count(vendor))
    assert await _event_count(vendor) == events
    return vendor


async def _global_ids(vendor: Vendor) -> dict[str, str]:
    data = await vendor.gql(VIEWER)
    event = await vendor.gql(AUDIT_PAGE, {"first": 1})
    return {
        "organization": data["viewer"]["organization"]["id"],
        "consumer": data["viewer"]["consumer"]["id"],
        "event": event["auditEvents"]["edges"][0]["node"]["id"],
    }


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _single_error(body: dict) -> dict:
    assert len(body.get("errors", [])) == 1, body
    return body["errors"][0]


@dataclass(frozen=True)
class BusyOrganization:
    """An organization whose creation recorded `initial` events (the organization, its
    consumer, and whatever else creating an organization records), then 60 renames,
    a `moment`, and 60 more renames."""

    vendor: Vendor
    initial: dict[str, int]
    moment: datetime
    renames: int = 120

    @property
    def total(self) -> int:
        return self.initial["all"] + self.renames


@pytest.fixture(scope="module")
async def busy(client) -> BusyOrganization:
    vendor = await make_vendor(client)
    initial = {
        "all": await _event_count(vendor),
        "ORGANIZATION_UPDATED": await _event_count(vendor, action="ORGANIZATION_UPDATED"),
        "SYSTEM": await _event_count(vendor, actor_kind=ActorKind.SYSTEM),
        "SUPPORT": await _event_count(vendor, actor_kind=ActorKind.SUPPORT),
        "CONSUMER": await _event_count(vendor, actor_kind=ActorKind.CONSUMER),
    }
    await _add_events(vendor, 60)
    await asyncio.sleep(0.01)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await _add_events(vendor, 60)
    return BusyOrganization(vendor, initial, moment)


# --- node / nodes ---------------------------------------------------------------------


async def test_node_returns_the_callers_own_organization_consumer_and_audit_event(vendor):
    ids = await _global_ids(vendor)

    found = {name: (await vendor.gql(NODE, {"id": gid}))["node"] for name, gid in ids.items()}

    assert found["organization"] == {
        "__typename": "Organization",
        "id": ids["organization"],
        "domain": vendor.organization.domain,
    }
    assert found["consumer"] == {
        "__typename": "ApiConsumer",
        "id": ids["consumer"],
        "issuer": vendor.consumer.issuer,
    }
    assert found["event"]["__typename"] == "AuditEvent"
    assert found["event"]["id"] == ids["event"]


async def test_node_of_another_organization_is_null_like_a_missing_one(client, vendor):
    other = await make_vendor(client)
    theirs = await _global_ids(other)

    for gid in theirs.values():
        response = await vendor.post(NODE, {"id": gid})
        assert response.status_code == 200
        assert {k: v for k, v in response.json().items() if k != "extensions"} == {"data": {"node": None}}
    missing = str(relay.GlobalID("AuditEvent", "999999999"))
    missing_answer = (await vendor.post(NODE, {"id": missing})).json()
    assert {k: v for k, v in missing_answer.items() if k != "extensions"} == {"data": {"node": None}}


async def test_nodes_mixes_found_objects_and_nulls(client, vendor):
    mine = await _global_ids(vendor)
    theirs = await _global_ids(await make_vendor(client))
    ids = [
        mine["organization"],
        theirs["organization"],
        mine["consumer"],
        theirs["event"],
        str(relay.GlobalID("Spaceship", "1")),
        mine["event"],
    ]

    data = await vendor.gql(NODES, {"ids": ids})

    assert [n and n["__typename"] for n in data["nodes"]] == [
        "Organization",
        None,
        "ApiConsumer",
        None,
        None,
        "AuditEvent",
    ]
    assert [n and n["id"] for n in data["nodes"]] == [
        mine["organization"],
        None,
        mine["consumer"],
        None,
        None,
        mine["event"],
    ]


async def test_malformed_global_id_is_bad_user_input_not_an_internal_error(vendor):
    for malformed in ("not-a-global-id", "%%%", ""):
        response = await vendor.post(NODE, {"id": malformed})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == {"node": None}
        error = _single_error(body)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert error["path"] == ["node"]


async def test_global_id_of_an_unknown_type_or_a_non_numeric_key_is_null(vendor):
    for gid in (
        relay.GlobalID("Spaceship", "1"),
        relay.GlobalID("Organization", "abc"),
        relay.GlobalID("Organization", "1.5"),
    ):
        response = await vendor.post(NODE, {"id": str(gid)})
        assert {k: v for k, v in response.json().items() if k != "extensions"} == {"data": {"node": None}}, (
            response.text
        )


# --- connections ----------------------------------------------------------------------


async def test_connection_pages_50_items_by_default_with_total_count(busy):
    page = (await busy.vendor.gql(AUDIT_PAGE))["auditEvents"]

    assert page["totalCount"] == busy.total > 50
    assert len(page["edges"]) == 50
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    seqs = [e["node"]["seq"] for e in page["edges"]]
    assert seqs == list(range(busy.total, busy.total - 50, -1)), "newest first"


async def test_first_100_is_allowed(busy):
    page = (await busy.vendor.gql(AUDIT_PAGE, {"first": 100}))["auditEvents"]

    assert len(page["edges"]) == 100
    assert page["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_page_size_above_100_is_refused_not_clamped(busy, argument):
    response = await busy.vendor.post(AUDIT_PAGE, {argument: 101})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": {"kind": "CONSUMER"}, "auditEvents": None}
    error = _single_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["auditEvents"]


async def test_cursors_page_forward_without_overlap_or_gaps(busy):
    seqs: list[int] = []
    after = None
    pages = 0

    while True:
        page = (await busy.vendor.gql(AUDIT_PAGE, {"first": 30, "after": after}))["auditEvents"]
        pages += 1
        assert page["totalCount"] == busy.total
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seqs += [e["node"]["seq"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == -(-busy.total // 30)
    assert seqs == list(range(busy.total, 0, -1))


async def test_cursors_page_backward_with_last_and_before_without_overlap_or_gaps(busy):
    pages: list[list[int]] = []
    before = None

    while True:
        page = (await busy.vendor.gql(AUDIT_PAGE, {"last": 30, "before": before}))["auditEvents"]
        assert page["totalCount"] == busy.total
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        pages.insert(0, [e["node"]["seq"] for e in page["edges"]])
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]

    assert [len(p) for p in pages[1:]] == [30] * (len(pages) - 1)
    assert 0 < len(pages[0]) <= 30
    assert [seq for p in pages for seq in p] == list(range(busy.total, 0, -1))


async def test_a_cursor_continues_where_its_page_stopped_in_both_directions(busy):
    first = (await busy.vendor.gql(AUDIT_PAGE, {"first": 10}))["auditEvents"]
    middle = first["edges"][4]["cursor"]
    newest = busy.total

    after = (await busy.vendor.gql(AUDIT_PAGE, {"first": 3, "after": middle}))["auditEvents"]
    before = (await busy.vendor.gql(AUDIT_PAGE, {"last": 3, "before": middle}))["auditEvents"]

    assert [e["node"]["seq"] for e in after["edges"]] == [newest - 5, newest - 6, newest - 7]
    assert [e["node"]["seq"] for e in before["edges"]] == [newest - 1, newest - 2, newest - 3]
    assert before["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": before["edges"][0]["cursor"],
        "endCursor": before["edges"][-1]["cursor"],
    }


async def test_a_page_past_the_end_is_empty_and_says_so(busy):
    last = (await busy.vendor.gql(AUDIT_PAGE, {"last": 1}))["auditEvents"]

    page = (await busy.vendor.gql(AUDIT_PAGE, {"after": last["pageInfo"]["endCursor"]}))["auditEvents"]

    assert page["edges"] == []
    assert page["totalCount"] == busy.total
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["startCursor"] is None and page["pageInfo"]["endCursor"] is None


@pytest.mark.parametrize(
    "cursor", ["not a cursor", _cursor("cursor:-1"), _cursor("offset:3"), _cursor("cursor:three"), "%%%"]
)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_malformed_cursor_is_bad_user_input(busy, argument, cursor):
    response = await busy.vendor.post(AUDIT_PAGE, {argument: cursor})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": {"kind": "CONSUMER"}, "auditEvents": None}
    assert _single_error(body)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_audit_event_filters_narrow_the_list_and_its_total(busy):
    initial = busy.initial

    async def total(**filter_) -> int:
        data = await busy.vendor.gql(AUDIT_PAGE, {"first": 100, "filter": filter_})
        return data["auditEvents"]["totalCount"]

    assert await total(action="ORGANIZATION_UPDATED") == initial["ORGANIZATION_UPDATED"] + 120
    assert await total(action="API_CONSUMER_CREATED") == 1
    # The action is an enum: a word that names no action is refused, not matched.
    refused = (await busy.vendor.post(AUDIT_PAGE, {"first": 100, "filter": {"action": "NO_SUCH_ACTION"}})).json()
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await total(actorKind="SYSTEM") == initial["SYSTEM"] >= 1
    assert await total(actorKind="SUPPORT") == initial["SUPPORT"] + 120
    assert await total(actorKind="CONSUMER") == initial["CONSUMER"]
    assert await total(since=busy.moment.isoformat()) == 60
    assert await total(until=busy.moment.isoformat()) == busy.total - 60
    assert await total(since=busy.moment.isoformat(), action="API_CONSUMER_CREATED") == 0

    system = await busy.vendor.gql(AUDIT_PAGE, {"filter": {"actorKind": "SYSTEM"}})
    nodes = [edge["node"] for edge in system["auditEvents"]["edges"]]
    assert {node["actorKind"] for node in nodes} == {"SYSTEM"}
    assert "ORGANIZATION_CREATED" in {node["action"] for node in nodes}


# --- SQL statements per request -------------------------------------------------------


async def _statements_of(vendor: Vendor, document: str) -> list[str]:
    """Every statement one request sends (the API-log row included), but the auth-epoch
    poll, which runs on a clock (at most every 0.5 s), not per request."""
    epoch.clear_local()  # whatever other processes changed, the warm-up request reloads now
    await vendor.gql(document)  # warm the consumer cache: the counted request reads no keys
    counter = hooks.count_statements()
    try:
        await vendor.gql(document)
    finally:
        hooks.stop_counting(counter)
    return [s for s in counter.statements if "auth_epoch" not in s]


async def test_audit_events_cost_the_same_statements_for_10_or_100_events(client):
    small = await _events_vendor(client, 10)
    large = await _events_vendor(client, 100)
    assert len((await small.gql(AUDIT_FULL))["auditEvents"]["edges"]) == 10
    assert len((await large.gql(AUDIT_FULL))["auditEvents"]["edges"]) == 100

    with_10 = await _statements_of(small, AUDIT_FULL)
    with_100 = await _statements_of(large, AUDIT_FULL)

    assert len(with_10) == len(with_100), (with_10, with_100)
    assert len(with_100) <= 4, with_100  # COUNT, page SELECT, API-log INSERT and lastUsedAt


async def test_viewer_query_costs_a_small_fixed_number_of_statements(vendor):
    first = await _statements_of(vendor, VIEWER)
    second = await _statements_of(vendor, VIEWER)

    assert len(first) == len(second) == 4, first  # organization, consumer, API-log row, lastUsedAt
    assert sum(s.lstrip().upper().startswith("SELECT") for s in first) == 2, first


# --- the committed SDL ----------------------------------------------------------------


def test_committed_schema_graphql_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text()

    assert committed == schema.as_str() + "\n", (
        "schema.graphql is out of date with chrgraph.schema: run `make schema` and commit it"
    )


# --- the repository stands alone ------------------------------------------------------

# The team's working papers live outside the repository and are not part of the product:
# nothing here may point to them (their folder, their names, their section signs). Spelled
# in pieces so that this file does not match itself.
OUTSIDE_PAPERS = re.compile(
    "|".join(
        (
            re.escape("../" + "shared"),
            re.escape("\N{SECTION SIGN}"),
            r"\b" + "SP" + r"EC\b",  # the contract, as a whole word (never inside "introspection")
            r"(?i:\b(?:the|product|our) " + "spec" + r"\b)",
            r"\b" + "LIBRARY" + r"[-_ ]NOTES\b",
            r"\b" + "STY" + r"LE\b",
        )
    )
)


def test_no_tracked_file_points_to_papers_outside_the_repository():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    pointing = []
    for name in listed.stdout.decode().split("\0"):
        path = ROOT / name
        if not name or name == "docs/decisions.md" or not path.is_file():
            continue
        content = path.read_bytes()
        if b"\0" in content:
            continue  # binary
        text = content.decode("utf-8", errors="replace")
        pointing += [
            f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE_PAPERS.search(line)
        ]

    assert pointing == [], "say the rule in the project's own words:\n" + "\n".join(pointing)


@pytest.mark.parametrize(
    ("line", "points_outside"),
    [
        ("see ../" + "shared/x.md", True),
        ("as in \N{SECTION SIGN}9", True),
        ("the " + "SP" + "EC says so", True),
        ("written in the " + "spec", True),
        ("see " + "STY" + "LE for habits", True),
        ("INTROSPECTION_ROOTS and SPECIAL_USE names", False),
        ("the GraphQL multipart request spec", False),
        ("a json spec for the load run", False),
    ],
)
def test_the_outside_papers_check_tells_a_pointer_from_ordinary_words(line, points_outside):
    assert bool(OUTSIDE_PAPERS.search(line)) is points_outside


# --- permissions are declared ---------------------------------------------------------


def test_every_root_field_declares_a_permission_class():
    roots = [schema.get_type_by_name(name) for name in ("Query", "Mutation", "Subscription")]
    roots = [root for root in roots if root is not None]
    fields = [(root.name, field) for root in roots for field in root.fields]
    assert any(name == "Query" for name, _ in fields)

    undeclared = [
        f"{name}.{field.python_name}"
        for name, field in fields
        if not field.permission_classes or not all(issubclass(p, BasePermission) for p in field.permission_classes)
    ]

    assert undeclared == [], f"root fields without a permission class: {undeclared}"


# --- unexpected errors are masked -----------------------------------------------------

LEAKY_DETAIL = 'relation "audit_event" is broken near SELECT secret-detail-7731'


async def test_unexpected_error_is_masked_with_the_request_id_and_logged(vendor, caplog):
    await vendor.gql(AUDIT_COUNT)  # the consumer is cached: the fault hits the resolver
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="audit_event", reads=True, message=LEAKY_DETAIL))
    try:
        with caplog.at_level(logging.ERROR, logger="chrgraph"):
            response = await vendor.post(AUDIT_COUNT, headers={"X-Request-Id": "masked-error-0001"})
    finally:
        hooks.disarm_fault()

    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert request_id != "masked-error-0001"  # always the server's own
    body = response.json()
    assert body["data"] == {"viewer": {"kind": "CONSUMER"}, "auditEvents": None}
    error = _single_error(body)
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == request_id
    assert request_id in error["message"]
    for leak in ("secret-detail", "SELECT", "audit_event", "InjectedFault", "Traceback"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.name == "chrgraph" and request_id in r.getMessage()]
    assert logged, caplog.text
    assert any(r.exc_info and isinstance(r.exc_info[1], hooks.InjectedFault) for r in logged)
    assert "secret-detail-7731" in caplog.text


async def test_a_fault_plan_without_reads_leaves_queries_alone(vendor):
    plan = hooks.FaultPlan(fail_at=1, match="audit_event")
    hooks.arm_fault(plan)
    try:
        data = await vendor.gql(AUDIT_COUNT)
    finally:
        hooks.disarm_fault()

    assert data["auditEvents"]["totalCount"] == await _event_count(vendor)
    assert plan.fired is False


# --- the parse and validation cache ---------------------------------------------------


async def test_the_same_document_is_parsed_and_validated_once(vendor, monkeypatch):
    calls = {"parse": 0, "validate": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(view, "parse", counted("parse", view.parse))
    monkeypatch.setattr(view, "validate", counted("validate", view.validate))
    document = f"query Fresh {{ viewer {{ kind }} }}  # {unique('never-seen')}"

    first = await vendor.gql(document)
    second = await vendor.gql(document)
    await vendor.gql(document + " ")  # another text is another document

    assert first == second == {"viewer": {"kind": "CONSUMER"}}
    assert calls == {"parse": 2, "validate": 2}


async def test_the_endpoint_caches_are_bounded(app):
    endpoint = app.graphql_endpoint

    for cached in (endpoint.documents.parse, endpoint.documents.prepare):
        assert cached.cache_info().maxsize == endpoint.settings.parser_cache_size > 0


# --- the request id -------------------------------------------------------------------


async def test_the_request_id_is_the_servers_even_when_the_caller_sends_one(vendor, client):
    """A caller's X-Request-Id is kept as the API log's clientRequestId, never in place
    of ours (a copied one would make two requests one)."""
    seen = set()
    for sane in ("abcdefgh", "req_2024-11-23_0001", "A" * 64, "abcdefgh"):
        response = await vendor.post(AUDIT_COUNT, headers={"X-Request-Id": sane})
        assert response.headers["x-request-id"] != sane
        assert SANE_REQUEST_ID.match(response.headers["x-request-id"])
        seen.add(response.headers["x-request-id"])
    assert len(seen) == 4
    anonymous = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "anonymous-0001"}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["x-request-id"] != "anonymous-0001"


async def test_an_insane_incoming_request_id_is_replaced(vendor):
    seen = set()
    for insane in ("has spaces in it", "x" * 65, "short", "semi;colon;id", "<script>alert</script>", ""):
        response = await vendor.post(AUDIT_COUNT, headers={"X-Request-Id": insane})
        request_id = response.headers["x-request-id"]
        assert request_id != insane
        assert SANE_REQUEST_ID.match(request_id), request_id
        seen.add(request_id)
    assert len(seen) == 6, "each request gets its own id"


def test_no_operation_answers_a_deprecated_error_code():
    from chrgraph.resolvers.errors import DEPRECATED_CODES, ErrorCode

    assert set(DEPRECATED_CODES) <= {code.value for code in ErrorCode}
    for source in (ROOT / "chrgraph").rglob("*.py"):
        if source.name == "errors.py" and source.parent.name == "resolvers":
            continue  # where the codes are declared
        text = source.read_text()
        for code in DEPRECATED_CODES:
            assert f"ErrorCode.{code}" not in text, f"{source} answers the deprecated {code}"
