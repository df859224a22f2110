"""The application log (the `chrgraph` logger) for the operator: refused logins,
refused password re-entries, FORBIDDEN answers to sessions and refused tokens, each one
line with the request id, naming the user by public id and never a value given."""

from __future__ import annotations

import logging

import pytest

from tests.accounts import LOGIN, PASSWORD, make_clinic
from tests.helpers import claims, raw_token, sign, unique

WRONG = "hunter2-not-it"
REVOKE = """
mutation Revoke($input: RevokePermissionInput!) {
  revokePermission(input: $input) { errors { code field } }
}"""
USERS = "query ListUsers { users(first: 5) { edges { node { id } } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def lines(caplog, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "chrgraph" and r.getMessage().startswith(start)]


async def test_a_refused_login_is_one_line_with_its_reason_and_request_id_never_the_email_or_password(
    client, clinic, caplog
):
    caplog.set_level(logging.INFO, logger="chrgraph")
    stranger = f"{unique('nobody')}@example.test"

    wrong = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"input": {"email": clinic.owner.email, "password": WRONG}}}
    )
    unknown = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"input": {"email": stranger, "password": WRONG}}}
    )

    [first, second] = lines(caplog, "login refused ")
    assert "reason=WRONG_PASSWORD" in first and "user=-" not in first
    assert f"request_id={wrong.headers['x-request-id']}" in first
    assert "reason=UNKNOWN_EMAIL user=-" in second and f"request_id={unknown.headers['x-request-id']}" in second
    for text in (clinic.owner.email, stranger, WRONG):
        assert text not in caplog.text


async def test_a_refused_password_re_entry_is_one_line_naming_the_user(clinic, caplog):
    caplog.set_level(logging.INFO, logger="chrgraph")
    member = await clinic.member()

    answer = await clinic.owner.post(
        REVOKE, {"input": {"userId": member.user_id, "permission": "VIEW_USERS", "password": WRONG}}
    )

    assert answer.json()["data"]["revokePermission"]["errors"] == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
    [line] = lines(caplog, "password re-entry refused ")
    assert "reason=WRONG_PASSWORD" in line and "session_revoked=no" in line
    assert f"request_id={answer.headers['x-request-id']}" in line
    assert "user=-" not in line
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


async def test_a_forbidden_answer_to_a_session_is_one_line_with_user_operation_and_field(clinic, caplog):
    caplog.set_level(logging.INFO, logger="chrgraph")
    member = await clinic.member()  # no role: may not list users

    answer = await member.post(USERS)

    body = answer.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [line] = lines(caplog, "forbidden ")
    assert "operation=ListUsers" in line and "fields=users" in line and "user=-" not in line
    assert f"request_id={answer.headers['x-request-id']}" in line


async def test_a_forbidden_answer_to_a_consumer_is_not_logged_as_a_session_refusal(clinic, caplog):
    caplog.set_level(logging.INFO, logger="chrgraph")

    answer = await clinic.vendor.post("{ apiLogs(first: 1) { totalCount } }")

    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert lines(caplog, "forbidden ") == []


@pytest.mark.parametrize(
    ("issuer", "logged"),
    [
        ("vendor.example/ok", '"vendor.example/ok"'),
        ("bad\nissuer\x1b[31m", "-"),  # control characters: not a clean string, not logged
        (12345, "-"),
    ],
)
async def test_a_refused_jwt_logs_the_claimed_issuer_when_it_is_clean(client, caplog, issuer, logged):
    caplog.set_level(logging.INFO, logger="chrgraph")
    token = raw_token({"alg": "RS512", "typ": "JWT"}, {**claims("x"), "iss": issuer}, b"sig")

    answer = await client.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert answer.status_code == 401
    [line] = lines(caplog, "auth refused ")
    assert f" iss={logged} " in line
    assert f"request_id={answer.headers['x-request-id']}" in line
    assert token not in caplog.text


async def test_an_unknown_issuer_is_logged_with_its_name(client, caplog):
    from tests.helpers import rsa_key

    caplog.set_level(logging.INFO, logger="chrgraph")
    issuer = unique("unknown-vendor")

    answer = await client.post(
        "/graphql",
        json={"query": "{ viewer { kind } }"},
        headers={"Authorization": f"Bearer {sign(claims(issuer), rsa_key(0))}"},
    )

    assert answer.status_code == 401
    [line] = lines(caplog, "auth refused ")
    assert "reason=UNKNOWN_OR_INACTIVE_ISSUER" in line and f'iss="{issuer}"' in line
