"""Users with their roles and permissions load in a fixed number of statements."""

from __future__ import annotations

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import License, Role, UserType
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import make_clinic
from tests.helpers import unique

USERS = """query($n: Int!) { users(first: $n) { totalCount edges { node {
  id email roles { name permissions members { id } } extraPermissions permissions isOwner } } } }"""


async def _count(session, n: int) -> int:
    counter = hooks.count_statements()
    try:
        data = await session.gql(USERS, {"n": n})
    finally:
        hooks.stop_counting(counter)
    assert len(data["users"]["edges"]) == n
    # The once-every-0.5-s revocation poll may land in either request: not the list's cost.
    return len([sql for sql in counter.statements if "auth_epoch" not in sql])


async def test_users_with_roles_and_permissions_cost_the_same_for_10_and_30(client):
    clinic = await make_clinic(client)
    actor = support_cli_actor(clinic.organization.id)
    roles = [r.id for r in await Role.filter(organization_id=clinic.organization.id)]
    for i in range(100):
        await invite_user(
            actor,
            f"{unique('u')}@x.test",
            Profile(UserType.STAFF, license=License.STAFF, first_name="U", last_name=f"N{i:03}"),
            [roles[i % len(roles)]],
        )
    await _count(clinic.owner, 1)  # warm the session cache: measure the list, not the login
    # 30, not 100: a page of 100 users with their roles' members is over the cost limit.
    ten, thirty = await _count(clinic.owner, 10), await _count(clinic.owner, 30)
    assert ten == thirty, (ten, thirty)


PAGE = """query($n: Int!, $after: String) { users(first: $n, after: $after) { %s edges { cursor node { id } } } }"""


async def _page(session, n: int, after: str | None, extra: str) -> tuple[dict, list[str]]:
    counter = hooks.count_statements()
    try:
        data = await session.gql(PAGE % extra, {"n": n, "after": after})
    finally:
        hooks.stop_counting(counter)
    return data["users"], [sql for sql in counter.statements if "auth_epoch" not in sql]


async def test_a_page_without_total_or_page_info_skips_the_count_and_pages_the_same(client):
    clinic = await make_clinic(client)
    actor = support_cli_actor(clinic.organization.id)
    for i in range(5):
        await invite_user(
            actor,
            f"{unique('p')}@x.test",
            Profile(UserType.STAFF, license=License.STAFF, first_name="P", last_name=f"N{i:03}"),
            [],
        )
    await _page(clinic.owner, 1, None, "")  # warm the session cache
    counted, with_count = await _page(clinic.owner, 3, None, "totalCount pageInfo { hasNextPage endCursor }")
    plain, without_count = await _page(clinic.owner, 3, None, "")
    assert plain["edges"] == counted["edges"]
    assert any("COUNT" in sql.upper() for sql in with_count)
    assert not any("COUNT" in sql.upper() for sql in without_count)
    assert len(without_count) == len(with_count) - 1
    # Paging on from the last cursor reaches the same items either way, to the end.
    seen, after = [], None
    while True:
        page, _ = await _page(clinic.owner, 3, after, "")
        if not page["edges"]:
            break
        seen += [edge["node"]["id"] for edge in page["edges"]]
        after = page["edges"][-1]["cursor"]
    everything, _ = await _page(clinic.owner, 100, None, "totalCount")
    assert seen == [edge["node"]["id"] for edge in everything["edges"]]
    assert len(seen) == everything["totalCount"]
