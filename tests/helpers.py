"""What tests share: real RSA keys, real RS512 tokens, organizations and consumers
made through the same operations the CLI uses."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from strawberry.relay import from_base64

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.keys import node_model
from chrgraph.db.models import ApiConsumer, Organization
from chrgraph.db.public_ids import global_id
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.resolvers.organizations.create_organization import create_organization

_KEYS: list[RSAKey] = []


def rsa_key(index: int = 0, bits: int = 2048) -> RSAKey:
    """Keys are slow to make: a few per run, reused (index picks one)."""
    while len(_KEYS) <= index:
        _KEYS.append(RSAKey.generate_key(bits))
    return _KEYS[index]


def public_pem(key: RSAKey) -> str:
    return key.as_pem(private=False).decode()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def gid(row: Any) -> str:
    """The global id of a stored row (what the API shows for it): its public id."""
    return global_id(type(row).__name__, row.public_id)


async def key_of(global_id_text: str) -> int:
    """The database key behind a global id the API returned (tests reach rows by key)."""
    type_name, public_id = from_base64(global_id_text)
    model = node_model(type_name)
    assert model is not None, type_name
    return (await model.get(public_id=public_id)).pk


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(
    claims: dict[str, Any],
    key: RSAKey,
    *,
    kid: str | None = "k1",
    alg: str = "RS512",
    header: dict[str, Any] | None = None,
) -> str:
    hdr = {"alg": alg, **({"kid": kid} if kid else {}), **(header or {})}
    return jwt.encode(hdr, claims, key, algorithms=[alg])


def claims(issuer: str, ttl: int = 300, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "iat": now, "exp": now + ttl, **extra}


def raw_token(header: dict[str, Any], payload: dict[str, Any] | bytes, signature: bytes = b"") -> str:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"{b64(json.dumps(header).encode())}.{b64(body)}.{b64(signature)}"


@dataclass
class Vendor:
    """An organization with one registered API consumer, and a way to call as it."""

    organization: Organization
    consumer: ApiConsumer
    key: RSAKey
    client: httpx.AsyncClient

    def token(self, ttl: int = 300, kid: str | None = "k1", **extra: Any) -> str:
        return sign(claims(self.consumer.issuer, ttl, **extra), self.key, kid=kid)

    async def post(
        self, query: str, variables: dict | None = None, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}", **kw.pop("headers", {})}
        return await self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers, **kw)

    async def gql(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


async def make_organization(**kw: Any) -> Organization:
    created = await create_organization(domain=kw.pop("domain", unique("org")), name=kw.pop("name", "Clinic"), **kw)
    return created.organization


async def make_vendor(client: httpx.AsyncClient, key_index: int = 0, **org_kw: Any) -> Vendor:
    org = await make_organization(**org_kw)
    key = rsa_key(key_index)
    consumer = await create_api_consumer(
        support_cli_actor(org.id), name=unique("vendor"), public_key=public_pem(key), kid="k1"
    )
    return Vendor(org, consumer, key, client)
