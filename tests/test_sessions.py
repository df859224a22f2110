"""User sessions: login, logout, one refusal, the throttle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chrgraph.auth import epoch
from chrgraph.auth.access import local_today
from chrgraph.auth.principals import support_cli_actor
from chrgraph.auth.sessions import session_hash
from chrgraph.db.models import Classification, License, LoginFailure, Session, User, UserType
from chrgraph.resolvers.users.invite_user import create_service_account, invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import login, make_clinic
from tests.helpers import unique

VIEWER = "{ viewer { kind user { id email } organization { id } } }"
LOGOUT = "mutation { logout { errors { code } } }"
USERS = "{ users { edges { node { email type } } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_login_returns_an_opaque_token_whose_hash_alone_is_stored(clinic):
    result = await login(clinic.client, f"owner@{clinic.domain}.test")
    token = result["token"]
    assert token.startswith("chs_") and result["expiresAt"]
    assert not await Session.filter(token_hash=token).exists()
    viewer = (await clinic.owner.gql(VIEWER))["viewer"]
    assert viewer["kind"] == "USER" and viewer["user"]["email"] == f"owner@{clinic.domain}.test"


async def test_passwords_are_argon2id_with_the_owasp_profile(clinic):
    owner = await User.get(email=f"owner@{clinic.domain}.test")
    assert owner.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_every_refusal_is_the_same_error(client, clinic):
    org = clinic.organization
    actor = support_cli_actor(org.id)
    invited = f"{unique('inv')}@x.test"
    await invite_user(actor, invited, Profile(UserType.STAFF, license=License.STAFF, first_name="I", last_name="N"))
    service = f"{unique('svc')}@x.test"
    await create_service_account(actor, email=service, first_name="S", last_name="A", display_name="Svc")
    trainee = await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date.today() + timedelta(days=30),
    )
    await User.filter(email=trainee.email).update(expected_end_of_training=local_today(org) - timedelta(days=15))
    answers = [
        await login(client, f"owner@{clinic.domain}.test", "wrong password!!"),
        await login(client, f"{unique('nobody')}@x.test"),
        await login(client, invited),
        await login(client, service),
        await login(client, trainee.email),
    ]
    for answer in answers:
        assert answer["token"] is None and answer["user"] is None
        assert answer["errors"] == [
            {"code": "INVALID_CREDENTIALS", "message": "Those credentials are not valid.", "field": None}
        ]


async def test_a_trainee_keeps_access_for_fourteen_days_after_training(client, clinic):
    trainee = await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date.today() + timedelta(days=30),
    )
    await User.filter(email=trainee.email).update(
        expected_end_of_training=local_today(clinic.organization) - timedelta(days=13)
    )
    assert (await login(client, trainee.email))["errors"] == []


async def test_five_failures_in_fifteen_minutes_refuse_even_the_right_password(client, clinic):
    member = await clinic.member()
    for _ in range(5):
        assert (await login(client, member.email, "not the password"))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    refused = await login(client, member.email)
    assert refused["errors"][0]["code"] == "INVALID_CREDENTIALS"
    await LoginFailure.filter(email=member.email).update(at=datetime.now(UTC) - timedelta(minutes=16))
    assert (await login(client, member.email))["errors"] == []


async def test_logout_ends_the_session_at_once(client, clinic):
    member = await clinic.member()
    assert (await member.gql(LOGOUT))["logout"]["errors"] == []
    response = await member.post(VIEWER)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_an_unknown_or_expired_session_is_refused(client, clinic):
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer chs_" + "A" * 43}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"
    member = await clinic.member()
    await Session.filter(token_hash=session_hash(member.token)).update(expires_at=datetime.now(UTC))
    epoch.clear_local()
    assert (await member.post(VIEWER)).status_code == 401


async def test_the_support_account_logs_in_and_is_absent_from_users(clinic):
    viewer = (await clinic.support.gql(VIEWER))["viewer"]
    assert viewer["kind"] == "SUPPORT"
    listed = (await clinic.owner.gql(USERS))["users"]["edges"]
    assert all(e["node"]["type"] != "SUPPORT" for e in listed)
    assert all(not e["node"]["email"].startswith("support+") for e in listed)
