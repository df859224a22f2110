"""`chrgraph demo`: the demo organization (domain `demo`) with users of every
type, status and classification; idempotent. Demo passwords are in the README."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

from PIL import Image

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, License, Organization, QuestionnaireKind, Sex, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.deactivate_user import deactivate_user
from chrgraph.resolvers.organizations.create_organization import create_organization
from chrgraph.resolvers.patients.patients import Identifier, create_identifier_type, register_patient
from chrgraph.resolvers.portal.images import upload_background_image
from chrgraph.resolvers.portal.settings import set_portal_enabled, update_portal_settings
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.hours import Weekday, add_schedule_exception, set_working_hours
from chrgraph.resolvers.scheduling.work import (
    create_inbox_message,
    create_lab_integration,
    create_questionnaire,
)
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import create_service_account, invite_user
from chrgraph.resolvers.users.list_users import users_query
from chrgraph.resolvers.users.ownership import set_support_password
from chrgraph.resolvers.users.profile import Profile

DEMO_DOMAIN = "demo"
OWNER_EMAIL = "owner@demo.chrgraph.invalid"
DEMO_PASSWORD = "demo-password-1234"


async def load_demo() -> str:
    if await Organization.exists(domain=DEMO_DOMAIN):
        org = await Organization.get(domain=DEMO_DOMAIN)
        members = await users_query(support_cli_actor(org.id)).count()
        return f"demo organization {org.domain} already loaded (id {org.id}) with {members} users"
    # One transaction (the operations nest as savepoints): a run that fails midway
    # leaves no half-loaded demo that later runs would take for complete.
    async with atomic():
        return await _load()


async def _load() -> str:
    created = await create_organization(domain=DEMO_DOMAIN, name="Demo Clinic", owner_email=OWNER_EMAIL)
    org = created.organization
    actor = support_cli_actor(org.id, created.support.id, created.support.public_id)
    await set_support_password(actor, DEMO_PASSWORD)
    assert created.owner_invitation_token is not None  # an owner was invited
    await accept_invitation(created.owner_invitation_token, DEMO_PASSWORD, "Olivia", "Owner")
    roles = {r.name: r.id for r in await actor.data.roles}
    today = date.today()
    people = [
        (
            "frontdesk@demo.chrgraph.invalid",
            Profile(UserType.STAFF, None, License.STAFF, "Frank", "Desk"),
            ["Front desk"],
            True,
        ),
        (
            "billing@demo.chrgraph.invalid",
            Profile(UserType.STAFF, None, License.STAFF, "Bea", "Biller"),
            ["Billing"],
            False,
        ),
        (
            "dr.lee@demo.chrgraph.invalid",
            Profile(
                UserType.PRACTITIONER,
                Classification.STANDARD,
                License.CHR_PLUS,
                "Ana",
                "Lee",
                title="Dr.",
                billing_number="123456",
            ),
            ["Practitioner"],
            True,
        ),
        (
            "dr.gagne@demo.chrgraph.invalid",
            Profile(
                UserType.PRACTITIONER,
                Classification.STANDARD,
                License.CHR_LITE,
                "Éloïse",
                "Gagné",
                title="Dr.",
            ),
            ["Practitioner"],
            True,
        ),
        (
            "locum@demo.chrgraph.invalid",
            Profile(UserType.PRACTITIONER, Classification.LOCUM, License.LOCUM, "Luc", "Locum", title="Dr."),
            ["Practitioner"],
            True,
        ),
        (
            "trainee@demo.chrgraph.invalid",
            Profile(
                UserType.PRACTITIONER,
                Classification.CLINICAL_TRAINEE,
                License.CLINICAL_TRAINEE,
                "Tara",
                "Trainee",
                expected_end_of_training=today + timedelta(days=120),
            ),
            ["Practitioner"],
            True,
        ),
    ]
    for email, profile, role_names, accept in people:
        _, token = await invite_user(actor, email, profile, [roles[n] for n in role_names])
        if accept:
            assert profile.first_name is not None and profile.last_name is not None  # every demo person has both
            await accept_invitation(token, DEMO_PASSWORD, profile.first_name, profile.last_name)
    gone, _ = await invite_user(
        actor,
        "former@demo.chrgraph.invalid",
        Profile(UserType.STAFF, None, License.STAFF, "Fern", "Former"),
        [roles["Front desk"]],
    )
    await deactivate_user(actor, gone.id)
    await create_service_account(
        actor,
        email="it@demo.chrgraph.invalid",
        first_name="Ivan",
        last_name="Tech",
        display_name="Lab results importer",
    )
    await _load_portal(actor)
    patients, appointments = await _load_clinical(actor)
    await _load_schedules(actor)
    count = await users_query(actor).count()  # the members `users` lists (not the support account)
    return (
        f"created demo organization {org.domain} (id {org.id}) with {count} users, {patients} patients and "
        f"{appointments} appointments; password {DEMO_PASSWORD}"
    )


async def _load_portal(actor) -> None:
    """The portal on, with sample settings and a generated background (issue #7's demo)."""
    await set_portal_enabled(actor, True)
    await update_portal_settings(
        actor,
        portal_accessible=True,
        accessible_for_new_patients=True,
        self_registration=True,
        otp_timeout_minutes=10,
        hidden_appointment_statuses=["NO_SHOW"],
    )
    gradient = Image.linear_gradient("L").resize((640, 360)).convert("RGB")
    buffer = io.BytesIO()
    gradient.save(buffer, format="PNG")
    await upload_background_image(actor, buffer.getvalue())


DEMO_PATIENTS = [
    ("Zoë", "Tremblay", date(1984, 3, 9)),
    ("Liam", "Gagnon", date(1990, 7, 21)),
    ("王", "小明", date(2001, 1, 30)),
    ("Noah", "Roy", date(1975, 11, 2)),
    ("Olivia", "Côté", date(1968, 5, 14)),
    ("Aarav", "Sharma", date(1999, 9, 9)),
    ("Fatima", "Haddad", date(1988, 2, 27)),
    ("Émile", "Bouchard", date(2012, 6, 6)),
    ("Ava", "Morin", date(1955, 12, 24)),
    ("Kenji", "Sato", date(1993, 4, 1)),
]


async def _load_clinical(actor) -> tuple[int, int]:
    """Patients, an identifier type, a week of appointments, questionnaires, inbox
    messages and a main lab integration (issue #4's demo)."""
    chart = await create_identifier_type(actor, "Chart number")
    patient_ids = []
    for index, (first, last, born) in enumerate(DEMO_PATIENTS):
        row = await register_patient(
            actor,
            {
                "first_name": first,
                "last_name": last,
                "date_of_birth": born,
                "email": f"patient{index}@example.invalid",
                "phone": f"41655501{index:02}",
                "health_card_number": f"ON{1000000000 + index * 7919}",
                "health_card_province": "ON",
                "health_card_version": "AB",
                "sex": (Sex.FEMALE, Sex.MALE)[index % 2],
                "address": {
                    "lines": [f"{100 + index} Queen Street West"],
                    "city": "Toronto",
                    "province": "ON",
                    "postal_code": "M5H 2N2",
                },
            },
            [Identifier(chart.id, f"C-{1000 + index}")],
        )
        patient_ids.append(row.id)
    doctors = (
        await actor.data.users.filter(type=UserType.PRACTITIONER, status="ACTIVE")
        .exclude(classification=Classification.CLINICAL_TRAINEE)
        .order_by("id")
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    booked = 0
    for day in range(1, 8):
        for slot, doctor in enumerate(doctors):
            start = (now + timedelta(days=day)).replace(hour=13 + slot)
            await book_appointment(
                actor, doctor.id, patient_ids[(day + slot) % len(patient_ids)], start, 30, reason="Follow-up visit"
            )
            booked += 1
    lead = doctors[0]
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.RECURRING,
        title="Blood pressure diary",
        practitioner_id=lead.id,
        patient_id=patient_ids[0],
    )
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.SENT,
        title="Intake form",
        practitioner_id=lead.id,
        patient_id=patient_ids[1],
    )
    await create_inbox_message(
        actor,
        owner_id=lead.id,
        subject="Lab results ready",
        body="CBC within range.",
        patient_id=patient_ids[0],
    )
    await create_inbox_message(
        actor,
        owner_id=lead.id,
        subject="Refill request",
        body="Metformin 500 mg.",
        patient_id=patient_ids[3],
        snoozed_until=now + timedelta(days=2),
    )
    await create_lab_integration(actor, name="LifeLabs", backed_by_id=lead.id, is_main=True)
    return len(patient_ids), booked


async def _load_schedules(actor) -> None:
    """Working hours for the practitioners (Monday to Friday 09:00-17:00, Dr. Gagné's in
    30-minute slots and her Friday afternoons off), closed on the next 25 December, and a
    shared schedule: a procedure room (a service account) open Monday, Wednesday and
    Friday mornings. Set after the week of appointments, some of which fall outside."""
    weekdays = list(Weekday)[:5]
    practitioners = await actor.data.users.filter(type=UserType.PRACTITIONER, status="ACTIVE").order_by("id")
    today = datetime.now(UTC).date()
    christmas = date(today.year, 12, 25) if today < date(today.year, 12, 25) else date(today.year + 1, 12, 25)
    for doctor in practitioners:
        gagne = doctor.last_name == "Gagné"
        week = [
            {"weekday": d, "start": time(9), "end": time(12 if gagne and d is Weekday.FRIDAY else 17)} for d in weekdays
        ]
        await set_working_hours(actor, doctor.id, week, 30 if gagne else 15)
        await add_schedule_exception(actor, doctor.id, christmas, closed=True)
    room = await create_service_account(
        actor,
        email="rooms@demo.chrgraph.invalid",
        first_name="Procedure",
        last_name="Room",
        display_name="Procedure room (shared schedule)",
    )
    mornings = [Weekday.MONDAY, Weekday.WEDNESDAY, Weekday.FRIDAY]
    await set_working_hours(actor, room.id, [{"weekday": d, "start": time(8), "end": time(12)} for d in mornings], 30)
