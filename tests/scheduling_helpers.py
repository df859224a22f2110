"""Patients and practitioners for scheduling tests, made through the operations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, License, UserType
from chrgraph.resolvers.patients.patients import register_patient
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import PASSWORD
from tests.helpers import gid, unique


async def practitioner(org_id: int, *, accept: bool = True, **profile) -> str:
    """A practitioner's global id (ACTIVE unless accept=False)."""
    profile.setdefault("classification", Classification.STANDARD)
    profile.setdefault("license", License.CHR_PLUS)
    user, token = await invite_user(
        support_cli_actor(org_id),
        f"{unique('dr')}@x.test",
        Profile(UserType.PRACTITIONER, first_name="Dana", last_name="Doc", **profile),
    )
    if accept:
        await accept_invitation(token, PASSWORD, "Dana", "Doc")
    return gid(user)


async def patient(org_id: int, **fields) -> str:
    row = await register_patient(
        support_cli_actor(org_id),
        {
            "first_name": fields.pop("first_name", "Pat"),
            "last_name": fields.pop("last_name", unique("Patient")),
            "date_of_birth": fields.pop("date_of_birth", date(1980, 5, 17)),
            "email": None,
            "phone": None,
            "health_card_number": fields.pop("health_card_number", None),
        },
        [],
    )
    return gid(row)


def at(days: int = 1, hour: int = 14, minute: int = 0) -> str:
    base = (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base.isoformat()
