"""The reference pages say everything the code can answer: every `ErrorCode`, 401 `reason`
and `extensions.code` is explained in docs/errors.md, and the configuration table of
docs/operations.md lists exactly the settings of chrgraph/settings.py, with their
defaults."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from chrgraph.auth.errors import AuthReason
from chrgraph.db.models import Permission
from chrgraph.resolvers.errors import ErrorCode
from chrgraph.settings import Settings

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parent.parent
ERRORS = ROOT / "docs" / "errors.md"
OPERATIONS = ROOT / "docs" / "operations.md"

# Where the HTTP side and the schema put codes in `extensions.code`.
EXTENSION_SOURCES = [
    *sorted((ROOT / "chrgraph" / "http").rglob("*.py")),
    ROOT / "chrgraph" / "schema" / "errors.py",
    ROOT / "chrgraph" / "schema" / "permissions.py",
]
QUOTED_CODE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|FORBIDDEN|UNAUTHENTICATED)"')


def documented_codes() -> set[str]:
    """Every code written in backticks in a table row of docs/errors.md."""
    rows = [line for line in ERRORS.read_text().splitlines() if line.startswith("|")]
    return {code for row in rows for code in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def extension_codes() -> set[str]:
    found = {code for path in EXTENSION_SOURCES for code in QUOTED_CODE.findall(path.read_text())}
    return found - {p.value for p in Permission}


def test_the_extension_code_scan_finds_the_codes_of_the_http_side():
    assert {"UNAUTHENTICATED", "RATE_LIMITED", "QUERY_TOO_COMPLEX", "FORBIDDEN", "BAD_USER_INPUT"} <= extension_codes()


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("ErrorCode", lambda: {c.value for c in ErrorCode}),
        ("401 reason", lambda: {r.value for r in AuthReason}),
        ("extensions.code", extension_codes),
    ],
)
def test_every_code_the_server_answers_is_explained_in_the_error_reference(kind, codes):
    missing = sorted(codes() - documented_codes())

    assert missing == [], f"explain these {kind} values in a table of docs/errors.md: {missing}"


def configuration_table() -> dict[str, str]:
    """variable -> default, from the table under "## Configuration" in docs/operations.md."""
    text = OPERATIONS.read_text()
    section = text[text.index("## Configuration") :]
    table = {}
    for line in section.splitlines():
        match = re.match(r"\| `(CHRGRAPH_[A-Z0-9_]+)` \| (.*?) \|", line)
        if match:
            table[match[1]] = match[2]
    return table


def test_the_configuration_table_lists_every_setting_and_nothing_else():
    settings = {"CHRGRAPH_" + f.name.upper() for f in dataclasses.fields(Settings)}
    table = set(configuration_table())

    assert sorted(settings - table) == [], "settings missing from docs/operations.md"
    assert sorted(table - settings) == [], "docs/operations.md lists settings that do not exist"


def _plain(default: object) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def test_the_configuration_table_gives_each_default_as_the_code_has_it():
    table = configuration_table()
    wrong = []
    for f in dataclasses.fields(Settings):
        written = table.get("CHRGRAPH_" + f.name.upper(), "")
        if f.default == "":
            if written != "(none)" and "beside the SQLite file" not in written:
                wrong.append(f"{f.name}: {written} (no default in the code)")
        elif written != f"`{_plain(f.default)}`":
            wrong.append(f"{f.name}: {written}, the code says {_plain(f.default)}")

    assert wrong == []
