"""The patient portal: switching it, its settings, and per-patient access (the
background image: test_portal_background_image.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import AuditEvent, Organization
from chrgraph.resolvers.organizations.update_organization import update_organization
from tests.accounts import make_clinic
from tests.helpers import unique

SETTINGS = """{ portalSettings { portalEnabled portalAccessible accessibleForNewPatients selfRegistration
  conversationResponses portalBilling extraSearchableIdentifications otpTimeoutMinutes hiddenAppointmentStatuses
  notificationLogin backgroundImage { url contentType width height size } } }"""
UPDATE = """mutation($i: UpdatePortalSettingsInput!) { updatePortalSettings(input: $i) {
  portalSettings { portalAccessible otpTimeoutMinutes hiddenAppointmentStatuses notificationLogin portalBilling }
  errors { code field } } }"""
ENABLE = "mutation { enablePortal { organization { portalEnabled } errors { code } } }"
DISABLE = "mutation { disablePortal { organization { portalEnabled } errors { code } } }"
HISTORY = "{ portalSettingsHistory { totalCount edges { node { action changes { field before after } } } } }"
ORG = """mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
  organization { stripeConnected } errors { code } } }"""
BILLING = "{ portalSettings { portalBilling } }"
REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { patient { id portalAccess } } }"""
ACCESS = """mutation($i: SetPatientPortalAccessInput!) { setPatientPortalAccess(input: $i) {
  patient { portalAccess } errors { code field } } }"""


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_the_settings_start_at_their_documented_defaults(clinic):
    assert (await clinic.support.gql(SETTINGS))["portalSettings"] == {
        "portalEnabled": False,
        "portalAccessible": False,
        "accessibleForNewPatients": False,
        "selfRegistration": False,
        "conversationResponses": True,
        "portalBilling": False,
        "extraSearchableIdentifications": False,
        "otpTimeoutMinutes": 15,
        "hiddenAppointmentStatuses": [],
        "notificationLogin": "OTP_AND_DATE_OF_BIRTH",
        "backgroundImage": None,
    }


async def test_partial_updates_change_only_what_is_given_even_while_disabled(clinic):
    first = await clinic.owner.gql(UPDATE, {"i": {"portalAccessible": True, "otpTimeoutMinutes": 30}})
    assert first["updatePortalSettings"]["errors"] == []
    second = await clinic.owner.gql(
        UPDATE,
        {
            "i": {
                "hiddenAppointmentStatuses": ["NO_SHOW", "CANCELLED"],
                "notificationLogin": "ID_AND_DATE_OF_BIRTH",
            }
        },
    )
    settings = second["updatePortalSettings"]["portalSettings"]
    assert settings == {
        "portalAccessible": True,
        "otpTimeoutMinutes": 30,
        "hiddenAppointmentStatuses": ["CANCELLED", "NO_SHOW"],
        "notificationLogin": "ID_AND_DATE_OF_BIRTH",
        "portalBilling": False,
    }
    history = (await clinic.owner.gql(HISTORY))["portalSettingsHistory"]
    assert history["totalCount"] == 2
    latest = {c["field"]: (c["before"], c["after"]) for c in history["edges"][0]["node"]["changes"]}
    assert latest["notificationLogin"] == ("OTP_AND_DATE_OF_BIRTH", "ID_AND_DATE_OF_BIRTH")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"otpTimeoutMinutes": 7}, "INVALID_INPUT", ["otpTimeoutMinutes"]),
        ({"portalBilling": True}, "STRIPE_INTEGRATION_REQUIRED", ["portalBilling"]),
        ({"portalAccessible": None}, "INVALID_INPUT", ["portalAccessible"]),
    ],
)
async def test_invalid_settings_are_refused(clinic, fields, code, field):
    result = (await clinic.owner.gql(UPDATE, {"i": fields}))["updatePortalSettings"]
    assert result["errors"] == [{"code": code, "field": field}]


async def test_portal_billing_is_allowed_once_stripe_is_connected(clinic):
    await update_organization(support_cli_actor(clinic.organization.id), stripe_connected=True)
    result = (await clinic.owner.gql(UPDATE, {"i": {"portalBilling": True}}))["updatePortalSettings"]
    assert result["errors"] == [] and result["portalSettings"]["portalBilling"] is True


async def test_an_unknown_appointment_status_is_a_bad_argument(clinic):
    response = await clinic.owner.post(UPDATE, {"i": {"hiddenAppointmentStatuses": ["LOST"]}})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_only_owner_and_support_switch_the_portal(clinic):
    assert (await clinic.owner.gql(ENABLE))["enablePortal"]["organization"]["portalEnabled"] is True
    assert (await clinic.support.gql(DISABLE))["disablePortal"]["organization"]["portalEnabled"] is False
    admin = await clinic.member(permissions_of=["Administrator"])
    for caller in (admin, clinic.vendor):
        assert (await caller.post(ENABLE)).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await clinic.vendor.post(SETTINGS)).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_multipart_that_is_not_an_upload_is_a_bad_request(clinic):
    response = await clinic.owner.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {clinic.owner.token}"},
        files={"x": ("a.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_enabling_the_portal_gives_no_existing_patient_access(clinic):
    pat = {"firstName": "Ann", "lastName": unique("Before"), "dateOfBirth": "1980-01-01"}
    before = (await clinic.vendor.gql(REGISTER, {"i": pat}))["registerPatient"]["patient"]
    await clinic.owner.gql(ENABLE)
    await clinic.owner.gql(UPDATE, {"i": {"portalAccessible": True}})
    assert (await clinic.vendor.gql(REGISTER, {"i": {**pat, "lastName": unique("After")}}))["registerPatient"][
        "patient"
    ]["portalAccess"] is False
    granted = await clinic.vendor.gql(ACCESS, {"i": {"patientId": before["id"], "enabled": True}})
    assert granted["setPatientPortalAccess"]["patient"]["portalAccess"] is True
    assert await AuditEvent.filter(action="PATIENT_PORTAL_ACCESS_SET").exists()


@pytest.mark.parametrize("portal_first", [True, False])
async def test_new_patients_get_access_when_accessible_for_new_patients_is_on(clinic, portal_first):
    pat = {"firstName": "Neo", "lastName": unique("New"), "dateOfBirth": "1999-09-09"}
    if portal_first:
        await clinic.owner.gql(ENABLE)
    await clinic.owner.gql(UPDATE, {"i": {"accessibleForNewPatients": True}})
    first = (await clinic.vendor.gql(REGISTER, {"i": pat}))["registerPatient"]["patient"]
    assert first["portalAccess"] is True
    if not portal_first:
        await clinic.owner.gql(ENABLE)
        second = await clinic.vendor.gql(REGISTER, {"i": {**pat, "lastName": unique("Next")}})
        assert second["registerPatient"]["patient"]["portalAccess"] is True


async def portal_billing_on(clinic) -> None:
    connected = await clinic.support.gql(ORG, {"i": {"stripeConnected": True}})
    assert connected["updateOrganization"]["errors"] == []
    result = (await clinic.owner.gql(UPDATE, {"i": {"portalBilling": True}}))["updatePortalSettings"]
    assert result["errors"] == [] and result["portalSettings"]["portalBilling"] is True


async def test_disconnecting_stripe_turns_portal_billing_off_with_its_own_audit_event(clinic):
    await portal_billing_on(clinic)
    result = (await clinic.support.gql(ORG, {"i": {"stripeConnected": False}}))["updateOrganization"]
    assert result == {"organization": {"stripeConnected": False}, "errors": []}
    assert (await clinic.owner.gql(BILLING))["portalSettings"]["portalBilling"] is False
    org_id = clinic.organization.id
    [updated] = await AuditEvent.filter(organization_id=org_id, action="ORGANIZATION_UPDATED").order_by("-seq").limit(1)
    [billing] = await AuditEvent.filter(organization_id=org_id, action="PORTAL_BILLING_DISABLED")
    assert billing.changes == {"portalBilling": {"before": True, "after": False}, "reason": "STRIPE_DISCONNECTED"}
    assert updated.changes == {"stripeConnected": {"before": True, "after": False}}
    # Written together: the two events follow each other in the chain, from one request.
    assert billing.seq == updated.seq + 1 and billing.request_id == updated.request_id is not None
    history = (await clinic.owner.gql(HISTORY))["portalSettingsHistory"]["edges"]
    assert history[0]["node"]["action"] == "PORTAL_BILLING_DISABLED"
    # Reconnecting Stripe does not turn portal billing back on.
    await clinic.support.gql(ORG, {"i": {"stripeConnected": True}})
    assert (await clinic.owner.gql(BILLING))["portalSettings"]["portalBilling"] is False


async def test_when_turning_portal_billing_off_fails_stripe_stays_connected(clinic):
    await portal_billing_on(clinic)
    events_before = await AuditEvent.filter(organization_id=clinic.organization.id).count()
    plan = hooks.FaultPlan(fail_at=1, match='"portal_settings"')
    hooks.arm_fault(plan)
    try:
        response = await clinic.support.post(ORG, {"i": {"stripeConnected": False}})
    finally:
        hooks.disarm_fault()
    assert plan.fired
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert (await Organization.get(id=clinic.organization.id)).stripe_connected is True
    assert (await clinic.owner.gql(BILLING))["portalSettings"]["portalBilling"] is True
    assert await AuditEvent.filter(organization_id=clinic.organization.id).count() == events_before


async def test_disconnecting_stripe_with_portal_billing_off_records_no_billing_event(clinic):
    await clinic.support.gql(ORG, {"i": {"stripeConnected": True}})
    await clinic.support.gql(ORG, {"i": {"stripeConnected": False}})
    assert not await AuditEvent.filter(
        organization_id=clinic.organization.id, action="PORTAL_BILLING_DISABLED"
    ).exists()


async def test_chrgraph_org_set_no_stripe_connected_turns_portal_billing_off(clinic, database_url):
    await portal_billing_on(clinic)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "chrgraph"),
        "org",
        "set",
        "--domain",
        clinic.domain,
        "--no-stripe-connected",
        env={**os.environ, "CHRGRAPH_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert (await clinic.owner.gql(BILLING))["portalSettings"]["portalBilling"] is False
    [billing] = await AuditEvent.filter(organization_id=clinic.organization.id, action="PORTAL_BILLING_DISABLED")
    assert billing.actor_kind.value == "SYSTEM"  # the operator's command line
    assert (await clinic.owner.gql(UPDATE, {"i": {"portalBilling": True}}))["updatePortalSettings"]["errors"] == [
        {"code": "STRIPE_INTEGRATION_REQUIRED", "field": ["portalBilling"]}
    ]
