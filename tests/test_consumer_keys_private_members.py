"""A consumer key is public: a JWK carrying any private member (`d`, or only the primes
and CRT values without `d`, `oth`, a symmetric `k`) is refused with INVALID_KEY, and
nothing is stored. Each key is known by its fingerprint, SHA-256 of its DER
SubjectPublicKeyInfo in base64url, the same whether it was sent as PEM or JWK, shown in
GraphQL and in `chrgraph consumers list`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from tortoise import connections

from chrgraph.db.models import ApiConsumerKey
from tests.accounts import make_clinic
from tests.helpers import gid, rsa_key, unique

ADD_KEY = """mutation($i: AddApiConsumerKeyInput!) {
  addApiConsumerKey(input: $i) { key { kid fingerprint } errors { code field } } }"""
CREATE = """mutation($i: CreateApiConsumerInput!) {
  createApiConsumer(input: $i) { apiConsumer { id } errors { code field } } }"""
KEYS = "{ apiConsumers { issuer keys { kid fingerprint } } }"

CHRGRAPH = str(Path(sys.executable).parent / "chrgraph")


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def public_jwk(index: int = 1) -> dict:
    return dict(rsa_key(index).as_dict(private=False))


def private_jwk(index: int = 1) -> dict:
    return dict(rsa_key(index).as_dict(private=True))


def expected_fingerprint(index: int) -> str:
    der = (
        rsa_key(index)
        .get_op_key("verify")
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def with_member(member: str) -> dict:
    jwk = public_jwk()
    private = private_jwk()
    if member in private:
        jwk[member] = private[member]
    elif member == "oth":
        jwk["oth"] = [{"r": private["p"], "d": private["dp"], "t": private["qi"]}]
    else:  # "k": a symmetric key's secret, in an RSA key
        jwk["k"] = base64.urlsafe_b64encode(b"secret" * 6).rstrip(b"=").decode()
    return jwk


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
async def test_a_jwk_with_any_private_member_is_refused(clinic, member):
    consumer = gid(clinic.vendor.consumer)
    before = await ApiConsumerKey.filter(consumer_id=clinic.vendor.consumer.id).count()
    added = await clinic.support.gql(
        ADD_KEY, {"i": {"consumerId": consumer, "kid": unique("k"), "publicKey": json.dumps(with_member(member))}}
    )
    assert added["addApiConsumerKey"] == {"key": None, "errors": [{"code": "INVALID_KEY", "field": ["publicKey"]}]}
    assert await ApiConsumerKey.filter(consumer_id=clinic.vendor.consumer.id).count() == before


@pytest.mark.parametrize(
    "jwk",
    [
        pytest.param({"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}, id="a symmetric key"),
        pytest.param(
            {
                "kty": "EC",
                "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
            },
            id="an EC private key",
        ),
    ],
)
async def test_a_private_key_of_another_type_is_refused_as_a_private_key(clinic, jwk):
    # The vendor must learn it sent a secret, not merely that RSA is required.
    created = await clinic.support.gql(
        CREATE, {"i": {"name": unique("secret"), "publicKey": json.dumps(jwk), "kid": "a"}}
    )
    assert created["createApiConsumer"] == {
        "apiConsumer": None,
        "errors": [{"code": "INVALID_KEY", "field": ["publicKey"]}],
    }
    public_ec = {k: v for k, v in jwk.items() if k != "d"}
    if public_ec["kty"] == "EC":  # the same key's public half: not RSA, so too weak for us
        created = await clinic.support.gql(
            CREATE, {"i": {"name": unique("ec"), "publicKey": json.dumps(public_ec), "kid": "a"}}
        )
        assert created["createApiConsumer"]["errors"] == [{"code": "KEY_TOO_WEAK", "field": ["publicKey"]}]


async def test_the_primes_without_d_are_refused_at_creation_too(clinic):
    jwk = public_jwk()
    private = private_jwk()
    jwk.update({m: private[m] for m in ("p", "q", "dp", "dq", "qi")})
    created = await clinic.support.gql(
        CREATE, {"i": {"name": unique("primes"), "publicKey": json.dumps(jwk), "kid": "a"}}
    )
    assert created["createApiConsumer"] == {
        "apiConsumer": None,
        "errors": [{"code": "INVALID_KEY", "field": ["publicKey"]}],
    }


async def test_a_key_is_known_by_its_spki_fingerprint_in_base64url_as_pem_or_jwk(clinic):
    consumer = gid(clinic.vendor.consumer)
    as_jwk = await clinic.support.gql(
        ADD_KEY, {"i": {"consumerId": consumer, "kid": "jwk-2", "publicKey": json.dumps(public_jwk(2))}}
    )
    fingerprint = expected_fingerprint(2)
    assert as_jwk["addApiConsumerKey"] == {"key": {"kid": "jwk-2", "fingerprint": fingerprint}, "errors": []}
    assert len(fingerprint) == 43 and "=" not in fingerprint
    listed = (await clinic.support.gql(KEYS))["apiConsumers"]
    keys = {k["kid"]: k["fingerprint"] for c in listed for k in c["keys"]}
    assert keys["k1"] == expected_fingerprint(0) and keys["jwk-2"] == fingerprint


@pytest.mark.cli
async def test_the_cli_lists_each_keys_kid_and_fingerprint(clinic, database_url):
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        CHRGRAPH,
        "consumers",
        "list",
        "--org",
        clinic.domain,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert f"key k1\t{expected_fingerprint(0)}\t2048 bits" in out.decode()


async def test_the_migration_rewrites_hex_fingerprints_in_base64url(clinic):
    migration = importlib.import_module("chrgraph.db.migrations.0016_email_skeletons")
    row = await ApiConsumerKey.get(consumer_id=clinic.vendor.consumer.id, kid="k1")
    shown = row.fingerprint
    hex_form = base64.urlsafe_b64decode(shown + "=").hex()
    await ApiConsumerKey.filter(id=row.id).update(fingerprint=hex_form)

    await migration.base64url_fingerprints(connections.get("default"))

    assert (await ApiConsumerKey.get(id=row.id)).fingerprint == shown == expected_fingerprint(0)
