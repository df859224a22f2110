"""Generated data for the benchmark, made through the same operations the CLI and
GraphQL use (so every row has its audit event): one organization with an accepted
owner, a support password, an API consumer with a fresh RSA key, 120 users holding
roles, 40 patients and a week of 100 appointments; the 5 practitioners work Monday to
Friday 09:00-17:00 in the organization's time zone (availability, S6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from joserfc.jwk import RSAKey
from strawberry.relay import to_base64

from chrgraph import fast_paths
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.config import close_db, init_db
from chrgraph.db.models import Classification, License, Role, UserType
from chrgraph.resolvers.consumers.manage import (
    MAX_COST_BUDGET_PER_MINUTE,
    create_api_consumer,
    set_api_consumer_cost_budget,
)
from chrgraph.resolvers.organizations.create_organization import create_organization
from chrgraph.resolvers.patients.patients import register_patient
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.scheduling.hours import Weekday, set_working_hours
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.ownership import set_support_password
from chrgraph.resolvers.users.profile import Profile
from chrgraph.settings import get_settings

DOMAIN = "bench"
OWNER_EMAIL = "owner@bench.chrgraph.invalid"
PASSWORD = "bench-password-1234"
ISSUER = "bench-vendor"
KID = "k1"
STAFF = 114  # with the owner and 5 practitioners: 120 listable users
PRACTITIONERS = 5
PATIENTS = 40
APPOINTMENTS = 100


@dataclass(frozen=True)
class Seeded:
    organization_id: int
    private_key_pem: str
    week_from: str  # the window holding exactly the APPOINTMENTS booked
    week_before: str
    # The practitioners' global ids (S6 asks their availability).
    practitioner_ids: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return self.__dict__.copy()


async def seed(database_url: str) -> Seeded:
    fast_paths.install(get_settings())  # as the server and the CLI do
    await init_db(database_url, migrate=True)
    try:
        return await _seed()
    finally:
        await close_db()


async def _seed() -> Seeded:
    created = await create_organization(domain=DOMAIN, name="Bench Clinic", owner_email=OWNER_EMAIL)
    org = created.organization
    actor = support_cli_actor(org.id, created.support.id)
    await set_support_password(actor, PASSWORD)
    await accept_invitation(created.owner_invitation_token, PASSWORD, "Olivia", "Owner")

    key = RSAKey.generate_key(2048)
    await create_api_consumer(actor, name=ISSUER, public_key=key.as_pem(private=False).decode(), kid=KID)
    # The load must never be refused for its cost (S2 alone asks for ~75 M objects a minute):
    # the highest budget support can set.
    await set_api_consumer_cost_budget(actor, ISSUER, MAX_COST_BUDGET_PER_MINUTE)

    roles = [r.id for r in await Role.filter(organization_id=org.id).order_by("id")]
    for i in range(STAFF):
        # One or two roles each, so that the roles and permissions lists are not trivial.
        held = [roles[i % len(roles)]] + ([roles[(i + 1) % len(roles)]] if i % 3 == 0 else [])
        await invite_user(
            actor,
            f"staff{i:03}@bench.chrgraph.invalid",
            Profile(UserType.STAFF, license=License.STAFF, first_name="Sam", last_name=f"Staff{i:03}"),
            held,
        )
    doctors: list[int] = []
    doctor_ids: list[str] = []
    for i in range(PRACTITIONERS):
        user, token = await invite_user(
            actor,
            f"dr{i}@bench.chrgraph.invalid",
            Profile(
                UserType.PRACTITIONER,
                classification=Classification.STANDARD,
                license=License.CHR_PLUS,
                first_name="Dana",
                last_name=f"Doctor{i}",
                title="Dr.",
            ),
            [roles[0]],
        )
        await accept_invitation(token, PASSWORD, "Dana", f"Doctor{i}")
        doctors.append(user.id)
        doctor_ids.append(to_base64("User", user.public_id))

    patients = []
    for i in range(PATIENTS):
        row = await register_patient(
            actor,
            {
                "first_name": "Pat",
                "last_name": f"Patient{i:03}",
                "date_of_birth": date(1950 + i, 1 + i % 12, 1 + i % 28),
                "email": f"patient{i}@example.invalid",
                "phone": f"41655{i:05}",
                "health_card_number": f"ON{1000000000 + i * 7919}",
            },
            [],
        )
        patients.append(row.id)

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    booked = 0
    for day in range(1, 8):
        for slot in range(3):
            for doctor in doctors:
                if booked == APPOINTMENTS:
                    break
                start = (now + timedelta(days=day)).replace(hour=13 + slot)
                await book_appointment(actor, doctor, patients[booked % len(patients)], start, 30)
                booked += 1
    # Working hours after the bookings (some of which fall on a weekend or outside them).
    weekdays = list(Weekday)[:5]
    week = [{"weekday": d, "start": time(9), "end": time(17)} for d in weekdays]
    for doctor in doctors:
        await set_working_hours(actor, doctor, week, 30)
    return Seeded(
        organization_id=org.id,
        private_key_pem=key.as_pem(private=True).decode(),
        week_from=now.isoformat(),
        week_before=(now + timedelta(days=8)).isoformat(),
        practitioner_ids=tuple(doctor_ids),
    )
