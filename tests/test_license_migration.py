"""Migration of legacy users: import, mapping, enforcement, the admin banner."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, Classification, License, LicenseChange, User, UserType
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.licensing.importer import parse_csv
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import make_clinic
from tests.helpers import gid, unique

UNMAPPED = "{ unmappedUsers { user { email license licenseReviewed } reason proposedLicense confidence evidence } }"
MAPPING = """mutation($i: RunLicenseMappingInput!) { runLicenseMapping(input: $i) {
  applied { user { email } proposedLicense confidence } unmapped { user { email } reason } threshold
  errors { code } } }"""
SET = (
    """mutation($i: SetUserLicenseInput!) { setUserLicense(input: $i) { user { licenseReviewed } errors { code } } }"""
)
HEADER = [
    "email",
    "first_name",
    "last_name",
    "type",
    "classification",
    "billing_number",
    "title",
    "labs_90d",
    "prescriptions_90d",
    "virtual_visits_90d",
    "provincial_claims_90d",
    "expected_end_of_training",
]

# (type, classification, billing number, labs, prescriptions, virtual visits, claims) -> (license, applied?)
KINDS = [
    (("STAFF", "", "", 0, 0, 0, 0), ("STAFF", True)),
    (("PRACTITIONER", "CLINICAL_TRAINEE", "", 3, 1, 0, 0), ("CLINICAL_TRAINEE", True)),
    (("PRACTITIONER", "LOCUM", "555", 0, 0, 0, 9), ("LOCUM", True)),
    (("PRACTITIONER", "STANDARD", "111", 0, 0, 0, 12), ("CHR_PLUS", True)),
    (("PRACTITIONER", "STANDARD", "", 4, 0, 0, 0), ("CHR_PLUS", True)),
    (("PRACTITIONER", "STANDARD", "", 0, 2, 0, 0), ("CHR_PLUS", True)),
    (("PRACTITIONER", "STANDARD", "", 0, 0, 7, 0), ("CHR_LITE_VV", True)),
    (("PRACTITIONER", "STANDARD", "222", 0, 0, 0, 0), ("CHR_PLUS", False)),
    (("PRACTITIONER", "STANDARD", "", 0, 0, 0, 0), ("CHR_LITE", False)),
    (("PRACTITIONER", "", "", 0, 0, 0, 5), ("CHR_PLUS", False)),
]


def legacy_csv(count: int, tag: str) -> tuple[str, dict[str, tuple[str, bool]]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    expected = {}
    for i in range(count):
        (kind, cls, billing, labs, rx, vv, claims), outcome = KINDS[i % len(KINDS)]
        email = f"legacy{i:03}.{tag}@import.test"
        end = "2027-06-30" if cls == "CLINICAL_TRAINEE" else ""
        writer.writerow([email, "Léa", f"Legacy{i:03}", kind, cls, billing, "", labs, rx, vv, claims, end])
        expected[email] = outcome
    return buffer.getvalue(), expected


def cli(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "chrgraph.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=180,
    )


@pytest.fixture
async def clinic(client):
    clinic = await make_clinic(client)
    # The default enforcement date (2026-02-01) is past: set it explicitly, in the future.
    await update_organization(support_cli_actor(clinic.organization.id), license_enforcement_date=date(2099, 1, 1))
    return clinic


async def test_importing_200_legacy_users_maps_each_by_the_documented_rules(clinic, database_url, tmp_path):
    tag = unique("m")[-8:]
    text, expected = legacy_csv(200, tag)
    path = tmp_path / "legacy.csv"
    path.write_text(text, encoding="utf-8")
    done = cli(database_url, "users", "import", "--org", clinic.domain, str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert '"imported": 200' in done.stdout and '"unmapped": 60' in done.stdout
    users = {u.email: u for u in await User.filter(email__endswith=f".{tag}@import.test")}
    assert len(users) == 200
    for email, (license, applied) in expected.items():
        user = users[email]
        assert user.status.value == "INVITED"
        assert (user.license.value if user.license else None) == (license if applied else None), email
    automatic = await LicenseChange.filter(user_id__in=[u.id for u in users.values()], kind="AUTOMATIC").count()
    assert automatic == 140
    banner = {row["user"]["email"]: row for row in (await clinic.owner.gql(UNMAPPED))["unmappedUsers"]}
    for email, (license, applied) in expected.items():
        if not applied:
            assert banner[email]["proposedLicense"] == license and banner[email]["confidence"] < 0.9
            assert banner[email]["reason"].startswith("R")
            assert any(e.startswith("provincialClaims90d=") for e in banner[email]["evidence"])
        else:
            assert email not in banner


async def test_a_bad_file_is_reported_by_line_and_nothing_is_imported(clinic, database_url, tmp_path):
    tag = unique("b")[-8:]
    text, _ = legacy_csv(5, tag)
    lines = text.splitlines()
    lines[2] = lines[2].replace("PRACTITIONER", "ROBOT")
    lines[4] = lines[4].replace("@import.test", "")
    lines.append(lines[1])  # the first row again: a duplicate email
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli(database_url, "users", "import", "--org", clinic.domain, str(path))
    assert done.returncode == 1
    assert "line 3: type" in done.stderr and "line 5: email" in done.stderr and "line 7: email" in done.stderr
    assert await User.filter(email__endswith=f".{tag}@import.test").count() == 0


async def test_dry_run_mapping_proposes_without_applying(client):
    clinic = await make_clinic(client)
    text, _ = legacy_csv(10, unique("d")[-8:])
    rows = parse_csv(text, clinic.organization)
    assert len(rows) == 10
    result = (await clinic.owner.gql(MAPPING, {"i": {"dryRun": True}}))["runLicenseMapping"]
    assert result["threshold"] == 0.9 and result["errors"] == []


async def test_enforcement_gives_the_highest_fitting_tier_and_waits_for_review(clinic, database_url, tmp_path):
    tag = unique("e")[-8:]
    text, expected = legacy_csv(10, tag)
    path = tmp_path / "legacy.csv"
    path.write_text(text, encoding="utf-8")
    assert cli(database_url, "users", "import", "--org", clinic.domain, str(path)).returncode == 0
    unlicensed = await User.filter(email__endswith=f".{tag}@import.test", license__isnull=True).count()
    assert unlicensed == 3
    await update_organization(support_cli_actor(clinic.organization.id), license_enforcement_date=date(2026, 2, 1))
    done = cli(database_url, "licenses", "enforce", "--org", clinic.domain)
    assert done.returncode == 0 and "assigned 3 license(s)" in done.stdout
    again = cli(database_url, "licenses", "enforce", "--org", clinic.domain)
    assert "assigned 0 license(s)" in again.stdout  # idempotent
    users = {u.email: u for u in await User.filter(email__endswith=f".{tag}@import.test")}
    for email, (_license, applied) in expected.items():
        if not applied:
            highest = License.CHR_PLUS  # standard or unclassified practitioners: the highest tier
            assert users[email].license is highest and users[email].license_reviewed is False
    enforced = await LicenseChange.filter(user_id__in=[u.id for u in users.values()], kind="ENFORCEMENT")
    now = datetime.now(UTC)
    first_next = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    assert {c.effective_on for c in enforced} <= {first_next, date(now.year, now.month, 1)}
    banner = {r["user"]["email"]: r for r in (await clinic.owner.gql(UNMAPPED))["unmappedUsers"]}
    waiting = [e for e, (lic, applied) in expected.items() if not applied]
    assert all(banner[e]["reason"].startswith("Assigned automatically") for e in waiting)
    user_id = gid(users[waiting[0]])
    assert (await clinic.owner.gql(SET, {"i": {"userId": user_id, "license": "CHR_LITE"}}))["setUserLicense"]["user"][
        "licenseReviewed"
    ] is True
    assert await AuditEvent.filter(action="LICENSE_ENFORCED", actor_kind="SYSTEM").count() >= 3


async def test_a_trainee_is_enforced_to_clinical_trainee_never_chr_plus(clinic):
    org = clinic.organization
    await update_organization(support_cli_actor(org.id), contract="CUSTOM")
    user, _ = await invite_user(
        support_cli_actor(org.id),
        f"{unique('t')}@x.test",
        Profile(
            UserType.PRACTITIONER,
            Classification.CLINICAL_TRAINEE,
            None,
            "T",
            "Rainee",
            expected_end_of_training=date(2027, 1, 1),
        ),
    )
    await update_organization(support_cli_actor(org.id), contract="STANDARD", license_enforcement_date=date(2026, 2, 1))
    assert await enforce_licenses(org.id) == 1
    assert (await User.get(id=user.id)).license is License.CLINICAL_TRAINEE
