"""Users, invitations and profiles through GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chrgraph.db.models import AuditEvent, Invitation, OutboxMessage, User
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.organizations.create_organization import create_organization
from chrgraph.resolvers.users.invitations import token_hash
from tests.accounts import PASSWORD, login, make_clinic
from tests.database_snapshot import take_snapshot
from tests.helpers import gid, unique

INVITE = """
mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) {
    user { id email type classification license status firstName lastName roles { name } }
    errors { code field message }
  }
}"""
ACCEPT = """
mutation Accept($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { user { id status firstName } errors { code field } }
}"""
RESEND = """
mutation Resend($input: ResendInvitationInput!) {
  resendInvitation(input: $input) { user { id } errors { code field } }
}"""
SERVICE = """
mutation Service($input: CreateServiceAccountInput!) {
  createServiceAccount(input: $input) { user { id type status displayName email } errors { code field } }
}"""
UPDATE = """
mutation Update($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id classification license billingNumber title } errors { code field } }
}"""
USERS = """
query Users($filter: UserFilter, $orderBy: UserOrder, $first: Int) {
  users(filter: $filter, orderBy: $orderBy, first: $first) {
    totalCount edges { node { id email lastName type status } }
  }
}"""
USER = "query One($id: ID!) { user(id: $id) { id email } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def staff(email: str, **extra) -> dict:
    return {
        "email": email,
        "type": "STAFF",
        "license": "STAFF",
        "firstName": "Sam",
        "lastName": "Staff",
        **extra,
    }


async def invite(session, **fields) -> dict:
    data = await session.gql(INVITE, {"input": fields})
    return data["inviteUser"]


async def test_invite_creates_an_invited_user_queues_mail_and_audits(clinic):
    email = f"{unique('sam')}@x.test"
    result = await invite(clinic.owner, **staff(email.upper(), roleIds=[]))
    assert result["errors"] == []
    user = result["user"]
    assert (user["email"], user["status"], user["type"]) == (email, "INVITED", "STAFF")
    stored = await User.get(email=email)
    assert await Invitation.filter(user_id=stored.id).count() == 1
    assert await OutboxMessage.filter(to_email=email).count() == 1
    event = await AuditEvent.filter(target_id=gid(stored), action="USER_INVITED").get()
    assert event.actor_kind.value == "USER"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL", ["email"]),
        ({"type": "PRACTITIONER", "license": "CHR_LITE"}, "CLASSIFICATION_REQUIRED", ["classification"]),
        ({"classification": "STANDARD"}, "CLASSIFICATION_NOT_ALLOWED", ["classification"]),
        (
            {"type": "PRACTITIONER", "classification": "CLINICAL_TRAINEE", "license": "CLINICAL_TRAINEE"},
            "END_OF_TRAINING_REQUIRED",
            ["expectedEndOfTraining"],
        ),
        (
            {
                "type": "PRACTITIONER",
                "classification": "CLINICAL_TRAINEE",
                "license": "CLINICAL_TRAINEE",
                "expectedEndOfTraining": "2027-06-30",
                "billingNumber": "12345",
            },
            "BILLING_NUMBER_NOT_ALLOWED",
            ["billingNumber"],
        ),
        ({"license": None}, "LICENSE_REQUIRED", ["license"]),
        ({"license": "CHR_PLUS"}, "LICENSE_NOT_ALLOWED_FOR_TYPE", ["license"]),
        (
            {
                "type": "PRACTITIONER",
                "classification": "CLINICAL_TRAINEE",
                "license": "CHR_PLUS",
                "expectedEndOfTraining": "2027-06-30",
            },
            "LICENSE_NOT_ALLOWED_FOR_TYPE",
            ["license"],
        ),
        ({"firstName": "bad\x00name"}, "INVALID_INPUT", ["firstName"]),
        ({"lastName": "x" * 101}, "INVALID_INPUT", ["lastName"]),
    ],
)
async def test_invite_refuses_bad_input_and_writes_nothing(clinic, fields, code, field):
    email = f"{unique('bad')}@x.test"
    before = await User.all().count()
    result = await invite(clinic.owner, **{**staff(email), **fields})
    assert result["user"] is None
    assert {"code": code, "field": field} in [{"code": e["code"], "field": e["field"]} for e in result["errors"]]
    assert await User.all().count() == before


async def test_invite_refuses_a_taken_email_whatever_its_case(clinic):
    email = f"{unique('dup')}@x.test"
    assert (await invite(clinic.owner, **staff(email)))["errors"] == []
    before = await take_snapshot()
    again = await invite(clinic.owner, **staff(email.upper()))
    assert [e["code"] for e in again["errors"]] == ["EMAIL_TAKEN"]
    # The database's unique column refused the INSERT: nothing of the invitation remains.
    assert before.difference(await take_snapshot()) == {}


async def test_a_taken_owner_email_leaves_no_organization_behind(clinic):
    taken = f"{unique('own')}@x.test"
    assert (await invite(clinic.owner, **staff(taken)))["errors"] == []
    before = await take_snapshot()
    with pytest.raises(OperationFailed) as refused:
        await create_organization(domain=unique("clinic"), name="Twice", owner_email=taken.upper())
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.EMAIL_TAKEN, ("email",))]
    assert before.difference(await take_snapshot()) == {}


async def test_invite_refuses_a_role_of_another_organization(client, clinic):
    other = await make_clinic(client)
    foreign_role = other.role_ids["Billing"]
    result = await invite(clinic.owner, **staff(f"{unique('r')}@x.test", roleIds=[foreign_role]))
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["roleIds"])]


async def _invitation_token(clinic, email: str) -> str:
    # The token waits beside its message until delivery; the body only has a mark.
    message = await OutboxMessage.filter(to_email=email).order_by("-id").first()
    return message.token


async def test_accept_invitation_activates_and_lets_the_user_log_in(client, clinic):
    email = f"{unique('acc')}@x.test"
    await invite(clinic.owner, **staff(email))
    token = await _invitation_token(clinic, email)
    response = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": token, "password": PASSWORD, "firstName": "Ana", "lastName": "Active"}},
        },
    )
    result = response.json()["data"]["acceptInvitation"]
    assert result["errors"] == [] and result["user"]["status"] == "ACTIVE"
    assert (await login(client, email))["errors"] == []
    again = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": token, "password": PASSWORD, "firstName": "Ana", "lastName": "Active"}},
        },
    )
    assert again.json()["data"]["acceptInvitation"]["errors"][0]["code"] == "INVITATION_USED"


async def test_accepting_sets_a_title_and_position_or_keeps_the_inviters(client, clinic):
    async def accept(email: str, **extra) -> dict:
        await invite(clinic.owner, **staff(email, title="Mx.", position="Clerk"))
        values = {"token": await _invitation_token(clinic, email), "password": PASSWORD, "firstName": "Ana"}
        response = await client.post(
            "/graphql", json={"query": ACCEPT, "variables": {"input": {**values, "lastName": "Active", **extra}}}
        )
        return response.json()["data"]["acceptInvitation"]

    own = f"{unique('own')}@x.test"
    assert (await accept(own, title=" Dr. ", position="Office manager"))["errors"] == []
    user = await User.get(email=own)
    assert (user.title, user.position) == ("Dr.", "Office manager")
    event = await AuditEvent.get(action="INVITATION_ACCEPTED", target_id=gid(user))
    assert event.changes["title"] == {"before": "Mx.", "after": "Dr."}
    kept = f"{unique('kept')}@x.test"
    assert (await accept(kept))["errors"] == []
    kept_user = await User.get(email=kept)
    assert (kept_user.title, kept_user.position) == ("Mx.", "Clerk")
    refused = await accept(f"{unique('long')}@x.test", title="x" * 101)
    assert refused["errors"] == [{"code": "INVALID_INPUT", "field": ["title"]}]


async def test_accept_refuses_a_weak_password_and_a_voided_or_expired_token(client, clinic):
    email = f"{unique('void')}@x.test"
    user_id = (await invite(clinic.owner, **staff(email)))["user"]["id"]
    old = await _invitation_token(clinic, email)
    weak = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": old, "password": "short", "firstName": "A", "lastName": "B"}},
        },
    )
    assert weak.json()["data"]["acceptInvitation"]["errors"][0]["code"] == "PASSWORD_TOO_WEAK"
    resent = await clinic.owner.gql(RESEND, {"input": {"userId": user_id}})
    assert resent["resendInvitation"]["errors"] == []
    voided = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": old, "password": PASSWORD, "firstName": "A", "lastName": "B"}},
        },
    )
    assert voided.json()["data"]["acceptInvitation"]["errors"][0]["code"] == "INVITATION_VOIDED"
    new = await _invitation_token(clinic, email)
    await Invitation.filter(token_hash=token_hash(new)).update(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    expired = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": new, "password": PASSWORD, "firstName": "A", "lastName": "B"}},
        },
    )
    assert expired.json()["data"]["acceptInvitation"]["errors"][0]["code"] == "INVITATION_EXPIRED"


async def test_service_accounts_may_reuse_an_address_and_never_log_in(client, clinic):
    email = f"{unique('svc')}@x.test"
    for _ in range(2):
        result = (
            await clinic.owner.gql(
                SERVICE,
                {
                    "input": {
                        "email": email,
                        "firstName": "Ivan",
                        "lastName": "Tech",
                        "displayName": "Importer",
                    }
                },
            )
        )["createServiceAccount"]
        assert result["errors"] == [] and result["user"]["status"] == "ACTIVE"
    missing = (
        await clinic.owner.gql(
            SERVICE, {"input": {"email": email, "firstName": "Ivan", "lastName": "Tech", "displayName": " "}}
        )
    )["createServiceAccount"]
    assert missing["errors"][0]["field"] == ["displayName"]
    assert (await login(client, email, PASSWORD))["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_update_user_validates_like_invite_and_needs_a_fitting_license_for_a_new_classification(clinic):
    email = f"{unique('doc')}@x.test"
    created = await invite(
        clinic.owner,
        email=email,
        type="PRACTITIONER",
        classification="STANDARD",
        license="CHR_PLUS",
        firstName="Dee",
        lastName="Doc",
        billingNumber="999",
    )
    user_id = created["user"]["id"]
    misfit = (await clinic.owner.gql(UPDATE, {"input": {"userId": user_id, "classification": "LOCUM"}}))["updateUser"]
    assert [(e["code"], e["field"]) for e in misfit["errors"]] == [("LICENSE_NOT_ALLOWED_FOR_TYPE", ["license"])]
    fitted = (
        await clinic.owner.gql(
            UPDATE,
            {"input": {"userId": user_id, "classification": "LOCUM", "license": "LOCUM", "title": "Dr."}},
        )
    )["updateUser"]
    assert fitted["errors"] == []
    assert (fitted["user"]["classification"], fitted["user"]["license"], fitted["user"]["title"]) == (
        "LOCUM",
        "LOCUM",
        "Dr.",
    )
    trainee = (
        await clinic.owner.gql(
            UPDATE,
            {
                "input": {
                    "userId": user_id,
                    "classification": "CLINICAL_TRAINEE",
                    "license": "CLINICAL_TRAINEE",
                    "expectedEndOfTraining": "2027-01-31",
                }
            },
        )
    )["updateUser"]
    assert [e["code"] for e in trainee["errors"]] == ["BILLING_NUMBER_NOT_ALLOWED"]


async def test_users_filters_searches_without_case_or_accents_and_hides_support(clinic):
    last = unique("Gagné")
    await invite(clinic.owner, **staff(f"{unique('e')}@x.test", lastName=last, firstName="Éloïse"))
    found = (
        await clinic.owner.gql(USERS, {"filter": {"search": last.upper().replace("É", "E").replace("GAGNÉ", "GAGNE")}})
    )["users"]
    assert [e["node"]["lastName"] for e in found["edges"]] == [last]
    by_accentless = await clinic.owner.gql(USERS, {"filter": {"search": "eloise " + last.replace("é", "e")}})
    assert by_accentless["users"]["totalCount"] == 1
    everyone = (await clinic.owner.gql(USERS, {"first": 100}))["users"]["edges"]
    assert all(e["node"]["type"] != "SUPPORT" for e in everyone)
    invited = (await clinic.owner.gql(USERS, {"filter": {"status": "INVITED"}}))["users"]["edges"]
    assert invited and all(e["node"]["status"] == "INVITED" for e in invited)
    ordered = (await clinic.owner.gql(USERS, {"orderBy": {"field": "EMAIL", "descending": True}}))["users"]
    emails = [e["node"]["email"] for e in ordered["edges"]]
    assert emails == sorted(emails, reverse=True)


async def test_a_user_without_view_users_can_read_itself_only(clinic):
    member = await clinic.member()
    me = await member.gql(USER, {"id": member.user_id})
    assert me["user"]["email"] == member.email
    other = await member.post(USER, {"id": clinic.owner.user_id})
    assert other.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
