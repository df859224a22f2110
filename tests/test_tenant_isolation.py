"""Another organization's ids behave exactly like ids that do not exist."""

from __future__ import annotations

import pytest

from chrgraph.db.models import User
from tests.accounts import make_clinic
from tests.helpers import gid

USER = "query($id: ID!) { user(id: $id) { id email } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
USERS = "{ users(first: 100) { edges { node { id email } } } }"
UPDATE = """mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } errors { code field } } }"""
ASSIGN = """mutation($i: AssignRolesInput!) { assignRoles(input: $i) { errors { code field } } }"""


@pytest.fixture(scope="module")
async def clinics(client):
    return await make_clinic(client), await make_clinic(client)


@pytest.mark.parametrize("caller", ["owner", "vendor"])
async def test_no_principal_reads_or_changes_a_user_of_another_organization(clinics, caller):
    mine, theirs = clinics
    principal = getattr(mine, caller)
    target = theirs.owner.user_id
    assert (await principal.gql(USER, {"id": target}))["user"] is None
    assert (await principal.gql(NODE, {"id": target}))["node"] is None
    listed = [e["node"]["id"] for e in (await principal.gql(USERS))["users"]["edges"]]
    assert target not in listed
    update = (await principal.gql(UPDATE, {"i": {"userId": target, "title": "Hacked"}}))["updateUser"]
    assert update == {"user": None, "errors": [{"code": "NOT_FOUND", "field": ["userId"]}]}
    assign = (
        await principal.gql(
            ASSIGN,
            {
                "i": {
                    "userId": mine.owner.user_id,
                    "roleIds": [theirs.role_ids["Billing"]],
                    "password": "correct horse battery staple",
                }
            },
        )
    )["assignRoles"]
    assert assign["errors"] == [{"code": "NOT_FOUND", "field": ["roleIds"]}]
    assert (await User.get(email=theirs.owner.email)).title is None


async def test_the_support_account_of_one_organization_cannot_manage_another(clinics):
    mine, theirs = clinics
    doc = """mutation($i: DeactivateApiConsumerInput!) {
      deactivateApiConsumer(input: $i) { errors { code field } } }"""
    result = await mine.support.gql(doc, {"i": {"consumerId": gid(theirs.vendor.consumer)}})
    assert result["deactivateApiConsumer"]["errors"] == [{"code": "NOT_FOUND", "field": ["consumerId"]}]
    assert (await theirs.vendor.post("{ viewer { kind } }")).status_code == 200
