"""Twenty concurrent invitations of one address (differing in case) make one user."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.exceptions import IntegrityError

from chrgraph.db.models import User
from tests.accounts import make_clinic
from tests.databases import backend
from tests.helpers import unique

INVITE = """mutation($i: InviteUserInput!) { inviteUser(input: $i) { user { id } errors { code } } }"""


@pytest.mark.skipif(backend() != "postgres", reason="the race needs concurrent connections (PostgreSQL run)")
async def test_twenty_concurrent_invitations_yield_exactly_one_user(client):
    clinic = await make_clinic(client)
    local = unique("race")
    variants = [f"{''.join(c.upper() if (i >> k) & 1 else c for k, c in enumerate(local))}@X.test" for i in range(20)]

    async def invite(email: str) -> dict:
        return (
            await clinic.vendor.gql(
                INVITE,
                {
                    "i": {
                        "email": email,
                        "type": "STAFF",
                        "license": "STAFF",
                        "firstName": "R",
                        "lastName": "Ace",
                    }
                },
            )
        )["inviteUser"]

    results = await asyncio.gather(*(invite(e) for e in variants))
    assert sum(r["user"] is not None for r in results) == 1
    assert sorted(e["code"] for r in results for e in r["errors"]) == ["EMAIL_TAKEN"] * 19
    assert await User.filter(login_email=f"{local}@x.test").count() == 1


async def test_the_database_itself_refuses_a_second_login_email(client):
    clinic = await make_clinic(client)
    email = f"{unique('db')}@x.test"
    await User.create(
        organization_id=clinic.organization.id,
        email=email,
        login_email=email,
        type="STAFF",
        status="INVITED",
        first_name="A",
        last_name="B",
        search_key="a b",
    )
    with pytest.raises(IntegrityError):
        await User.create(
            organization_id=clinic.organization.id,
            email=email,
            login_email=email,
            type="STAFF",
            status="INVITED",
            first_name="A",
            last_name="B",
            search_key="a b",
        )
