"""The patient portal (SPEC §6)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, PortalImage
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
UPLOAD = """mutation($i: UploadPortalBackgroundImageInput!) { uploadPortalBackgroundImage(input: $i) {
  image { url contentType width height size } errors { code field } } }"""
HISTORY = "{ portalSettingsHistory { totalCount edges { node { action changes { field before after } } } } }"
REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { patient { id portalAccess } } }"""
ACCESS = """mutation($i: SetPatientPortalAccessInput!) { setPatientPortalAccess(input: $i) {
  patient { portalAccess } errors { code field } } }"""


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def image_bytes(kind: str, size=(64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format=kind)
    return buffer.getvalue()


async def upload(session, data: bytes, filename: str, content_type: str = "application/octet-stream"):
    operations = json.dumps({"query": UPLOAD, "variables": {"i": {"file": None}}})
    return await session.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {session.token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.i.file"]})},
        files={"0": (filename, data, content_type)},
    )


async def test_defaults_are_the_specs(clinic):
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
    await update_organization(support_cli_actor(clinic.organization.id), {"stripeConnected": True})
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


@pytest.mark.parametrize(("kind", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
async def test_a_real_image_is_stored_and_served_without_credentials(client, clinic, kind, content_type):
    data = image_bytes(kind)
    response = await upload(clinic.owner, data, "background.bin")
    result = response.json()["data"]["uploadPortalBackgroundImage"]
    assert result["errors"] == []
    image = result["image"]
    assert (image["contentType"], image["width"], image["height"], image["size"]) == (
        content_type,
        64,
        32,
        len(data),
    )
    served = await client.get(image["url"])
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == content_type
    assert "max-age" in served.headers["cache-control"] and served.headers["etag"]
    assert len(image["url"].rsplit("/", 1)[1]) >= 40
    assert (await client.get(image["url"], headers={"If-None-Match": served.headers["etag"]})).status_code == 304
    assert (await clinic.support.gql(SETTINGS))["portalSettings"]["backgroundImage"]["url"] == image["url"]


async def test_a_renamed_text_file_and_an_oversized_image_are_refused_and_nothing_is_stored(clinic):
    before = await PortalImage.all().count()
    text = await upload(clinic.owner, b"just some text, honestly\n" * 10, "photo.png", "image/png")
    assert text.json()["data"]["uploadPortalBackgroundImage"]["errors"] == [
        {"code": "UNSUPPORTED_IMAGE", "field": ["file"]}
    ]
    big = image_bytes("PNG") + b"\x00" * (5 * 1024 * 1024)
    oversized = await upload(clinic.owner, big, "big.png", "image/png")
    assert oversized.json()["data"]["uploadPortalBackgroundImage"]["errors"][0]["code"] == "IMAGE_TOO_LARGE"
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    other = await upload(clinic.owner, gif.getvalue(), "a.gif", "image/gif")
    assert other.json()["data"]["uploadPortalBackgroundImage"]["errors"][0]["code"] == "UNSUPPORTED_IMAGE"
    assert await PortalImage.all().count() == before


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
