"""One login address, one account: look-alikes of an address (invisible characters,
fullwidth forms, letters of another script, another case) are refused or taken, a
service account may reuse any valid address, and the migration that keyed the existing
users flags the look-alikes created before these rules, without dropping any."""

from __future__ import annotations

import importlib

import pytest
from tortoise import connections

from chrgraph.db.models import User, UserStatus, UserType
from chrgraph.resolvers.users.email_clashes import email_clashes
from chrgraph.resolvers.users.text import search_key
from tests.accounts import login, make_clinic
from tests.databases import backend
from tests.helpers import gid, unique

migration = importlib.import_module("chrgraph.db.migrations.0016_email_skeletons")

INVITE = """mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email } errors { code field } } }"""
SERVICE = """mutation($input: CreateServiceAccountInput!) {
  createServiceAccount(input: $input) { user { id email } errors { code field } } }"""
USERS = """query($filter: UserFilter) { users(filter: $filter, first: 100) { edges { node { id email type } } } }"""


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def staff(email: str) -> dict:
    return {"email": email, "type": "STAFF", "license": "STAFF", "firstName": "Sam", "lastName": "Staff"}


async def invite(clinic, email: str) -> dict:
    return (await clinic.owner.gql(INVITE, {"input": staff(email)}))["inviteUser"]


def owner_local_and_domain(clinic) -> tuple[str, str]:
    local, domain = clinic.owner.email.split("@")
    return local, domain


@pytest.mark.parametrize(
    ("local", "code"),
    [
        ("owner\u200b", "INVALID_EMAIL"),  # zero-width space
        ("ow\u00adner", "INVALID_EMAIL"),  # soft hyphen
        ("own\u202eer", "INVALID_EMAIL"),  # right-to-left override
        ("ow\u034fner", "INVALID_EMAIL"),  # combining grapheme joiner: default-ignorable
        ("\uff4fwner", "EMAIL_TAKEN"),  # fullwidth ｏ: NFKC makes it the owner's address
        ("\uff2fWNER", "EMAIL_TAKEN"),  # fullwidth Ｏ and capitals
        ("\u043ewner", "INVALID_EMAIL"),  # Cyrillic о among Latin letters: mixed scripts
        ("OWNER", "EMAIL_TAKEN"),  # case variants are one address
    ],
    ids=["zero-width-space", "soft-hyphen", "bidi-override", "grapheme-joiner", "fullwidth", "fullwidth-caps",
         "cyrillic-o", "upper-case"],
)  # fmt: skip
async def test_look_alikes_of_the_owners_address_are_never_a_second_user(clinic, local, code):
    _, domain = owner_local_and_domain(clinic)
    result = await invite(clinic, f"{local}@{domain}")
    assert result == {"user": None, "errors": [{"code": code, "field": ["email"]}]}


async def test_a_whole_word_in_another_script_that_looks_the_same_is_taken(clinic):
    # "асе" is Cyrillic only (one script, so a valid local part), and looks like "ace".
    domain = f"{unique('skel')}.test"
    assert (await invite(clinic, f"ace@{domain}"))["errors"] == []
    result = await invite(clinic, f"\u0430\u0441\u0435@{domain}")
    assert result["errors"] == [{"code": "EMAIL_TAKEN", "field": ["email"]}]
    # A look-alike domain is the same address too.
    result = await invite(clinic, f"ace@{domain.replace('s', chr(0x0455), 1)}")  # Cyrillic ѕ
    assert result["errors"] == [{"code": "EMAIL_TAKEN", "field": ["email"]}]


async def test_a_local_part_mixing_scripts_is_invalid(clinic):
    result = await invite(clinic, f"ivan.\u0438\u0432\u0430\u043d@{unique('mixed')}.test")
    assert result == {"user": None, "errors": [{"code": "INVALID_EMAIL", "field": ["email"]}]}
    # One script is fine, in any script.
    assert (await invite(clinic, f"\u0438\u0432\u0430\u043d@{unique('cyr')}.test"))["errors"] == []


async def test_an_internationalised_domain_is_accepted_and_its_ascii_form_is_the_same_address(clinic):
    local = unique("anna")
    result = await invite(clinic, f"{local}@b\u00fccher.ca")
    assert result["errors"] == [] and result["user"]["email"] == f"{local}@b\u00fccher.ca"
    again = await invite(clinic, f"{local.upper()}@xn--bcher-kva.ca")
    assert again["errors"] == [{"code": "EMAIL_TAKEN", "field": ["email"]}]


async def test_the_owner_logs_in_with_any_case_or_width_of_the_address(client, clinic):
    local, domain = owner_local_and_domain(clinic)
    for email in (clinic.owner.email.upper(), f"\uff4f{local[1:]}@{domain}"):
        result = await login(client, email)
        assert result["errors"] == [] and result["token"], result
    assert await User.filter(login_email=clinic.owner.email).count() == 1


async def test_service_accounts_may_reuse_any_valid_address(clinic):
    for email in (clinic.owner.email, clinic.owner.email.upper()):
        result = (
            await clinic.owner.gql(
                SERVICE,
                {"input": {"email": email, "firstName": "Ivan", "lastName": "Tech", "displayName": "Importer"}},
            )
        )["createServiceAccount"]
        assert result["errors"] == [], result
    invalid = (
        await clinic.owner.gql(
            SERVICE,
            {"input": {"email": "own\u200ber@x.test", "firstName": "I", "lastName": "T", "displayName": "Importer"}},
        )
    )["createServiceAccount"]
    assert invalid["errors"] == [{"code": "INVALID_EMAIL", "field": ["email"]}]


async def test_a_search_for_the_owner_lists_no_look_alike_login(clinic):
    local, domain = owner_local_and_domain(clinic)
    for variant in (f"{local}\u200b", "ow\u00adner", f"\uff4f{local[1:]}", f"\u043e{local[1:]}"):
        await invite(clinic, f"{variant}@{domain}")
    edges = (await clinic.owner.gql(USERS, {"filter": {"search": local}}))["users"]["edges"]
    logins = [e["node"] for e in edges if e["node"]["type"] != "SERVICE_ACCOUNT"]
    assert [n["email"] for n in logins] == [clinic.owner.email]
    assert all("\u200b" not in e["node"]["email"] and "\u00ad" not in e["node"]["email"] for e in edges)


async def _legacy_user(clinic, login_email: str) -> User:
    """A row as the server stored it before these rules (lowercased, no skeleton)."""
    await User.bulk_create(
        [
            User(
                organization_id=clinic.organization.id,
                email=login_email,
                login_email=login_email,
                type=UserType.STAFF,
                status=UserStatus.ACTIVE,
                first_name="Legacy",
                last_name="Lookalike",
                search_key=search_key("Legacy", "Lookalike", login_email),
            )
        ]
    )
    return await User.get(login_email=login_email)


async def test_the_migration_keys_existing_users_and_flags_clashes_without_dropping_any(client):
    clinic = await make_clinic(client)
    local, domain = owner_local_and_domain(clinic)
    owner = await User.get(login_email=clinic.owner.email)
    legacy = {
        "zero-width": await _legacy_user(clinic, f"{local}\u200b@{domain}"),
        "fullwidth": await _legacy_user(clinic, f"\uff4f{local[1:]}@{domain}"),
        "cyrillic": await _legacy_user(clinic, f"\u043e{local[1:]}@{domain}"),
    }
    alone = await _legacy_user(clinic, f"{unique('alone')}@{domain}")  # no clash: keyed
    assert alone.email_skeleton is None

    flagged = await migration.key_login_emails(connections.get("default"))

    mine = {f.user_id: f for f in flagged if f.user_id in {u.id for u in legacy.values()}}
    assert set(mine) == {u.id for u in legacy.values()}
    assert {f.clashes_with for f in mine.values()} == {owner.id}
    for name, row in legacy.items():
        stored = await User.get(id=row.id)  # still there, unchanged, without a skeleton
        assert (stored.login_email, stored.email_skeleton) == (row.login_email, None), name
    kept = await User.get(id=owner.id)
    assert kept.login_email == clinic.owner.email and kept.email_skeleton
    assert (await User.get(id=alone.id)).email_skeleton

    # The report lists them from the live data, naming the account each clashes with.
    report = [c for c in await email_clashes() if c.account.organization == clinic.domain]
    assert sorted(c.account.user_id for c in report) == sorted(u.public_id for u in legacy.values())
    assert {c.clashes_with.user_id for c in report if c.clashes_with} == {owner.public_id}
    assert gid(owner)  # the owner is untouched and still named by its id

    # Running it again changes nothing, and the unique index holds on the keyed rows.
    again = await migration.key_login_emails(connections.get("default"))
    assert {f.user_id for f in again} >= set(mine)
    conn = connections.get("default")
    if backend() == "sqlite":
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        _, rows = await conn.execute_query("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
    assert migration.INDEX in {row["name"] for row in rows}
