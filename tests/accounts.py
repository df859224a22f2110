"""A clinic with its actors, made the way a real one is: `org create` (owner invited,
support account), the owner accepting the invitation, everyone logging in through
GraphQL, and a registered API consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import License, LoginFailure, Organization, Role, UserType
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.resolvers.organizations.create_organization import create_organization
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.ownership import set_support_password
from chrgraph.resolvers.users.password_changes import RESET_TOKEN_KEY
from chrgraph.resolvers.users.profile import Profile
from tests.helpers import Vendor, gid, public_pem, rsa_key, unique

PASSWORD = "correct horse battery staple"
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token expiresAt user { id email } errors { code message field } }
}"""


@dataclass
class Session:
    client: httpx.AsyncClient
    token: str
    user_id: str | None = None
    email: str = ""

    async def post(self, query: str, variables: dict | None = None) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def gql(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


async def forget_token_guesses() -> None:
    """Every test client sends from 127.0.0.1, and wrong reset tokens are counted per
    client address (other tests send them on purpose): a test that needs a valid token
    accepted starts from no guesses."""
    await LoginFailure.filter(email=RESET_TOKEN_KEY).delete()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"input": {"email": email, "password": password}}}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]


async def session_for(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Session:
    result = await login(client, email, password)
    assert result["errors"] == [], result
    return Session(client, result["token"], result["user"]["id"], email)


@dataclass
class Clinic:
    client: httpx.AsyncClient
    organization: Organization
    owner: Session
    support: Session
    vendor: Vendor
    roles: dict[str, int] = field(default_factory=dict)
    role_ids: dict[str, str] = field(default_factory=dict)  # global ids, by name

    @property
    def domain(self) -> str:
        return self.organization.domain

    async def member(
        self,
        *,
        permissions_of: list[str] | None = None,
        type: UserType = UserType.STAFF,
        license: License | None = License.STAFF,
        **profile: Any,
    ) -> Session:
        """An ACTIVE user holding the named built-in roles, logged in."""
        email = f"{unique('user')}@{self.domain}.test"
        actor = support_cli_actor(self.organization.id)
        _, token = await invite_user(
            actor,
            email,
            Profile(
                type=type,
                license=license,
                first_name=profile.pop("first_name", "Pat"),
                last_name=profile.pop("last_name", "Member"),
                **profile,
            ),
            [self.roles[name] for name in permissions_of or []],
        )
        await accept_invitation(token, PASSWORD, "Pat", "Member")
        return await session_for(self.client, email)


async def make_clinic(client: httpx.AsyncClient, **org_kw: Any) -> Clinic:
    domain = unique("clinic")
    owner_email = f"owner@{domain}.test"
    created = await create_organization(domain=domain, name="Clinic " + domain, owner_email=owner_email, **org_kw)
    org = created.organization
    await accept_invitation(created.owner_invitation_token, PASSWORD, "Olivia", "Owner")
    await set_support_password(support_cli_actor(org.id, created.support.id), PASSWORD)
    key = rsa_key(0)
    consumer = await create_api_consumer(
        support_cli_actor(org.id), name=unique("vendor"), public_key=public_pem(key), kid="k1"
    )
    stored = await Role.filter(organization_id=org.id)
    roles = {r.name: r.id for r in stored}
    role_ids = {r.name: gid(r) for r in stored}
    return Clinic(
        client,
        org,
        await session_for(client, owner_email),
        await session_for(client, created.support.email),
        Vendor(org, consumer, key, client),
        roles,
        role_ids,
    )
