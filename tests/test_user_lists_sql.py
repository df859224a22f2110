"""§9: users with their roles and permissions load in a fixed number of statements."""

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


async def test_users_with_roles_and_permissions_cost_the_same_for_10_and_100(client):
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
    ten, hundred = await _count(clinic.owner, 10), await _count(clinic.owner, 100)
    assert ten == hundred, (ten, hundred)
