"""billingStatement: who is billed for a month, in the organization's time zone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import (
    Classification,
    License,
    LicenseChange,
    LicenseChangeKind,
    Organization,
    User,
    UserStatus,
    UserStatusChange,
    UserType,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.licensing.changes import change_license, record_status
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import make_clinic
from tests.helpers import unique

STATEMENT = """query($m: String!) { billingStatement(month: $m) { month billedTotal
  lines { label billed count users { email } }
  forecast { month billedTotal lines { label count users { email } } } } }"""
JAN = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def historic_user(
    org: Organization,
    license: License | None,
    *,
    created: datetime = JAN,
    user_type: UserType = UserType.STAFF,
) -> User:
    """A user invited (and licensed, billed from the month after) at `created`."""
    classification = Classification.STANDARD if user_type is UserType.PRACTITIONER else None
    profile = Profile(user_type, classification, license, "Bill", unique("Able"))
    if org.contract.value == "STANDARD" and license is None:
        await update_organization(support_cli_actor(org.id), contract="CUSTOM")
        user, _ = await invite_user(support_cli_actor(org.id), f"{unique('b')}@bill.test", profile)
        await update_organization(support_cli_actor(org.id), contract="STANDARD")
    else:
        user, _ = await invite_user(support_cli_actor(org.id), f"{unique('b')}@bill.test", profile)
    await User.filter(id=user.id).update(created_at=created, license_managed_since=created)
    await UserStatusChange.filter(user_id=user.id).update(at=created)
    await LicenseChange.filter(user_id=user.id).update(
        changed_at=created, effective_on=date(2026, 2, 1), access_from=date(2026, 1, 10)
    )
    return await User.get(id=user.id)


async def set_status(user: User, status: UserStatus, at: datetime) -> None:
    async with atomic() as conn:
        await record_status(conn, user, status, at)


async def relicense(org: Organization, user: User, license: License, at: datetime) -> None:
    async with atomic() as conn:
        await change_license(conn, support_cli_actor(org.id), user, org, license, LicenseChangeKind.MANUAL, now=at)


def line(statement: dict, label: str) -> list[str]:
    return sorted(u["email"] for u in next(x for x in statement["lines"] if x["label"] == label)["users"])


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def statement(clinic, month: str) -> dict:
    return (await clinic.owner.gql(STATEMENT, {"m": month}))["billingStatement"]


async def test_month_boundaries_follow_the_organizations_time_zone(clinic):
    org = clinic.organization
    march_change = await _practitioner(org, License.CHR_LITE)
    april_change = await _practitioner(org, License.CHR_LITE)
    await relicense(org, march_change, License.CHR_PLUS, utc(2026, 4, 1, 3, 30))  # Mar 31 23:30 local
    await relicense(org, april_change, License.CHR_PLUS, utc(2026, 4, 1, 4, 30))  # Apr 1 00:30 local
    april = await statement(clinic, "2026-04")
    assert march_change.email in line(april, "CHR_PLUS")
    assert april_change.email in line(april, "CHR_LITE")
    may = await statement(clinic, "2026-05")
    assert {march_change.email, april_change.email} <= set(line(may, "CHR_PLUS"))


async def test_a_change_on_the_last_day_of_a_month_is_billed_from_the_next(clinic):
    org = clinic.organization
    user = await _practitioner(org, License.CHR_LITE)
    await relicense(org, user, License.CHR_LITE_VV, utc(2026, 2, 28, 17, 0))
    assert user.email in line(await statement(clinic, "2026-02"), "CHR_LITE")
    assert user.email in line(await statement(clinic, "2026-03"), "CHR_LITE_VV")


async def test_new_users_are_billed_from_the_month_after_and_invited_ones_count(clinic):
    org = clinic.organization
    invited = await historic_user(org, License.STAFF)
    assert invited.status is UserStatus.INVITED
    assert invited.email not in line(await statement(clinic, "2026-01"), "STAFF")
    assert invited.email in line(await statement(clinic, "2026-02"), "STAFF")


async def test_deactivation_and_reactivation_mid_month(clinic):
    org = clinic.organization
    user = await historic_user(org, License.STAFF)
    await set_status(user, UserStatus.ACTIVE, utc(2026, 1, 20, 12))
    await set_status(user, UserStatus.DEACTIVATED, utc(2026, 4, 10, 12))
    await set_status(user, UserStatus.ACTIVE, utc(2026, 5, 20, 12))
    assert user.email in line(await statement(clinic, "2026-04"), "STAFF")  # deactivated during April
    assert user.email not in line(await statement(clinic, "2026-05"), "STAFF")
    assert user.email in line(await statement(clinic, "2026-06"), "STAFF")


async def test_unlicensed_users_show_in_their_own_line_until_enforcement(clinic):
    org = clinic.organization
    await update_organization(support_cli_actor(org.id), license_enforcement_date=date(2026, 6, 15))
    org = await Organization.get(id=org.id)
    user = await historic_user(org, None, user_type=UserType.STAFF)
    june = await statement(clinic, "2026-06")
    assert user.email in line(june, "UNLICENSED")
    assert next(x for x in june["lines"] if x["label"] == "UNLICENSED")["billed"] is False
    assert await enforce_licenses(org.id, now=utc(2026, 6, 1, 12)) == 0  # before the enforcement date
    assert await enforce_licenses(org.id, now=utc(2026, 6, 20, 12)) == 1
    change = await LicenseChange.get(user_id=user.id, kind="ENFORCEMENT")
    assert change.effective_on == date(2026, 6, 15)  # later than February, the month after it came under management
    assert user.email in line(await statement(clinic, "2026-06"), "UNLICENSED")
    assert user.email in line(await statement(clinic, "2026-07"), "STAFF")


async def test_users_imported_after_enforcement_are_billed_from_the_month_after(clinic):
    org = clinic.organization
    await update_organization(support_cli_actor(org.id), license_enforcement_date=date(2026, 2, 1))
    org = await Organization.get(id=org.id)
    user = await historic_user(org, None, created=utc(2026, 7, 14, 12))
    assert await enforce_licenses(org.id, now=utc(2026, 7, 20, 12)) == 1
    assert (await LicenseChange.get(user_id=user.id, kind="ENFORCEMENT")).effective_on == date(2026, 8, 1)


async def test_the_forecast_comes_from_pending_changes(clinic):
    org = clinic.organization
    user = await _practitioner(org, License.CHR_PLUS)
    now = datetime.now(UTC)
    await relicense(org, user, License.CHR_LITE, now)  # a downgrade: pending until next month
    this_month = now.astimezone(ZoneInfo(org.time_zone)).strftime("%Y-%m")
    result = await statement(clinic, this_month)
    assert user.email in line(result["forecast"], "CHR_LITE")
    assert result["forecast"]["billedTotal"] >= 1


async def test_a_malformed_month_is_a_bad_argument(clinic):
    response = await clinic.owner.post(STATEMENT, {"m": "2026-13-01"})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_cli_prints_a_csv_statement(clinic, database_url):
    org = clinic.organization
    user = await historic_user(org, License.STAFF)
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chrgraph.cli",
            "billing",
            "statement",
            "--org",
            org.domain,
            "--month",
            "2026-03",
            "--csv",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0] == "month,license,billed,count,users"
    assert any(r.startswith("2026-03,STAFF,True,") and user.email in r for r in rows)
    assert any(r.startswith("2026-03,UNLICENSED,False,") for r in rows)


async def _practitioner(org: Organization, license: License) -> User:
    return (
        await historic_user(org, license, user_type=UserType.PRACTITIONER)
        if license is not License.STAFF
        else await historic_user(org, license)
    )
