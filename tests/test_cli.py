"""The `chrgraph` command: the same operations, validation and audit as GraphQL,
typed errors on stderr with a non-zero exit, `--json` where a script reads it.

Each test runs the real command in a child process on the test database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import RSAKey

from chrgraph.db.models import ApiConsumer, ApiConsumerKey, AuditEvent, Organization, User, UserType
from tests.helpers import claims, gid, make_organization, make_vendor, public_pem, rsa_key, sign, unique

pytestmark = pytest.mark.cli

CHRGRAPH = str(Path(sys.executable).parent / "chrgraph")

VIEWER = "query Viewer { viewer { kind consumer { issuer } organization { domain } } }"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def cli_env(database_url) -> dict[str, str]:
    return {
        **os.environ,
        "CHRGRAPH_DATABASE_URL": database_url,
        "CHRGRAPH_AUDIT_SIGNING_KEY": os.environ["CHRGRAPH_AUDIT_SIGNING_KEY"],
    }


@pytest.fixture
def chrgraph(cli_env):
    async def run(*args: str) -> Run:
        process = await asyncio.create_subprocess_exec(
            CHRGRAPH, *args, env=cli_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        return Run(process.returncode, out.decode(), err.decode())

    return run


@dataclass(frozen=True)
class KeyFiles:
    private_pem: Path
    public_pem: Path
    public_jwk: Path
    second_public_pem: Path
    weak_rsa_1024: Path
    ec_p256: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    folder = tmp_path_factory.mktemp("keys")
    key, second = rsa_key(0), rsa_key(1)

    def write(name: str, text: str | bytes) -> Path:
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    def pem(public_key) -> bytes:
        return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    jwk = RSAKey.import_key(public_pem(second)).as_dict(private=False) | {"kid": "jwk-kid-1"}
    return KeyFiles(
        private_pem=write("vendor.key", key.as_pem(private=True)),
        public_pem=write("vendor.pub.pem", public_pem(key)),
        public_jwk=write("second.jwk.json", json.dumps(jwk)),
        second_public_pem=write("second.pub.pem", public_pem(second)),
        weak_rsa_1024=write("weak.pub.pem", pem(rsa.generate_private_key(65537, 1024).public_key())),
        ec_p256=write("ec.pub.pem", pem(ec.generate_private_key(ec.SECP256R1()).public_key())),
    )


async def _actions(organization_id: int) -> list[str]:
    return await AuditEvent.filter(organization_id=organization_id).order_by("seq").values_list("action", flat=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _answer_within_a_second(client, token: str, status: int):
    """The server (this process) sees a change another process made within one second;
    a little slack for a loaded machine."""
    deadline = time.monotonic() + 1.5
    while True:
        response = await client.post("/graphql", json={"query": VIEWER}, headers=_bearer(token))
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return response
        await asyncio.sleep(0.05)


# --- help, migrate, demo ---------------------------------------------------------------


async def test_help_is_available_for_the_command_and_its_subcommands(chrgraph):
    top, create = await asyncio.gather(chrgraph("--help"), chrgraph("consumers", "create", "--help"))

    assert top.code == 0, top.err
    for command in ("serve", "migrate", "demo", "org", "consumers", "token"):
        assert command in top.out
    assert create.code == 0, create.err
    for option in ("--org", "--name", "--issuer", "--public-key", "--kid"):
        assert option in create.out


async def test_migrate_then_demo_twice_loads_the_demo_organization_once(client, chrgraph):
    migrated = await chrgraph("migrate")
    assert migrated.code == 0, migrated.err

    first = await chrgraph("demo")
    assert first.code == 0, first.err
    demo = await Organization.get(domain="demo")
    events_after_first = await _actions(demo.id)
    second = await chrgraph("demo")

    assert second.code == 0, second.err
    assert await Organization.filter(domain="demo").count() == 1
    assert await _actions(demo.id) == events_after_first, "a second demo run changes nothing"
    assert events_after_first.count("ORGANIZATION_CREATED") == 1
    # The count it prints (loaded now or by an earlier test) is the members `users` lists:
    # the support account is not one.
    members = await User.filter(organization_id=demo.id).exclude(type=UserType.SUPPORT).count()
    assert f" with {members} users" in first.out and f" with {members} users" in second.out


# --- org create / org set --------------------------------------------------------------


async def test_org_create_prints_the_organization_as_json_and_audits_it(client, chrgraph):
    domain, owner = unique("cli"), f"{unique('owner')}@example.com"

    created = await chrgraph(
        "org",
        "create",
        "--domain",
        domain,
        "--name",
        "CLI Clinic",
        "--owner-email",
        owner,
        "--province",
        "QC",
        "--time-zone",
        "America/Montreal",
        "--json",
    )

    assert created.code == 0, created.err
    printed = json.loads(created.out)
    org = await Organization.get(domain=domain)
    assert printed["id"] == org.id
    assert printed["domain"] == domain
    assert (org.name, org.province, org.time_zone) == ("CLI Clinic", "QC", "America/Montreal")
    assert "ORGANIZATION_CREATED" in await _actions(org.id)


async def test_org_create_refuses_a_taken_domain_and_bad_province_or_time_zone(client, chrgraph):
    taken = await make_organization()
    events_before = await _actions(taken.id)
    fresh = unique("cli")

    duplicate, invalid = await asyncio.gather(
        chrgraph(
            "org",
            "create",
            "--domain",
            taken.domain,
            "--name",
            "Again",
            "--owner-email",
            f"{unique('o')}@example.com",
        ),
        chrgraph(
            "org",
            "create",
            "--domain",
            fresh,
            "--name",
            "Nowhere",
            "--owner-email",
            f"{unique('o')}@example.com",
            "--province",
            "ZZ",
            "--time-zone",
            "Mars/Olympus_Mons",
        ),
    )

    assert duplicate.code == 1
    assert "DOMAIN_TAKEN" in duplicate.err
    assert duplicate.out == ""
    assert invalid.code == 1
    assert "INVALID_INPUT (province)" in invalid.err
    assert "INVALID_TIME_ZONE (timeZone)" in invalid.err
    assert "Traceback" not in duplicate.err + invalid.err
    assert not await Organization.exists(domain=fresh)
    assert await _actions(taken.id) == events_before


async def test_org_set_renames_the_domain_once_unique_and_audits_it(client, chrgraph):
    org = await make_organization()
    other = await make_organization()
    new = unique("renamed").lower()

    taken = await chrgraph("org", "set", "--domain", org.domain, "--new-domain", other.domain)
    assert taken.code != 0 and taken.out == "" and "DOMAIN_TAKEN" in taken.err and "Traceback" not in taken.err
    bad = await chrgraph("org", "set", "--domain", org.domain, "--new-domain", "Not A Slug")
    assert bad.code != 0 and "domain" in bad.err and "Traceback" not in bad.err
    done = await chrgraph("org", "set", "--domain", org.domain, "--new-domain", new)
    assert done.code == 0, done.err
    assert done.out.strip() == f"updated organization {new}"

    assert (await Organization.get(id=org.id)).domain == new
    [event] = await AuditEvent.filter(organization_id=org.id, action="ORGANIZATION_UPDATED")
    assert event.changes == {"domain": {"before": org.domain, "after": new}} and event.actor_kind.value == "SYSTEM"
    assert (await chrgraph("org", "set", "--domain", new, "--name", "Renamed Clinic")).code == 0


async def test_org_set_switches_the_enterprise_api_off_for_the_running_server(client, chrgraph):
    vendor = await make_vendor(client)
    assert (await client.post("/graphql", json={"query": VIEWER}, headers=_bearer(vendor.token()))).status_code == 200

    done = await chrgraph("org", "set", "--domain", vendor.organization.domain, "--no-enterprise-api")

    assert done.code == 0, done.err
    org = await Organization.get(id=vendor.organization.id)
    assert org.enterprise_api_enabled is False
    [event] = await AuditEvent.filter(organization_id=org.id, action="ORGANIZATION_UPDATED")
    assert event.actor_kind.value == "SYSTEM"  # the operator, with the support account's rights
    assert event.changes == {"enterpriseApiEnabled": {"before": True, "after": False}}
    response = await _answer_within_a_second(client, vendor.token(), 401)
    assert response.json()["errors"][0]["extensions"]["reason"] == "UNKNOWN_OR_INACTIVE_ISSUER"


# --- consumers -------------------------------------------------------------------------


async def test_consumers_create_from_pem_and_jwk_then_list_and_sign_a_token_the_server_accepts(client, chrgraph, keys):
    org = await make_organization()
    pem_issuer, jwk_name = unique("pem-vendor"), unique("jwk-vendor")

    from_pem, from_jwk = await asyncio.gather(
        chrgraph(
            "consumers",
            "create",
            "--org",
            org.domain,
            "--name",
            "Booking",
            "--issuer",
            pem_issuer,
            "--public-key",
            str(keys.public_pem),
            "--kid",
            "k1",
            "--json",
        ),
        chrgraph(
            "consumers",
            "create",
            "--org",
            org.domain,
            "--name",
            jwk_name,
            "--public-key",
            str(keys.public_jwk),
        ),
    )
    assert from_pem.code == 0, from_pem.err
    assert json.loads(from_pem.out) == {"issuer": pem_issuer, "name": "Booking"}
    assert from_jwk.code == 0, from_jwk.err

    listed = await chrgraph("consumers", "list", "--org", org.domain, "--json")
    assert listed.code == 0, listed.err
    rows = {row["issuer"]: row for row in json.loads(listed.out)}
    assert set(rows) == {pem_issuer, jwk_name}, "the issuer defaults to the name"
    assert [(k["kid"], k["bits"], k["revokedAt"]) for k in rows[pem_issuer]["keys"]] == [("k1", 2048, None)]
    assert [k["kid"] for k in rows[jwk_name]["keys"]] == ["jwk-kid-1"], "the JWK's kid is kept"
    assert all(row["active"] for row in rows.values())
    consumers = {c.issuer: gid(c) for c in await ApiConsumer.filter(organization_id=org.id)}
    created = await AuditEvent.filter(organization_id=org.id, action="API_CONSUMER_CREATED")
    assert sorted(e.target_id for e in created) == sorted(consumers.values())

    signed, too_long = await asyncio.gather(
        chrgraph("token", "--issuer", pem_issuer, "--private-key", str(keys.private_pem), "--kid", "k1"),
        chrgraph("token", "--issuer", pem_issuer, "--private-key", str(keys.private_pem), "--ttl", "901"),
    )

    assert signed.code == 0, signed.err
    response = await client.post("/graphql", json={"query": VIEWER}, headers=_bearer(signed.out.strip()))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"] == {
        "kind": "CONSUMER",
        "consumer": {"issuer": pem_issuer},
        "organization": {"domain": org.domain},
    }
    assert too_long.code != 0
    assert too_long.out == ""
    assert "900" in too_long.err


async def test_consumers_create_refuses_weak_foreign_private_keys_and_a_taken_issuer(client, chrgraph, keys):
    existing = await make_vendor(client)
    org = existing.organization
    events_before = await _actions(org.id)

    async def create(name: str, key: Path, issuer: str | None = None):
        return await chrgraph(
            "consumers",
            "create",
            "--org",
            org.domain,
            "--name",
            name,
            "--public-key",
            str(key),
            *(["--issuer", issuer] if issuer else []),
        )

    weak, elliptic, private, taken = await asyncio.gather(
        create(unique("weak"), keys.weak_rsa_1024),
        create(unique("ec"), keys.ec_p256),
        create(unique("private"), keys.private_pem),
        create(unique("copycat"), keys.public_pem, issuer=existing.consumer.issuer),
    )

    assert (weak.code, elliptic.code, private.code, taken.code) == (1, 1, 1, 1)
    assert "KEY_TOO_WEAK" in weak.err
    assert "KEY_TOO_WEAK" in elliptic.err
    assert "INVALID_KEY" in private.err
    assert "PRIVATE KEY" not in private.err and "BEGIN" not in private.err, "never echo key material"
    assert "ISSUER_TAKEN" in taken.err
    assert await ApiConsumer.filter(organization_id=org.id).count() == 1
    assert await _actions(org.id) == events_before


async def test_consumer_deactivate_reactivate_add_key_and_revoke_key_are_audited(client, chrgraph, keys):
    vendor = await make_vendor(client)
    org, issuer = vendor.organization, vendor.consumer.issuer
    common = ("--org", org.domain, "--issuer", issuer)

    deactivated = await chrgraph("consumers", "deactivate", *common)
    assert deactivated.code == 0, deactivated.err
    assert (await ApiConsumer.get(id=vendor.consumer.id)).active is False
    refused = await _answer_within_a_second(client, vendor.token(), 401)
    assert refused.json()["errors"][0]["extensions"]["reason"] == "UNKNOWN_OR_INACTIVE_ISSUER"

    reactivated = await chrgraph("consumers", "reactivate", *common)
    added = await chrgraph("consumers", "add-key", *common, "--public-key", str(keys.second_public_pem), "--kid", "k2")
    revoked = await chrgraph("consumers", "revoke-key", *common, "--kid", "k1")
    unknown = await chrgraph("consumers", "revoke-key", *common, "--kid", "no-such-kid")

    for done in (reactivated, added, revoked):
        assert done.code == 0, done.err
    assert unknown.code == 1
    assert "NOT_FOUND" in unknown.err
    assert (await ApiConsumer.get(id=vendor.consumer.id)).active is True
    keys_now = {k.kid: k for k in await ApiConsumerKey.filter(consumer_id=vendor.consumer.id)}
    assert set(keys_now) == {"k1", "k2"}
    assert keys_now["k1"].revoked_at is not None and keys_now["k2"].revoked_at is None
    assert (await _actions(org.id))[-4:] == [
        "API_CONSUMER_DEACTIVATED",
        "API_CONSUMER_REACTIVATED",
        "API_CONSUMER_KEY_ADDED",
        "API_CONSUMER_KEY_REVOKED",
    ]
    # The server in this process sees the other process's changes: k2 in, k1 out.
    with_k2 = await _answer_within_a_second(client, sign(claims(issuer), rsa_key(1), kid="k2"), 200)
    assert with_k2.json()["data"]["viewer"]["consumer"] == {"issuer": issuer}
    with_k1 = await _answer_within_a_second(client, vendor.token(), 401)
    assert with_k1.json()["errors"][0]["extensions"]["reason"] == "BAD_SIGNATURE"
