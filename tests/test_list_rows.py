"""List pages read their rows as `values()` (no model instances): every field of a user,
an appointment and its people answers as the same object read alone through `node`."""

from __future__ import annotations

from tests.accounts import make_clinic
from tests.scheduling_helpers import at, patient, practitioner

USER_FIELDS = """id email type classification licenseReviewed status firstName lastName displayName
  title position billingNumber expectedEndOfTraining createdAt invitedAt acceptedAt deactivatedAt
  license pendingLicense pendingLicenseEffectiveOn isOwner roles { id name } permissions extraPermissions
  locum { startDate endDate practitioner { id } }"""
PATIENT_FIELDS = "id firstName lastName dateOfBirth email phone healthCardNumber portalAccess createdAt"
APPOINTMENT_FIELDS = f"""id start durationMinutes end status cancelReason
  practitioner {{ {USER_FIELDS} }} patient {{ {PATIENT_FIELDS} }}"""

USERS = f"query {{ users(first: 100) {{ edges {{ node {{ {USER_FIELDS} }} }} }} }}"
APPOINTMENTS = f"query {{ appointments(first: 100) {{ edges {{ node {{ {APPOINTMENT_FIELDS} }} }} }} }}"
USER_NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on User {{ {USER_FIELDS} }} }} }}"
APPOINTMENT_NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Appointment {{ {APPOINTMENT_FIELDS} }} }} }}"
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { appointment { id } errors { code } } }"""


async def test_users_of_a_list_page_answer_as_each_user_read_alone(client):
    clinic = await make_clinic(client)
    doctor = await practitioner(clinic.organization.id)
    await practitioner(clinic.organization.id, accept=False)  # invited, not accepted
    listed = [e["node"] for e in (await clinic.owner.gql(USERS))["users"]["edges"]]
    assert len(listed) >= 3 and doctor in {u["id"] for u in listed}
    for user in listed:
        assert (await clinic.owner.gql(USER_NODE, {"id": user["id"]}))["node"] == user


async def test_appointments_of_a_list_page_answer_as_each_appointment_read_alone(client):
    clinic = await make_clinic(client)
    doctor = await practitioner(clinic.organization.id)
    for day in (1, 2):
        booked = await clinic.owner.gql(
            BOOK,
            {
                "i": {
                    "practitionerId": doctor,
                    "patientId": await patient(clinic.organization.id, health_card_number=None),
                    "start": at(days=day),
                    "durationMinutes": 30,
                }
            },
        )
        assert booked["bookAppointment"]["errors"] == []
    listed = [e["node"] for e in (await clinic.owner.gql(APPOINTMENTS))["appointments"]["edges"]]
    assert len(listed) == 2
    for appointment in listed:
        assert (await clinic.owner.gql(APPOINTMENT_NODE, {"id": appointment["id"]}))["node"] == appointment
