"""The support account manages API consumers over GraphQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chrgraph.db.models import AuditEvent
from tests.accounts import PASSWORD, login, make_clinic
from tests.helpers import claims, gid, public_pem, rsa_key, sign, unique

CREATE = """mutation($i: CreateApiConsumerInput!) {
  createApiConsumer(input: $i) { apiConsumer { id issuer active keys { kid bits } } errors { code field } } }"""
DEACTIVATE = """mutation($i: DeactivateApiConsumerInput!) {
  deactivateApiConsumer(input: $i) { apiConsumer { active } errors { code } } }"""
REACTIVATE = """mutation($i: ReactivateApiConsumerInput!) {
  reactivateApiConsumer(input: $i) { apiConsumer { active } errors { code } } }"""
ADD_KEY = """mutation($i: AddApiConsumerKeyInput!) {
  addApiConsumerKey(input: $i) { key { kid fingerprint } errors { code field } } }"""
REVOKE_KEY = """mutation($i: RevokeApiConsumerKeyInput!) {
  revokeApiConsumerKey(input: $i) { key { kid revokedAt } errors { code field } } }"""
CONSUMERS = "{ apiConsumers { issuer active lastUsedAt keys { kid revokedAt } } }"
LOGS = "{ apiLogs(first: 5) { totalCount edges { node { issuer status operationName requestId } } } }"
VIEWER = "query Who { viewer { kind } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_support_registers_rotates_and_deactivates_a_consumer(client, clinic):
    issuer = unique("booking")
    created = await clinic.support.gql(
        CREATE, {"i": {"name": "Booking", "issuer": issuer, "publicKey": public_pem(rsa_key(1)), "kid": "a"}}
    )
    consumer = created["createApiConsumer"]["apiConsumer"]
    assert consumer["issuer"] == issuer and consumer["keys"] == [{"kid": "a", "bits": 2048}]

    async def call(kid: str, key_index: int):
        token = sign(claims(issuer), rsa_key(key_index), kid=kid)
        return await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})

    assert (await call("a", 1)).status_code == 200
    added = await clinic.support.gql(
        ADD_KEY, {"i": {"consumerId": consumer["id"], "kid": "b", "publicKey": public_pem(rsa_key(2))}}
    )
    assert added["addApiConsumerKey"]["errors"] == []
    assert (await call("b", 2)).status_code == 200
    revoked = await clinic.support.gql(REVOKE_KEY, {"i": {"consumerId": consumer["id"], "kid": "a"}})
    assert revoked["revokeApiConsumerKey"]["key"]["revokedAt"]
    assert (await call("a", 1)).json()["errors"][0]["extensions"]["reason"] == "BAD_SIGNATURE"
    off = await clinic.support.gql(DEACTIVATE, {"i": {"consumerId": consumer["id"]}})
    assert off["deactivateApiConsumer"]["apiConsumer"]["active"] is False
    assert (await call("b", 2)).json()["errors"][0]["extensions"]["reason"] == "UNKNOWN_OR_INACTIVE_ISSUER"
    on = await clinic.support.gql(REACTIVATE, {"i": {"consumerId": consumer["id"]}})
    assert on["reactivateApiConsumer"]["apiConsumer"]["active"] is True
    assert (await call("b", 2)).status_code == 200
    actions = (
        await AuditEvent.filter(organization_id=clinic.organization.id, target_type="ApiConsumer", actor_kind="SUPPORT")
        .exclude(target_id=gid(clinic.vendor.consumer))
        .values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        [
            "API_CONSUMER_CREATED",
            "API_CONSUMER_KEY_ADDED",
            "API_CONSUMER_KEY_REVOKED",
            "API_CONSUMER_DEACTIVATED",
            "API_CONSUMER_REACTIVATED",
        ]
    )


@pytest.mark.parametrize(("key", "code"), [("not a key", "INVALID_KEY"), (None, "KEY_TOO_WEAK")])
async def test_bad_keys_are_refused_with_their_code(clinic, key, code):
    if key is None:
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        key = (
            weak.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    result = await clinic.support.gql(CREATE, {"i": {"name": unique("weak"), "publicKey": key}})
    assert result["createApiConsumer"]["errors"] == [{"code": code, "field": ["publicKey"]}]


async def test_a_taken_issuer_is_refused(clinic):
    result = await clinic.support.gql(
        CREATE,
        {
            "i": {
                "name": "Again",
                "issuer": clinic.vendor.consumer.issuer,
                "publicKey": public_pem(rsa_key(1)),
            }
        },
    )
    assert result["createApiConsumer"]["errors"] == [{"code": "ISSUER_TAKEN", "field": ["issuer"]}]


async def test_api_logs_are_read_by_support_and_owner(clinic):
    response = await clinic.vendor.post(VIEWER)
    request_id = response.headers["x-request-id"]
    for reader in (clinic.support, clinic.owner):
        logs = (await reader.gql(LOGS))["apiLogs"]
        assert logs["totalCount"] >= 1
        assert logs["edges"][0]["node"]["requestId"] == request_id
        assert logs["edges"][0]["node"]["operationName"] == "Who"
    listed = (await clinic.support.gql(CONSUMERS))["apiConsumers"]
    assert listed[0]["lastUsedAt"] is not None


async def test_support_password_is_set_from_stdin_by_the_cli(client, database_url, clinic):
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "chrgraph.cli", "org", "support-password", "--org", clinic.domain],
        input="a brand new support password\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    support_email = f"support+{clinic.domain}@chrgraph.invalid"
    assert (await login(client, support_email, "a brand new support password"))["errors"] == []
    assert (await login(client, support_email, PASSWORD))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    weak = subprocess.run(
        [sys.executable, "-m", "chrgraph.cli", "org", "support-password", "--org", clinic.domain],
        input="short\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert weak.returncode == 1 and "PASSWORD_TOO_WEAK" in weak.stderr
