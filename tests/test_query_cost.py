"""Query cost and limits (issue 13, points 2 and 3): every document's cost is computed
before it runs and refused above CHRGRAPH_MAX_NODES; every answer reports its cost; an
API consumer pays from a budget per minute (429 when spent, doing nothing); support sets
a consumer's budget; directives and validation errors are bounded; the standard
introspection query passes the default limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_introspection_query

from chrgraph.db.models import ApiLog, AuditEvent, User
from chrgraph.schema import schema
from chrgraph.schema.limits import ITEM_MAXIMA, LENGTH_OF_ARGUMENT, LIST_MAXIMA, PER_OWNER_AND_DAY
from chrgraph.settings import get_settings
from tests.accounts import make_clinic
from tests.helpers import gid
from tests.processes import chrgraph
from tests.refusal_proof import refused_before_resolvers
from tests.scheduling_helpers import practitioner

# The issue's query: 970,000 objects from one request before costs were counted.
NESTED_MEMBERS = "{ users(first:100){ edges{ node{ roles{ members{ roles{ members{ email }}}}}}}}"
USERS_WITH_ROLES = "query UsersWithRoles { users(first: 100) { edges { node { id roles { name } } } } }"  # 600
# 10 users + their roles (5 each at most) + those roles' members (50 each at most): 2,560.
MEMBERS_OF_TEN = "query MembersOfTen { users(first: 10) { edges { node { roles { members { id } } } } } }"
USERS_PAGE_OF = "query Page($n: Int) { users(first: $n) { edges { node { roles { members { id } } } } } }"
USERS_PAGE_WITH_DEFAULT = (
    "query Page($n: Int = 100) { users(first: $n) { edges { node { roles { members { id } } } } } }"
)
VIEWER = "query Who { viewer { organization { id } } }"  # 2
INVITE = """mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email } errors { code } } }"""  # 22
SET_BUDGET = """mutation SetBudget($input: SetApiConsumerCostBudgetInput!) {
  setApiConsumerCostBudget(input: $input) { apiConsumer { issuer costBudgetPerMinute } errors { code field } } }"""
STANDARD_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)
FIELDS_OF_FIELDS = "{ __schema { types { fields { type { fields { name } } } } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def consumer_id(clinic) -> str:

    return gid(clinic.vendor.consumer)


async def set_budget(clinic, cost_per_minute: int | None) -> dict:
    data = await clinic.support.gql(
        SET_BUDGET, {"input": {"consumerId": consumer_id(clinic), "costPerMinute": cost_per_minute}}
    )
    return data["setApiConsumerCostBudget"]


def invitation(email: str) -> dict:
    return {"input": {"email": email, "type": "STAFF", "license": "STAFF", "firstName": "Cost", "lastName": "Test"}}


# --- the cost of a document -----------------------------------------------------------


async def test_the_issues_nested_members_query_is_refused_with_its_cost_and_the_limit(vendor, monkeypatch):
    assert (await vendor.post(VIEWER)).status_code == 200  # the consumer's credentials are cached
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(NESTED_MEMBERS)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == 10_000
    # 100 users × 5 roles × 50 members × 5 roles × 50 members, and every level above.
    assert error["extensions"]["cost"] == 100 + 100 * 5 + 100 * 5 * 50 + 100 * 5 * 50 * 5 * (1 + 50)
    assert str(error["extensions"]["cost"]) in error["message"]


async def test_a_batch_costs_the_sum_of_its_operations(vendor):
    three = await vendor.client.post(
        "/graphql", json=[{"query": MEMBERS_OF_TEN}] * 3, headers={"Authorization": f"Bearer {vendor.token()}"}
    )
    assert three.status_code == 200, three.text
    assert [r["extensions"]["cost"]["requested"] for r in three.json()] == [2560] * 3
    four = await vendor.client.post(
        "/graphql", json=[{"query": MEMBERS_OF_TEN}] * 4, headers={"Authorization": f"Bearer {vendor.token()}"}
    )
    assert four.status_code == 400, four.text
    [error] = four.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 10_240, "limit": 10_000}
    # The answer's cost report keeps its shape: nothing was charged from the budget.
    budget = get_settings().consumer_cost_per_minute
    assert four.json()["extensions"]["cost"] == {
        "requested": 10_240,
        "limit": budget,
        "remaining": None,
        "resetAt": None,
    }


async def test_page_sizes_given_as_variables_are_counted_with_their_values_or_defaults(vendor):
    small = await vendor.post(USERS_PAGE_OF, {"n": 2})
    assert small.status_code == 200, small.text
    assert small.json()["extensions"]["cost"]["requested"] == 2 + 2 * 5 + 2 * 5 * 50
    assert (await vendor.post(USERS_PAGE_OF, {"n": 39})).status_code == 200  # 9,984
    assert (await vendor.post(USERS_PAGE_OF, {"n": 40})).json()["errors"][0]["extensions"]["cost"] == 10_240
    # Above the largest page (100) the connection refuses it anyway: counted as 100.
    assert (await vendor.post(USERS_PAGE_OF, {"n": 1000})).json()["errors"][0]["extensions"]["cost"] == 25_600
    defaulted = await vendor.post(USERS_PAGE_WITH_DEFAULT)
    assert defaulted.json()["errors"][0]["extensions"]["cost"] == 25_600


def _plain_lists_of_objects() -> set[str]:
    found = set()
    for name, type_ in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            inner, listed = field.type, False
            while isinstance(inner, (GraphQLList, GraphQLNonNull)):
                listed = listed or isinstance(inner, GraphQLList)
                inner = inner.of_type
            is_object = hasattr(inner, "fields") or hasattr(inner, "types")
            if listed and is_object and field_name != "edges":
                found.add(f"{name}.{field_name}:{inner.name}")
    return found


SLOTS = """query Slots($o: [ID!]!, $f: DateTime!, $t: DateTime!) {
  availableSlots(ownerIds: $o, from: $f, to: $t, durationMinutes: 30) { ownerId slots } }"""


async def test_available_slots_cost_owners_times_days(vendor):
    # Each owner's answer holds every slot of the range: a month of two owners costs 62
    # objects, a day of them 2, whether the range comes in variables or literals.
    owners = [await practitioner(vendor.organization.id) for _ in range(2)]
    start = datetime(2031, 1, 6, 5, tzinfo=UTC)
    for days in (31, 1, 7):
        end = start.replace(day=6 + days) if days < 26 else datetime(2031, 2, 6, 5, tzinfo=UTC)
        answer = await vendor.post(SLOTS, {"o": owners, "f": start.isoformat(), "t": end.isoformat()})
        assert answer.status_code == 200, answer.text
        assert answer.json()["extensions"]["cost"]["requested"] == 2 * days, days
    literal = (
        f'{{ availableSlots(ownerIds: ["{owners[0]}"], from: "2031-01-06T05:00:00Z", '
        f'to: "2031-01-09T05:00:00Z", durationMinutes: 30) {{ slots }} }}'
    )
    assert (await vendor.post(literal)).json()["extensions"]["cost"]["requested"] == 3


def test_every_plain_list_of_objects_declares_its_maximum():
    """A new list of objects must be a connection or be given a maximum in LIST_MAXIMA."""
    undeclared = {
        entry
        for entry in _plain_lists_of_objects()
        if entry.split(":")[0] not in LIST_MAXIMA
        and entry.split(":")[0] not in LENGTH_OF_ARGUMENT
        and entry.split(":")[0] not in PER_OWNER_AND_DAY
        and entry.split(":")[1] not in ITEM_MAXIMA
    }
    assert undeclared == set()
    stale = set(LIST_MAXIMA) - {entry.split(":")[0] for entry in _plain_lists_of_objects()}
    assert stale == set()


# --- extensions.cost on every answer --------------------------------------------------


async def test_a_consumers_answers_report_cost_budget_remaining_and_reset(vendor):
    first = (await vendor.post(VIEWER)).json()["extensions"]["cost"]
    second = (await vendor.post(USERS_WITH_ROLES)).json()["extensions"]["cost"]
    assert first["requested"] == 2 and second["requested"] == 600
    assert first["limit"] == second["limit"] == 100_000
    assert second["remaining"] == first["remaining"] - 600
    reset = datetime.fromisoformat(second["resetAt"].replace("Z", "+00:00"))
    assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 61


async def test_a_sessions_answers_report_their_cost_without_a_budget(clinic):
    body = (await clinic.owner.post(USERS_WITH_ROLES)).json()
    assert body["extensions"]["cost"] == {"requested": 600, "limit": None, "remaining": None, "resetAt": None}
    assert (await clinic.owner.post(NESTED_MEMBERS)).json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


# --- the budget per minute ------------------------------------------------------------


async def test_a_consumer_over_its_budget_gets_429_with_retry_after_and_nothing_is_done(clinic, monkeypatch):
    assert (await set_budget(clinic, 30))["apiConsumer"]["costBudgetPerMinute"] == 30
    vendor = clinic.vendor
    invited = await vendor.post(INVITE, invitation(f"first@{clinic.domain}.test"))
    assert invited.status_code == 200, invited.text
    assert invited.json()["extensions"]["cost"]["remaining"] == 30 - 22
    email = f"second@{clinic.domain}.test"
    events_before = await AuditEvent.filter(organization_id=clinic.organization.id).count()
    with refused_before_resolvers(monkeypatch):
        refused = await vendor.post(INVITE, invitation(email))
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert body["extensions"]["cost"]["requested"] == 22 and body["extensions"]["cost"]["remaining"] == 8
    assert not await User.filter(email=email).exists()
    assert await AuditEvent.filter(organization_id=clinic.organization.id).count() == events_before
    # The refusal spent nothing: what is left still pays for a cheaper query.
    cheap = await vendor.post(VIEWER)
    assert cheap.status_code == 200 and cheap.json()["extensions"]["cost"]["remaining"] == 6
    logged = await ApiLog.filter(consumer_id=vendor.consumer.id, status=429).count()
    assert logged == 1


async def test_support_sets_a_consumers_budget_audited_and_others_are_refused(clinic):
    done = await set_budget(clinic, 250_000)
    assert done == {
        "apiConsumer": {"issuer": clinic.vendor.consumer.issuer, "costBudgetPerMinute": 250_000},
        "errors": [],
    }
    assert (await clinic.vendor.post(VIEWER)).json()["extensions"]["cost"]["limit"] == 250_000
    event = await AuditEvent.filter(
        organization_id=clinic.organization.id, action="API_CONSUMER_COST_BUDGET_SET", actor_kind="SUPPORT"
    ).first()
    assert event is not None and event.target_id == gid(clinic.vendor.consumer)
    bad = await set_budget(clinic, -1)
    assert bad["errors"] == [{"code": "INVALID_INPUT", "field": ["costPerMinute"]}]
    restored = await set_budget(clinic, None)
    assert restored["apiConsumer"]["costBudgetPerMinute"] is None
    assert (await clinic.vendor.post(VIEWER)).json()["extensions"]["cost"]["limit"] == 100_000
    variables = {"input": {"consumerId": consumer_id(clinic), "costPerMinute": 10**9}}
    for caller in (clinic.owner, clinic.vendor):
        answer = (await caller.post(SET_BUDGET, variables)).json()
        assert not (answer["data"] or {}).get("setApiConsumerCostBudget")
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await clinic.vendor.post(VIEWER)).json()["extensions"]["cost"]["limit"] == 100_000


async def test_the_cli_sets_a_consumers_budget_through_the_same_operation(clinic):
    issuer = clinic.vendor.consumer.issuer
    done = await chrgraph(
        "consumers", "set-cost-budget", "--org", clinic.domain, "--issuer", issuer, "--cost-per-minute", "5"
    )
    assert done.returncode == 0, done.stderr
    listed = await chrgraph("consumers", "list", "--org", clinic.domain, "--json")
    assert '"costBudgetPerMinute": 5' in listed.stdout.replace('":5', '": 5')
    assert await AuditEvent.filter(
        organization_id=clinic.organization.id, action="API_CONSUMER_COST_BUDGET_SET", actor_kind="SUPPORT"
    ).exists()
    # Another process changed it: this server applies it within a second (the auth epoch).
    deadline = time.monotonic() + 5
    while (await clinic.vendor.post(VIEWER)).json().get("extensions", {}).get("cost", {}).get("limit") != 5:
        assert time.monotonic() < deadline, "the server did not apply the new budget"
    refused = await clinic.vendor.post(USERS_WITH_ROLES)
    assert refused.status_code == 429
    neither = await chrgraph("consumers", "set-cost-budget", "--org", clinic.domain, "--issuer", issuer)
    assert neither.returncode != 0 and "Traceback" not in neither.stderr
    back = await chrgraph("consumers", "set-cost-budget", "--org", clinic.domain, "--issuer", issuer, "--default")
    assert back.returncode == 0, back.stderr


# --- directives, validation errors, introspection --------------------------------------


async def test_more_than_50_directives_are_refused_as_too_complex(vendor, monkeypatch):
    assert (await vendor.post(VIEWER)).status_code == 200
    fifty = "{ " + " ".join(f"a{i}: __typename @skip(if: false)" for i in range(25)) + " }"
    fifty_one = "{ " + " ".join(f"a{i}: __typename @skip(if: false) @include(if: true)" for i in range(26)) + " }"
    assert (await vendor.post(fifty)).status_code == 200
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(fifty_one)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "52 directives" in response.json()["errors"][0]["message"]


async def test_ten_unknown_directives_give_five_errors_and_one_saying_validation_stopped(vendor):
    """graphql-cop's "directive overloading"."""
    response = await vendor.post("query cop { __typename " + "@aa" * 10 + " }")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 6
    assert all(e["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" for e in errors)
    assert all("aa" in e["message"] for e in errors[:5])
    assert errors[5]["message"] == "Validation stopped after 5 errors."


@pytest.mark.parametrize("caller", ["consumer", "session"])
async def test_the_standard_introspection_query_passes_the_default_limits_and_costs_nothing(clinic, caller):
    """What GraphiQL's documentation pane and the code generators send."""
    who = clinic.vendor if caller == "consumer" else clinic.owner
    response = await who.post(STANDARD_INTROSPECTION)
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert body["extensions"]["cost"]["requested"] == 0


async def test_introspection_that_lists_fields_of_fields_is_refused(vendor, monkeypatch):
    assert (await vendor.post(VIEWER)).status_code == 200
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(FIELDS_OF_FIELDS)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
