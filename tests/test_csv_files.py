"""CSV files a clinic opens in its spreadsheet: what the product writes never runs there
as a formula, and the import reads what Excel writes (UTF-8 with a BOM, CRLF line
ends, the semicolon of a French-Canadian Excel). Through the real `chrgraph` command."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import License, LicenseChange, User, UserStatusChange, UserType
from chrgraph.resolvers.csv_files import write_csv
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import make_clinic
from tests.helpers import unique
from tests.test_billing import JAN
from tests.test_license_migration import HEADER, cli, legacy_csv

MONTH = "2026-03"  # users invited in January 2026 are billed by then
# Each a valid address (RFC 5322 dot-atom: no parentheses), each a spreadsheet formula.
HOSTILE_LOCAL_PARTS = ["=1+2", "+cmd", "-2+3", "=cmd|x"]


@pytest.fixture
async def clinic(client):
    clinic = await make_clinic(client)
    await update_organization(support_cli_actor(clinic.organization.id), license_enforcement_date=date(2099, 1, 1))
    return clinic


async def billed_user(org, email: str) -> User:
    """A Staff user invited in January with the STAFF license, so billed in MONTH."""
    user, _ = await invite_user(
        support_cli_actor(org.id), email, Profile(UserType.STAFF, None, License.STAFF, "Bill", unique("Able"))
    )
    await User.filter(id=user.id).update(created_at=JAN, license_managed_since=JAN)
    await UserStatusChange.filter(user_id=user.id).update(at=JAN)
    await LicenseChange.filter(user_id=user.id).update(
        changed_at=JAN, effective_on=date(2026, 2, 1), access_from=date(2026, 1, 10)
    )
    return user


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- what the product writes ---------------------------------------------------------------


@pytest.mark.parametrize("local_part", HOSTILE_LOCAL_PARTS)
async def test_a_billing_statement_csv_never_starts_a_cell_with_a_formula(clinic, database_url, local_part):
    email = f"{local_part}@{clinic.domain}.test"
    await billed_user(clinic.organization, email)
    done = cli(database_url, "billing", "statement", "--org", clinic.domain, "--month", MONTH, "--csv")
    assert done.returncode == 0, done.stderr
    rows = cells(done.stdout)
    staff = next(row for row in rows if row[:2] == [MONTH, "STAFF"])
    # Shown as text: the address intact after the quote (stored lowercased).
    assert staff[4].split(" ")[0] == "'" + email.lower()
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


async def test_a_billing_statement_csv_keeps_plain_cells_and_numbers_as_they_are(clinic, database_url):
    email = f"plain.{unique('p')}@{clinic.domain}.test"
    await billed_user(clinic.organization, email)
    done = cli(database_url, "billing", "statement", "--org", clinic.domain, "--month", MONTH, "--csv")
    assert done.returncode == 0, done.stderr
    rows = cells(done.stdout)
    assert rows[0] == ["month", "license", "billed", "count", "users"]
    staff = next(row for row in rows if row[:2] == [MONTH, "STAFF"])
    assert staff[2:4] == ["True", "1"] and email in staff[4].split(" ")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        (-1, "-1"),
        (2.5, "2.5"),
        (True, "True"),
    ],
)
def test_the_shared_writer_quotes_only_text_a_spreadsheet_would_run(value, written):
    buffer = io.StringIO(newline="")
    write_csv(buffer, ["h"], [[value]])
    assert cells(buffer.getvalue()) == [["h"], [written]]


def test_the_shared_writer_neutralises_the_header_too():
    buffer = io.StringIO(newline="")
    write_csv(buffer, ["=cmd"], [])
    assert cells(buffer.getvalue()) == [["'=cmd"]]


# --- what the product reads ----------------------------------------------------------------


def excel_csv(text: str, separator: str = ",") -> str:
    """The same rows as Excel saves them: CRLF line ends, the given separator."""
    rows = cells(text)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [("utf-8-sig", ","), ("utf-8", ","), ("utf-8-sig", ";")],
    ids=["csv-utf8-with-bom", "utf8-without-bom", "french-canadian-semicolons"],
)
async def test_the_import_reads_what_excel_writes(clinic, database_url, tmp_path, encoding, separator):
    tag = unique("x")[-8:]
    text, expected = legacy_csv(4, tag)
    path = tmp_path / "excel.csv"
    path.write_bytes(excel_csv(text, separator).encode(encoding))
    assert path.read_bytes().count(b"\r\n") == 5
    done = cli(database_url, "users", "import", "--org", clinic.domain, str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert '"imported": 4' in done.stdout
    users = await User.filter(email__endswith=f".{tag}@import.test")
    assert {u.email for u in users} == set(expected)
    assert {u.first_name for u in users} == {"Léa"}
    assert all(not u.last_name.endswith("\r") for u in users)


async def test_the_import_keeps_a_line_break_inside_a_quoted_cell_and_numbers_rows_as_the_sheet_does(
    clinic, database_url, tmp_path
):
    """A bad row after a row whose quoted title spans two lines is reported by its row
    number in the spreadsheet (not the file's line), and nothing is imported."""
    tag = unique("q")[-8:]
    text, _ = legacy_csv(2, tag)
    rows = cells(text)
    rows[1][HEADER.index("title")] = "Head of\r\nFront desk"
    rows[2][HEADER.index("type")] = "ROBOT"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "multiline.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    done = cli(database_url, "users", "import", "--org", clinic.domain, str(path))
    assert done.returncode == 1
    assert "line 3: type" in done.stderr
    assert await User.filter(email__endswith=f".{tag}@import.test").count() == 0


async def test_a_file_that_is_not_utf8_is_refused_in_one_line_and_nothing_is_imported(clinic, database_url, tmp_path):
    """Excel's plain "CSV" is the Windows code page: say how to save it instead of garbling names."""
    tag = unique("w")[-8:]
    text, _ = legacy_csv(3, tag)
    path = tmp_path / "windows.csv"
    path.write_bytes(excel_csv(text).encode("cp1252"))
    done = cli(database_url, "users", "import", "--org", clinic.domain, str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not UTF-8" in lines[0] and "CSV UTF-8" in lines[0], done.stderr
    assert await User.filter(email__endswith=f".{tag}@import.test").count() == 0
