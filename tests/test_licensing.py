"""License management: catalogue, dated changes, upgrades, feature access."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Contract, License, LicenseChange, User
from chrgraph.resolvers.licensing.changes import settle_due_changes
from chrgraph.resolvers.licensing.dates import first_of_next_month, local_date
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.users.roles import set_permission
from tests.accounts import make_clinic, session_for
from tests.helpers import key_of
from tests.scheduling_helpers import practitioner

CATALOG = "{ licenseCatalog { license userType classification rank features } }"
SET = """mutation($i: SetUserLicenseInput!) { setUserLicense(input: $i) {
  user { license pendingLicense pendingLicenseEffectiveOn licenseHistory { kind fromLicense toLicense effectiveOn
         accessFrom cancelledAt } } errors { code field } } }"""
CANCEL = """mutation($i: CancelPendingLicenseChangeInput!) { cancelPendingLicenseChange(input: $i) {
  user { license pendingLicense } errors { code } } }"""
USER = "query($id: ID!) { user(id: $id) { license pendingLicense pendingLicenseEffectiveOn licenseReviewed } }"
ACCESS = """query($id: ID!, $f: Feature!) { featureAccess(userId: $id, feature: $f) {
  license included lowestLicense canUpgradeSelf mustRequest } }"""
UPGRADE = (
    """mutation($i: UpgradeOwnLicenseInput!) { upgradeOwnLicense(input: $i) { user { license } errors { code } } }"""
)
REQUEST = """mutation($i: RequestLicenseUpgradeInput!) { requestLicenseUpgrade(input: $i) {
  request { id status requestedLicense } errors { code } } }"""
APPROVE = """mutation($i: ApproveLicenseUpgradeRequestInput!) { approveLicenseUpgradeRequest(input: $i) {
  request { status } errors { code } } }"""
DECLINE = """mutation($i: DeclineLicenseUpgradeRequestInput!) { declineLicenseUpgradeRequest(input: $i) {
  request { status decisionReason } errors { code } } }"""
REQUESTS = "query { licenseUpgradeRequests(status: PENDING) { id requestedLicense user { email } } }"
INVITE = """mutation($i: InviteUserInput!) { inviteUser(input: $i) { user { id license } errors { code field } } }"""


def org_today() -> date:
    return local_date(datetime.now(UTC), "America/Toronto")


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def pk(global_id: str) -> int:
    return await key_of(global_id)


async def test_the_catalogue_is_the_license_table(clinic):
    rows = {r["license"]: r for r in (await clinic.vendor.gql(CATALOG))["licenseCatalog"]}
    assert list(rows) == ["STAFF", "CHR_LITE", "CHR_LITE_VV", "CHR_PLUS", "LOCUM", "CLINICAL_TRAINEE"]
    assert (rows["LOCUM"]["rank"], rows["LOCUM"]["classification"]) == (3, "LOCUM")
    assert "PROVINCIAL_BILLING" not in rows["CLINICAL_TRAINEE"]["features"]
    assert {"LABS", "PRESCRIPTIONS", "CONNECT_APP"} <= set(rows["CLINICAL_TRAINEE"]["features"])
    assert set(rows["CHR_PLUS"]["features"]) == set(rows["LOCUM"]["features"])
    assert "VIRTUAL_CARE" in rows["CHR_LITE_VV"]["features"] and "VIRTUAL_CARE" not in rows["CHR_LITE"]["features"]


async def test_custom_contracts_are_left_out_of_license_management(client):
    clinic = await make_clinic(client, contract=Contract.CUSTOM)
    result = (
        await clinic.owner.gql(
            INVITE, {"i": {"email": "c@custom.test", "type": "STAFF", "firstName": "C", "lastName": "U"}}
        )
    )["inviteUser"]
    assert result["errors"] == [] and result["user"]["license"] is None


async def test_an_upgrade_counts_at_once_for_access_and_next_month_for_billing(clinic):
    dr = await practitioner(clinic.organization.id, license=License.CHR_LITE)
    result = (await clinic.owner.gql(SET, {"i": {"userId": dr, "license": "CHR_PLUS"}}))["setUserLicense"]
    user = result["user"]
    assert (user["license"], user["pendingLicense"]) == ("CHR_PLUS", None)
    latest = user["licenseHistory"][0]
    today = org_today()
    assert (latest["kind"], latest["fromLicense"], latest["toLicense"]) == ("MANUAL", "CHR_LITE", "CHR_PLUS")
    assert latest["effectiveOn"] == first_of_next_month(today).isoformat()


async def test_a_downgrade_waits_for_its_effective_date_and_can_be_cancelled(clinic):
    dr = await practitioner(clinic.organization.id, license=License.CHR_PLUS)
    down = (await clinic.owner.gql(SET, {"i": {"userId": dr, "license": "CHR_LITE"}}))["setUserLicense"]["user"]
    assert (down["license"], down["pendingLicense"]) == ("CHR_PLUS", "CHR_LITE")
    assert down["pendingLicenseEffectiveOn"] == first_of_next_month(org_today()).isoformat()
    cancelled = (await clinic.owner.gql(CANCEL, {"i": {"userId": dr}}))["cancelPendingLicenseChange"]["user"]
    assert cancelled == {"license": "CHR_PLUS", "pendingLicense": None}
    assert await LicenseChange.filter(user_id=await pk(dr), cancelled_at__isnull=False).count() == 1
    again = (await clinic.owner.gql(CANCEL, {"i": {"userId": dr}}))["cancelPendingLicenseChange"]
    assert again["errors"][0]["code"] == "INVALID_STATE"


async def test_a_due_downgrade_is_what_access_uses_and_the_job_settles_it(clinic):
    dr = await practitioner(clinic.organization.id, license=License.CHR_PLUS)
    await clinic.owner.gql(SET, {"i": {"userId": dr, "license": "CHR_LITE_VV"}})
    await User.filter(id=await pk(dr)).update(pending_license_effective_on=date.today() - timedelta(days=1))
    shown = (await clinic.owner.gql(USER, {"id": dr}))["user"]
    assert (shown["license"], shown["pendingLicense"]) == ("CHR_LITE_VV", None)
    assert await settle_due_changes() >= 1
    stored = await User.get(id=await pk(dr))
    assert (stored.license, stored.pending_license) == (License.CHR_LITE_VV, None)


async def test_a_license_must_fit(clinic):
    dr = await practitioner(clinic.organization.id)
    result = (await clinic.owner.gql(SET, {"i": {"userId": dr, "license": "STAFF"}}))["setUserLicense"]
    assert result["errors"] == [{"code": "LICENSE_NOT_ALLOWED_FOR_TYPE", "field": ["license"]}]


async def test_feature_access_names_the_lowest_fitting_license_and_who_may_upgrade(clinic):
    org = clinic.organization.id
    dr = await practitioner(org, license=License.CHR_LITE)
    access = (await clinic.vendor.gql(ACCESS, {"id": dr, "f": "LABS"}))["featureAccess"]
    assert access == {
        "license": "CHR_LITE",
        "included": False,
        "lowestLicense": "CHR_PLUS",
        "canUpgradeSelf": False,
        "mustRequest": True,
    }
    assert (await clinic.vendor.gql(ACCESS, {"id": dr, "f": "SCHEDULING"}))["featureAccess"]["included"] is True
    video = (await clinic.vendor.gql(ACCESS, {"id": dr, "f": "VIRTUAL_CARE"}))["featureAccess"]
    assert video["lowestLicense"] == "CHR_LITE_VV"
    staff = (await clinic.vendor.gql(ACCESS, {"id": clinic.owner.user_id, "f": "VIRTUAL_CARE"}))["featureAccess"]
    assert (staff["included"], staff["lowestLicense"], staff["mustRequest"]) == (False, None, False)


async def test_a_holder_of_upgrade_type_classification_upgrades_itself(clinic):
    org = clinic.organization.id
    dr = await practitioner(org, license=License.CHR_LITE)
    email = (await User.get(id=await pk(dr))).email
    await set_permission(support_cli_actor(org), await pk(dr), "UPGRADE_TYPE_CLASSIFICATION", True, None)
    session = await session_for(clinic.client, email)
    access = (await session.gql(ACCESS, {"id": dr, "f": "LABS"}))["featureAccess"]
    assert (access["canUpgradeSelf"], access["mustRequest"]) == (True, False)
    up = (await session.gql(UPGRADE, {"i": {"license": "CHR_PLUS"}}))["upgradeOwnLicense"]
    assert up == {"user": {"license": "CHR_PLUS"}, "errors": []}
    down = (await session.gql(UPGRADE, {"i": {"license": "CHR_LITE"}}))["upgradeOwnLicense"]
    assert down["errors"][0]["code"] == "INVALID_INPUT"


async def test_others_request_and_an_admin_decides(clinic):
    org = clinic.organization.id
    dr = await practitioner(org, license=License.CHR_LITE)
    email = (await User.get(id=await pk(dr))).email
    session = await session_for(clinic.client, email)
    denied = await session.post(UPGRADE, {"i": {"license": "CHR_PLUS"}})
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    asked = await session.gql(REQUEST, {"i": {"license": "CHR_PLUS", "reason": "Labs for diabetes care"}})
    request_id = asked["requestLicenseUpgrade"]["request"]["id"]
    pending = (await clinic.owner.gql(REQUESTS))["licenseUpgradeRequests"]
    assert [r["id"] for r in pending] == [request_id]
    assert (await clinic.owner.gql(APPROVE, {"i": {"requestId": request_id}}))["approveLicenseUpgradeRequest"][
        "request"
    ]["status"] == "APPROVED"
    assert (await clinic.owner.gql(USER, {"id": dr}))["user"]["license"] == "CHR_PLUS"
    twice = (await clinic.owner.gql(DECLINE, {"i": {"requestId": request_id}}))["declineLicenseUpgradeRequest"]
    assert twice["errors"][0]["code"] == "INVALID_STATE"
    held = (await session.gql(REQUEST, {"i": {"license": "CHR_PLUS"}}))["requestLicenseUpgrade"]
    assert held["errors"] == [{"code": "INVALID_INPUT"}]
    other = await practitioner(org, license=License.CHR_LITE)
    other_session = await session_for(clinic.client, (await User.get(id=await pk(other))).email)
    asked_again = await other_session.gql(REQUEST, {"i": {"license": "CHR_LITE_VV"}})
    second = asked_again["requestLicenseUpgrade"]["request"]
    declined = await clinic.owner.gql(DECLINE, {"i": {"requestId": second["id"], "reason": "Not now"}})
    assert declined["declineLicenseUpgradeRequest"]["request"] == {
        "status": "DECLINED",
        "decisionReason": "Not now",
    }
    assert (await clinic.vendor.post(REQUEST, {"i": {"license": "CHR_PLUS"}})).json()["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"


async def test_changing_classification_needs_a_fitting_license_and_access_uses_it_at_once(clinic):
    dr = await practitioner(clinic.organization.id, license=License.CHR_PLUS)
    doc = """mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { license classification }
      errors { code field } } }"""
    moved = (
        await clinic.owner.gql(
            doc,
            {
                "i": {
                    "userId": dr,
                    "classification": "CLINICAL_TRAINEE",
                    "license": "CLINICAL_TRAINEE",
                    "expectedEndOfTraining": "2027-06-30",
                }
            },
        )
    )["updateUser"]
    assert moved["errors"] == []
    # CLINICAL_TRAINEE ranks below CHR_PLUS, yet access uses it at once: the old one no longer fits.
    assert (await clinic.owner.gql(USER, {"id": dr}))["user"]["license"] == "CLINICAL_TRAINEE"


async def test_switching_to_standard_brings_users_under_management(client):
    clinic = await make_clinic(client, contract=Contract.CUSTOM)
    result = (
        await clinic.owner.gql(
            INVITE, {"i": {"email": "s@switch.test", "type": "STAFF", "firstName": "S", "lastName": "W"}}
        )
    )["inviteUser"]
    user = await User.get(id=await pk(result["user"]["id"]))
    assert user.license_managed_since is None
    await update_organization(support_cli_actor(clinic.organization.id), contract=Contract.STANDARD)
    assert (await User.get(id=user.id)).license_managed_since is not None
