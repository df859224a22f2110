"""License management applies only to STANDARD-contract organizations: a CUSTOM
organization has no unmapped users, no mapping, no enforcement (scheduled, by command
or after an import) and a billing statement without lines that says so."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, Contract, License, LicenseChange, Organization, User, UserType
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.licensing.importer import COLUMNS
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import make_clinic
from tests.helpers import unique

UNMAPPED = "{ unmappedUsers { user { email } reason proposedLicense confidence } }"
MAPPING = """mutation($i: RunLicenseMappingInput!) { runLicenseMapping(input: $i) {
  applied { user { email } } unmapped { user { email } } errors { code } } }"""
STATEMENT = """query($m: String!) { billingStatement(month: $m) { month billedTotal underLicenseManagement
  lines { label count } forecast { month billedTotal underLicenseManagement lines { label count } } } }"""
ORG = """mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
  organization { contract } errors { code } } }"""
PAST = date(2026, 2, 1)  # an enforcement date already reached: enforcement would run if it applied


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "chrgraph.cli", *args], capture_output=True, text=True, env=env, timeout=180
    )


@pytest.fixture
async def custom(client):
    clinic = await make_clinic(client, contract=Contract.CUSTOM)
    await update_organization(support_cli_actor(clinic.organization.id), license_enforcement_date=PAST)
    return clinic


@pytest.fixture
async def standard(client):
    clinic = await make_clinic(client)
    await update_organization(support_cli_actor(clinic.organization.id), license_enforcement_date=PAST)
    return clinic


async def add_user(org: Organization, license: License | None = None, staff: bool = False) -> User:
    """An invited user; practitioners are Standard and have no recorded evidence (the
    mapping rules would leave them below the threshold)."""
    profile = (
        Profile(UserType.STAFF, None, license, "Sam", unique("Staff"))
        if staff
        else Profile(UserType.PRACTITIONER, Classification.STANDARD, license, "Pat", unique("Doc"))
    )
    user, _ = await invite_user(support_cli_actor(org.id), f"{unique('u')}@managed.test", profile)
    return user


async def set_contract(clinic, contract: str) -> None:
    result = (await clinic.support.gql(ORG, {"i": {"contract": contract}}))["updateOrganization"]
    assert result == {"organization": {"contract": contract}, "errors": []}


async def test_a_custom_organization_has_no_unmapped_users_and_mapping_applies_nothing(custom):
    doctor = await add_user(custom.organization)
    clerk = await add_user(custom.organization, staff=True)
    assert (await custom.owner.gql(UNMAPPED))["unmappedUsers"] == []
    mapped = (await custom.owner.gql(MAPPING, {"i": {"dryRun": False}}))["runLicenseMapping"]
    assert mapped == {"applied": [], "unmapped": [], "errors": []}
    for user in (doctor, clerk):
        assert (await User.get(id=user.id)).license is None
    assert not await LicenseChange.filter(user_id__in=[doctor.id, clerk.id]).exists()


async def test_the_same_users_are_unmapped_in_a_standard_organization(standard):
    await set_contract(standard, "CUSTOM")
    doctor = await add_user(standard.organization)
    await set_contract(standard, "STANDARD")
    banner = (await standard.owner.gql(UNMAPPED))["unmappedUsers"]
    assert [entry["user"]["email"] for entry in banner] == [doctor.email]


async def test_users_enforced_before_a_switch_to_custom_leave_the_banner_until_it_switches_back(standard):
    org = standard.organization
    await set_contract(standard, "CUSTOM")
    doctor = await add_user(org)
    await set_contract(standard, "STANDARD")
    managed_since = (await User.get(id=doctor.id)).license_managed_since
    assert managed_since is not None
    assert await enforce_licenses(org.id) == 1
    assert [e["confidence"] for e in (await standard.owner.gql(UNMAPPED))["unmappedUsers"]] == [None]

    await set_contract(standard, "CUSTOM")
    assert (await standard.owner.gql(UNMAPPED))["unmappedUsers"] == []
    assert (await User.get(id=doctor.id)).license_managed_since is None

    await set_contract(standard, "STANDARD")
    assert (await User.get(id=doctor.id)).license_managed_since > managed_since
    assert len((await standard.owner.gql(UNMAPPED))["unmappedUsers"]) == 1


async def test_enforcement_leaves_a_custom_organization_alone_by_schedule_and_by_command(custom, database_url):
    doctor = await add_user(custom.organization)
    await enforce_licenses()  # what the server's schedule runs, over every organization
    assert (await User.get(id=doctor.id)).license is None
    done = cli(database_url, "licenses", "enforce", "--org", custom.domain)
    assert done.returncode == 0, done.stderr
    assert "assigned 0 license(s)" in done.stdout
    assert (await User.get(id=doctor.id)).license is None


async def test_a_custom_organization_statement_has_no_lines_and_says_it_is_not_managed(custom):
    await add_user(custom.organization, License.CHR_PLUS)
    await add_user(custom.organization)
    statement = (await custom.owner.gql(STATEMENT, {"m": "2027-01"}))["billingStatement"]
    assert statement == {
        "month": "2027-01",
        "billedTotal": 0,
        "underLicenseManagement": False,
        "lines": [],
        "forecast": {"month": "2027-02", "billedTotal": 0, "underLicenseManagement": False, "lines": []},
    }


async def test_a_standard_organization_statement_is_under_license_management(standard):
    await add_user(standard.organization, License.CHR_PLUS)
    statement = (await standard.owner.gql(STATEMENT, {"m": "2027-01"}))["billingStatement"]
    assert statement["underLicenseManagement"] is True and statement["forecast"]["underLicenseManagement"] is True
    assert {line["label"]: line["count"] for line in statement["lines"]}["CHR_PLUS"] == 1


async def test_the_cli_statement_of_a_custom_organization_has_no_lines_and_says_why(custom, database_url):
    await add_user(custom.organization, License.STAFF, staff=True)
    base = ("billing", "statement", "--org", custom.domain, "--month", "2027-01")

    text = cli(database_url, *base)
    assert text.returncode == 0, text.stderr
    assert "not under license management" in text.stdout and "STAFF" not in text.stdout

    as_json = cli(database_url, *base, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {"underLicenseManagement": False, "statement": [], "forecast": []}

    as_csv = cli(database_url, *base, "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines() == ["month,license,billed,count,users"]
    assert "not under license management" in as_csv.stderr


async def test_importing_into_a_custom_organization_maps_and_enforces_nothing(custom, database_url, tmp_path):
    tag = unique("imp")[-8:]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)  # the importer's own header
    writer.writerow([f"staff.{tag}@import.test", "Ida", "Staff", "STAFF", "", "", "", 0, 0, 0, 0])
    writer.writerow([f"doc.{tag}@import.test", "Ole", "Doc", "PRACTITIONER", "STANDARD", "", "", 0, 0, 0, 0])
    path = tmp_path / "legacy.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    done = cli(database_url, "users", "import", "--org", custom.domain, str(path), "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"imported": 2, "mappedAutomatically": 0, "unmapped": 0, "enforced": 0}
    imported = await User.filter(email__endswith=f".{tag}@import.test")
    assert len(imported) == 2
    assert all(u.license is None and u.license_managed_since is None for u in imported)
    assert (await custom.owner.gql(UNMAPPED))["unmappedUsers"] == []
