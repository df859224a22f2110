"""License upgrade requests: only for a higher-ranked license, mailed to everyone who may
decide them, decisions mailed to the requester; the license catalog's names."""

from __future__ import annotations

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, License, OutboxMessage, Permission, User, UserStatus, UserType
from chrgraph.resolvers.users.roles import create_role, set_permission
from tests.accounts import Clinic, Session, make_clinic
from tests.helpers import key_of, unique

REQUEST = """
mutation Request($input: RequestLicenseUpgradeInput!) {
  requestLicenseUpgrade(input: $input) { request { id status } errors { code field } }
}"""
APPROVE = """
mutation Approve($input: ApproveLicenseUpgradeRequestInput!) {
  approveLicenseUpgradeRequest(input: $input) { request { status } errors { code field } }
}"""
DECLINE = """
mutation Decline($input: DeclineLicenseUpgradeRequestInput!) {
  declineLicenseUpgradeRequest(input: $input) { request { status } errors { code field } }
}"""
CATALOG = "{ licenseCatalog { license displayName description rank } }"


@pytest.fixture
async def clinic(client) -> Clinic:
    return await make_clinic(client)


async def pk(session: Session) -> int:
    assert session.user_id is not None
    return await key_of(session.user_id)


async def doctor(clinic: Clinic, license: License = License.CHR_LITE, roles: list[str] | None = None) -> Session:
    return await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=license,
        permissions_of=roles,
    )


async def editors_role(clinic: Clinic) -> str:
    name = unique("editors")
    role = await create_role(support_cli_actor(clinic.organization.id), name, None, [Permission.EDIT_OTHER_USERS])
    clinic.roles[name] = role.id
    return name


async def mail_to(clinic: Clinic, email: str) -> list[OutboxMessage]:
    return await OutboxMessage.filter(organization_id=clinic.organization.id, to_email=email).order_by("id")


async def request_mail(clinic: Clinic) -> set[str]:
    rows = await OutboxMessage.filter(organization_id=clinic.organization.id, subject__contains=" asks for ")
    return {row.to_email for row in rows}


async def test_asking_for_the_license_one_has_or_a_lower_one_is_invalid_input(clinic):
    plus = await doctor(clinic, License.CHR_PLUS)
    for license in ("CHR_PLUS", "CHR_LITE_VV", "CHR_LITE"):
        result = (await plus.gql(REQUEST, {"input": {"license": license}}))["requestLicenseUpgrade"]
        assert result == {"request": None, "errors": [{"code": "INVALID_INPUT", "field": ["license"]}]}, license
    assert await request_mail(clinic) == set()
    lite = await doctor(clinic, License.CHR_LITE)
    same = (await lite.gql(REQUEST, {"input": {"license": "CHR_LITE"}}))["requestLicenseUpgrade"]
    assert same["errors"] == [{"code": "INVALID_INPUT", "field": ["license"]}]
    higher = (await lite.gql(REQUEST, {"input": {"license": "CHR_LITE_VV"}}))["requestLicenseUpgrade"]
    assert higher["errors"] == [] and higher["request"]["status"] == "PENDING"


async def test_a_new_request_is_mailed_to_everyone_who_may_decide_it(clinic):
    editors = await editors_role(clinic)
    by_role = await clinic.member(permissions_of=[editors])
    by_grant = await clinic.member()
    await set_permission(
        support_cli_actor(clinic.organization.id), await pk(by_grant), Permission.EDIT_OTHER_USERS, True, None
    )
    gone = await clinic.member(permissions_of=[editors])
    await User.filter(id=await pk(gone)).update(status=UserStatus.DEACTIVATED)
    await clinic.member(permissions_of=["Billing"])  # holds no EDIT_OTHER_USERS
    # The requester holds EDIT_OTHER_USERS too, but never decides its own request.
    requester = await doctor(clinic, roles=[editors])
    asked = (await requester.gql(REQUEST, {"input": {"license": "CHR_PLUS", "reason": "Labs"}}))[
        "requestLicenseUpgrade"
    ]
    assert asked["errors"] == []
    assert await request_mail(clinic) == {clinic.owner.email, by_role.email, by_grant.email}
    message = (await mail_to(clinic, by_role.email))[-1]
    assert message.subject == "Pat Member asks for CHR Plus"
    assert requester.email in message.body and "Labs" in message.body


async def test_an_approval_is_mailed_to_the_requester(clinic):
    requester = await doctor(clinic)
    asked = (await requester.gql(REQUEST, {"input": {"license": "CHR_LITE_VV"}}))["requestLicenseUpgrade"]
    assert not [m for m in await mail_to(clinic, requester.email) if m.subject.startswith("Your request")]
    approved = (await clinic.owner.gql(APPROVE, {"input": {"requestId": asked["request"]["id"]}}))[
        "approveLicenseUpgradeRequest"
    ]
    assert approved["errors"] == []
    decision = (await mail_to(clinic, requester.email))[-1]
    assert decision.subject == "Your request for CHR Lite + VV was approved"


async def test_a_decline_is_mailed_to_the_requester_with_its_reason(clinic):
    requester = await doctor(clinic)
    asked = (await requester.gql(REQUEST, {"input": {"license": "CHR_PLUS"}}))["requestLicenseUpgrade"]
    declined = (
        await clinic.owner.gql(DECLINE, {"input": {"requestId": asked["request"]["id"], "reason": "Budget is spent"}})
    )["declineLicenseUpgradeRequest"]
    assert declined["errors"] == []
    decision = (await mail_to(clinic, requester.email))[-1]
    assert decision.subject == "Your request for CHR Plus was declined"
    assert "Budget is spent" in decision.body


async def test_a_refused_decision_mails_no_one(clinic):
    editors = await editors_role(clinic)
    requester = await doctor(clinic, roles=[editors])
    asked = (await requester.gql(REQUEST, {"input": {"license": "CHR_PLUS"}}))["requestLicenseUpgrade"]
    before = len(await mail_to(clinic, requester.email))
    own = (await requester.gql(APPROVE, {"input": {"requestId": asked["request"]["id"]}}))[
        "approveLicenseUpgradeRequest"
    ]
    assert own["errors"] == [{"code": "NOT_ALLOWED_FOR_SELF", "field": ["requestId"]}]
    assert len(await mail_to(clinic, requester.email)) == before


async def test_the_license_catalog_names_and_describes_each_license(clinic):
    for caller in (clinic.owner, clinic.vendor, clinic.support):
        catalog = {row["license"]: row for row in (await caller.gql(CATALOG))["licenseCatalog"]}
        assert set(catalog) == {license.value for license in License}
        assert catalog["CHR_LITE_VV"]["displayName"] == "CHR Lite + VV"
        assert catalog["CHR_PLUS"]["displayName"] == "CHR Plus"
        for row in catalog.values():
            assert row["displayName"] and row["description"] and "\n" not in row["description"]
