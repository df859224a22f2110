"""The `chrgraph` command under real mistakes: no database, a database server that is
down, a malformed setting, a wrong or unreadable file, a bad option value. Each is one
line on stderr (a JSON object with `--json`), a non-zero exit, no traceback, and no
database or key file made where there was none.

Each test runs the real command in a child process."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import sys
import uuid
from collections.abc import Awaitable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chrgraph.audit.checkpoint import load_signing_key
from chrgraph.cli.main import app as cli_app
from chrgraph.db.models import ApiConsumer, ApiConsumerKey, Organization, User
from chrgraph.resolvers.licensing.importer import COLUMNS
from chrgraph.settings import SettingError, Settings
from tests.databases import ADMIN_URL, backend
from tests.helpers import make_organization, make_vendor, public_pem, rsa_key, unique
from tests.processes import ROOT, Completed, chrgraph, environment, free_port, run_process

pytestmark = pytest.mark.cli

T = TypeVar("T")
DATABASE_VARIABLE = "CHRGRAPH_DATABASE_URL"
KEY_VARIABLE = "CHRGRAPH_AUDIT_SIGNING_KEY"
ANCHOR_VARIABLE = "CHRGRAPH_AUDIT_ANCHOR_FILE"


async def few_at_a_time(*calls: Awaitable[T], at_once: int = 3) -> list[T]:
    """`asyncio.gather` that starts at most `at_once` commands together: each is a
    Python process that loads the whole package, and a small machine runs out of CPU."""
    gate = asyncio.Semaphore(at_once)

    async def gated(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return await asyncio.gather(*(gated(call) for call in calls))


def one_line_error(done: Completed, exit_code: int) -> str:
    """The whole of what a failed command says: one line on stderr, nothing on stdout."""
    assert done.returncode == exit_code, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == "", done.stdout
    return lines[0]


def json_error(done: Completed, exit_code: int) -> list[dict]:
    line = one_line_error(done, exit_code)
    answer = json.loads(line)
    assert set(answer) == {"errors"}
    for error in answer["errors"]:
        assert set(error) == {"code", "message", "field"}
    return answer["errors"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Input files of every kind a command reads, right and wrong."""
    folder = tmp_path_factory.mktemp("inputs")
    ec_private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    contents: dict[str, bytes] = {
        "rsa_private.pem": rsa_key(0).as_pem(private=True),
        "rsa_public.pem": public_pem(rsa_key(0)).encode(),
        "ec_private.pem": ec_private,
        "binary.bin": bytes(range(256)),
        "latin1.csv": ",".join(COLUMNS).encode() + "\nrené@example.com,René\n".encode("latin-1"),
        "users.csv": ",".join(COLUMNS).encode() + b"\n",
    }
    paths = {}
    for name, data in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    paths["missing"] = folder / "no-such-file.pem"
    paths["folder"] = folder
    return paths


def _no_database_env(tmp_path: Path) -> dict[str, str]:
    """No database where the command will look: in the SQLite run, the default URL in an
    empty folder; in the PostgreSQL run, a database name the test server does not have."""
    env = environment(**{KEY_VARIABLE: str(tmp_path / "audit.key")})
    if backend() == "postgres":
        env[DATABASE_VARIABLE] = f"{ADMIN_URL.rsplit('/', 1)[0]}/chrgraph_absent_{uuid.uuid4().hex[:8]}"
    else:
        env.pop(DATABASE_VARIABLE)
    return env


def _shown_url(env: dict[str, str]) -> str:
    return env.get(DATABASE_VARIABLE, "sqlite://chrgraph.db")


def _command_paths(command, prefix: tuple[str, ...] = ()) -> set[str]:
    children = getattr(command, "commands", None)
    if not children:
        return {" ".join(prefix)}
    return set().union(*(_command_paths(child, (*prefix, name)) for name, child in children.items()))


# Every command that works on the database and must not create one, with arguments it
# accepts (`@name`: one of the input files); the key file exists so that only the
# database is missing.
NO_DATABASE_COMMANDS: dict[str, list[str]] = {
    "org create": ["--domain", "absent", "--name", "Absent", "--owner-email", "owner@example.com"],
    "org list": ["--json"],
    "org set": ["--domain", "absent", "--name", "Renamed"],
    "org support-password": ["--org", "absent"],
    "org transfer-ownership": ["--org", "absent", "--to", "new@absent.test", "--reason", "Owner left"],
    "consumers create": ["--org", "absent", "--name", "v", "--public-key", "@rsa_public.pem"],
    "consumers list": ["--org", "absent"],
    "consumers deactivate": ["--org", "absent", "--issuer", "v"],
    "consumers reactivate": ["--org", "absent", "--issuer", "v"],
    "consumers add-key": ["--org", "absent", "--issuer", "v", "--public-key", "@rsa_public.pem", "--kid", "k2"],
    "consumers revoke-key": ["--org", "absent", "--issuer", "v", "--kid", "k1"],
    "consumers set-cost-budget": ["--org", "absent", "--issuer", "v", "--cost-per-minute", "500"],
    "consumers set-permissions": ["--org", "absent", "--issuer", "v", "--permission", "MANAGE_SCHEDULE"],
    "logs show": ["--org", "absent"],
    "logs purge": [],
    "audit checkpoint": [],
    "audit verify": ["--org", "absent"],
    "users import": ["--org", "absent", "@users.csv"],
    "users transfer-lab-integration": ["--org", "absent", "--to", "dr@absent.test"],
    "users reset-second-factor": ["--org", "absent", "--email", "owner@absent.test", "--reason", "lost phone"],
    "users email-clashes": [],
    "licenses enforce": [],
    "billing statement": ["--org", "absent", "--month", "2026-03"],
    "webhooks list": ["--org", "absent"],
    "webhooks redeliver": ["--org", "absent", "--delivery", "a" * 26],
}
# Commands that set a database up, and those that need none.
CREATING_COMMANDS = {"migrate", "serve", "demo"}
WITHOUT_DATABASE = {"token", "audit init", "logs rotate-key"}


def test_the_list_of_commands_checked_without_a_database_covers_the_whole_command_tree():
    every = _command_paths(typer.main.get_command(cli_app))

    assert every == set(NO_DATABASE_COMMANDS) | CREATING_COMMANDS | WITHOUT_DATABASE


async def test_no_command_but_migrate_serve_and_demo_creates_a_missing_database(tmp_path, files):
    env = _no_database_env(tmp_path)
    load_signing_key(tmp_path / "audit.key", create=True)

    async def attempt(path: str, args: list[str]) -> tuple[str, Completed]:
        argv = [str(files[a[1:]]) if a.startswith("@") else a for a in args]
        return path, await chrgraph(*path.split(), *argv, env=env, cwd=tmp_path)

    results = await few_at_a_time(*(attempt(path, args) for path, args in NO_DATABASE_COMMANDS.items()))

    for path, done in results:
        error = json_error(done, 2)[0] if "--json" in NO_DATABASE_COMMANDS[path] else None
        line = error["message"] if error else one_line_error(done, 2)
        assert _shown_url(env) in line, (path, line)
        assert DATABASE_VARIABLE in line, (path, line)
        if error:
            assert error["code"] == "DATABASE_MISSING"
        else:
            assert line.startswith("error: DATABASE_MISSING: "), (path, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.key"], "no database file was made"


@pytest.mark.skipif(backend() != "postgres", reason="a PostgreSQL database name (PostgreSQL run)")
async def test_migrate_serve_and_demo_do_not_create_a_postgresql_database_either(tmp_path):
    env = _no_database_env(tmp_path)

    results = await few_at_a_time(*(chrgraph(command, env=env, cwd=tmp_path) for command in CREATING_COMMANDS))

    for done in results:
        line = one_line_error(done, 2)
        assert line.startswith("error: DATABASE_MISSING: ") and env[DATABASE_VARIABLE] in line, line
        assert "CREATE DATABASE" in line


@pytest.mark.skipif(backend() != "sqlite", reason="a SQLite file (SQLite run)")
async def test_migrate_creates_the_sqlite_database_and_its_signing_key_beside_it(tmp_path):
    env = environment()
    env.pop(DATABASE_VARIABLE)
    env.pop(KEY_VARIABLE)
    env.pop(ANCHOR_VARIABLE)

    done = await chrgraph("migrate", env=env, cwd=tmp_path, time_limit=120)
    listed = await chrgraph("org", "list", "--json", env=env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "chrgraph.db").exists()
    key = tmp_path / "chrgraph-audit-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert str(key) in done.stdout
    assert (tmp_path / "chrgraph-audit-anchors.jsonl").exists()
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


async def test_a_database_server_that_refuses_connections_is_one_line(tmp_path):
    env = environment(**{DATABASE_VARIABLE: "postgres://postgres:s3cret@127.0.0.1:1/chrgraph"})

    results = await few_at_a_time(
        chrgraph("org", "list", env=env, cwd=tmp_path),
        chrgraph("migrate", env=env, cwd=tmp_path),
        chrgraph("serve", env=env, cwd=tmp_path),
        chrgraph("consumers", "list", "--org", "x", "--json", env=env, cwd=tmp_path),
    )

    for done in results[:3]:
        line = one_line_error(done, 3)
        assert line.startswith("error: DATABASE_UNREACHABLE: ")
        assert "postgres://postgres:***@127.0.0.1:1/chrgraph" in line, "the URL, never its password"
    [error] = json_error(results[3], 3)
    assert error["code"] == "DATABASE_UNREACHABLE"
    assert "s3cret" not in results[3].stderr


@pytest.mark.skipif(backend() != "sqlite", reason="a SQLite file (SQLite run)")
async def test_a_file_that_is_not_a_database_or_holds_no_chrgraph_tables_is_one_line(tmp_path):
    (tmp_path / "text.db").write_text("not a database\n")
    (tmp_path / "empty.db").write_bytes(b"")

    text, empty = await few_at_a_time(
        chrgraph("org", "list", env=environment(**{DATABASE_VARIABLE: "sqlite://text.db"}), cwd=tmp_path),
        chrgraph("org", "list", env=environment(**{DATABASE_VARIABLE: "sqlite://empty.db"}), cwd=tmp_path),
    )

    assert "file is not a database" in one_line_error(text, 3)
    assert one_line_error(empty, 2).startswith("error: DATABASE_MISSING: ")
    assert (tmp_path / "empty.db").stat().st_size == 0, "an empty file is left as it was"


# --- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("CHRGRAPH_MAX_DEPTH", "twelve", "'twelve'"),
        ("CHRGRAPH_GRAPHIQL", "maybe", "'maybe'"),
        ("CHRGRAPH_SESSION_TTL_HOURS", "nan", "'nan'"),
        ("CHRGRAPH_API_LOG_RETENTION_DAYS", "-1", "'-1'"),
        ("CHRGRAPH_DATABASE_URL", "mysql://root@127.0.0.1/chrgraph", "sqlite://"),
        ("CHRGRAPH_DATABASE_URL", "postgres://u:s3cret@127.0.0.1:port/db", "not a valid URL"),
        ("CHRGRAPH_SMTP_URL", "mailto:ops@example.com", "smtp://"),
    ],
)
async def test_a_malformed_setting_stops_every_kind_of_command_with_one_line_naming_it(variable, value, shown):
    env = environment(**{variable: value})

    results = await few_at_a_time(
        chrgraph("org", "list", env=env),
        chrgraph("serve", "--port", str(free_port()), env=env),
        chrgraph("audit", "init", env=env),
        chrgraph("org", "list", "--json", env=env),
    )

    for done in results[:3]:
        line = one_line_error(done, 2)
        assert line.startswith(f"error: INVALID_SETTING: {variable} "), line
        assert shown in line
        assert "s3cret" not in line
    [error] = json_error(results[3], 2)
    assert error["code"] == "INVALID_SETTING" and variable in error["message"]


def test_settings_accept_the_documented_spellings_and_refuse_the_rest():
    read = Settings.from_env(
        {"CHRGRAPH_GRAPHIQL": "OFF", "CHRGRAPH_MAX_DEPTH": " 7 ", "CHRGRAPH_SESSION_TTL_HOURS": "1.5"}
    )

    assert (read.graphiql, read.max_depth, read.session_ttl_hours) == (False, 7, 1.5)
    for variable, value in [("CHRGRAPH_MAX_DEPTH", "7.5"), ("CHRGRAPH_GRAPHIQL", "2"), ("CHRGRAPH_MAX_BATCH", "")]:
        with pytest.raises(SettingError, match=variable):
            Settings.from_env({variable: value})


# --- files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_file", "code", "said"),
    [
        ("missing", "FILE_UNREADABLE", "no such file"),
        ("folder", "FILE_UNREADABLE", "is a folder"),
        ("rsa_public.pem", "INVALID_KEY", "is not an RSA private key"),
        ("ec_private.pem", "INVALID_KEY", "is not an RSA private key"),
        ("binary.bin", "INVALID_KEY", "is not an RSA private key"),
    ],
)
async def test_token_refuses_an_unreadable_or_wrong_key_file_with_one_line(files, key_file, code, said):
    done = await chrgraph("token", "--issuer", "acme", "--private-key", str(files[key_file]))

    line = one_line_error(done, 2)
    assert line.startswith(f"error: {code} (privateKey): "), line
    assert said in line and str(files[key_file]) in line
    assert "BEGIN" not in line, "never echo key material"


async def test_token_refuses_a_lifetime_outside_one_to_900_seconds(files):
    key = str(files["rsa_private.pem"])

    results = await few_at_a_time(
        *(chrgraph("token", "--issuer", "acme", "--private-key", key, "--ttl", ttl) for ttl in ("0", "901", "soon"))
    )

    for done in results:
        assert one_line_error(done, 2).startswith("error: INVALID_USAGE (ttl): ")


async def test_consumer_key_files_that_cannot_be_read_change_nothing(client, files):
    vendor = await make_vendor(client)
    org = vendor.organization
    common = ("--org", org.domain)

    results = await few_at_a_time(
        *(
            chrgraph("consumers", "create", *common, "--name", unique("v"), "--public-key", str(files[name]))
            for name in ("missing", "folder", "binary.bin")
        ),
        chrgraph(
            "consumers",
            "add-key",
            *common,
            "--issuer",
            vendor.consumer.issuer,
            "--public-key",
            str(files["missing"]),
            "--kid",
            "k9",
        ),
    )

    for done in results:
        assert one_line_error(done, 2).startswith("error: FILE_UNREADABLE (publicKey): ")
    assert "not UTF-8" in results[2].stderr
    assert await ApiConsumer.filter(organization_id=org.id).count() == 1
    assert await ApiConsumerKey.filter(consumer_id=vendor.consumer.id).count() == 1


async def test_users_import_refuses_a_missing_or_non_utf8_csv_with_one_line(client, files):
    org = await make_organization()
    users_before = await User.filter(organization_id=org.id).count()

    missing, latin1, folder = await few_at_a_time(
        chrgraph("users", "import", "--org", org.domain, str(files["missing"])),
        chrgraph("users", "import", "--org", org.domain, str(files["latin1.csv"])),
        chrgraph("users", "import", "--org", org.domain, str(files["folder"]), "--json"),
    )

    assert "no such file" in one_line_error(missing, 2)
    # Readable but not UTF-8: the importer refuses its content (exit 1), saying how to save it.
    assert "not UTF-8" in one_line_error(latin1, 1)
    [error] = json_error(folder, 2)
    assert (error["code"], error["field"]) == ("FILE_UNREADABLE", ["file"])
    assert await User.filter(organization_id=org.id).count() == users_before


# --- option values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (
            ["org", "create", "--domain", "d", "--name", "n", "--owner-email", "o@example.com", "--contract", "X"],
            "contract",
        ),
        (["org", "create", "--domain", "d"], "name"),
        (["org", "set", "--domain", "d", "--license-enforcement-date", "2026-13-01"], "licenseEnforcementDate"),
        (["logs", "show", "--org", "d", "--since", "yesterday"], "since"),
        (["logs", "show", "--org", "d", "--limit", "0"], "limit"),
        (["serve", "--port", "70000"], "port"),
        (["serve", "--workers", "0"], "workers"),
        (["no-such-command"], None),
        (["org", "list", "--no-such-option"], None),
    ],
)
async def test_a_bad_option_value_is_one_line_naming_the_option(args, field):
    done = await chrgraph(*args)

    line = one_line_error(done, 2)
    expected = f"error: INVALID_USAGE ({field}): " if field else "error: INVALID_USAGE: "
    assert line.startswith(expected), line


async def test_json_errors_are_one_object_on_stderr_with_code_message_and_field(client):
    taken = await make_organization()

    duplicate, bad_option = await few_at_a_time(
        chrgraph(
            "org", "create", "--domain", taken.domain, "--name", "Again", "--owner-email", "o@example.com", "--json"
        ),
        chrgraph(
            "org",
            "create",
            "--domain",
            "d",
            "--name",
            "n",
            "--owner-email",
            "o@example.com",
            "--contract",
            "X",
            "--json",
        ),
    )

    [error] = json_error(duplicate, 1)
    assert error["code"] == "DOMAIN_TAKEN"
    assert error["field"] == ["domain"]
    [error] = json_error(bad_option, 2)
    assert (error["code"], error["field"]) == ("INVALID_USAGE", ["contract"])


async def test_several_typed_errors_share_one_line(client):
    done = await chrgraph(
        "org",
        "create",
        "--domain",
        unique("d"),
        "--name",
        "n",
        "--owner-email",
        "o@example.com",
        "--province",
        "ZZ",
        "--time-zone",
        "Mars/Olympus_Mons",
    )

    line = one_line_error(done, 1)
    assert "INVALID_INPUT (province)" in line and "INVALID_TIME_ZONE (timeZone)" in line


# --- audit signing key -----------------------------------------------------------------


async def test_only_audit_init_and_migrate_make_a_missing_signing_key(client, tmp_path):
    org = await make_organization()
    key = tmp_path / "signing.key"
    env = environment(**{KEY_VARIABLE: str(key)})

    checkpoint, verify = await few_at_a_time(
        chrgraph("audit", "checkpoint", env=env), chrgraph("audit", "verify", "--org", org.domain, env=env)
    )
    for done in (checkpoint, verify):
        line = one_line_error(done, 2)
        assert line.startswith("error: KEY_UNAVAILABLE: ") and str(key) in line and KEY_VARIABLE in line
    assert not key.exists()

    made = await chrgraph("audit", "init", env=env)
    again = await chrgraph("audit", "init", env=env)
    signed = await chrgraph("audit", "checkpoint", "--org", org.domain, env=env)

    assert made.returncode == 0 and "created" in made.stdout, made
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert again.returncode == 0 and "already" in again.stdout, again
    assert signed.returncode == 0, signed.stderr


async def test_audit_verify_answers_two_for_an_unknown_organization_or_an_unreadable_key(client, files):
    org = await make_organization()

    unknown, wrong_key = await few_at_a_time(
        chrgraph("audit", "verify", "--org", unique("nowhere")),
        chrgraph("audit", "verify", "--org", org.domain, "--public-key", str(files["rsa_public.pem"])),
    )

    assert one_line_error(unknown, 2).startswith("error: NOT_FOUND (org): ")
    assert one_line_error(wrong_key, 2).startswith("error: KEY_UNAVAILABLE: ")


@pytest.mark.skipif(backend() != "postgres", reason="the PostgreSQL rule (PostgreSQL run)")
@pytest.mark.parametrize("variable", [KEY_VARIABLE, ANCHOR_VARIABLE])
async def test_with_postgresql_the_signing_key_and_anchor_settings_are_required(variable):
    env = environment()
    env.pop(variable)

    results = await few_at_a_time(
        chrgraph("audit", "checkpoint", env=env), chrgraph("migrate", env=env), chrgraph("serve", env=env)
    )

    for done in results:
        line = one_line_error(done, 2)
        assert line.startswith(f"error: INVALID_SETTING: {variable} ")


async def test_serve_on_a_taken_port_is_one_line_before_any_work():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = await chrgraph("serve", "--port", str(port))

    line = one_line_error(done, 2)
    assert line.startswith(f"error: PORT_UNAVAILABLE (port): cannot listen on 127.0.0.1:{port}: "), line


# --- version, org list, internal errors, make serve ---------------------------------------


async def test_version_prints_the_installed_package_version():
    done = await chrgraph("--version")

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"chrgraph {version('chrgraph')}\n"


async def test_org_list_lists_every_organization_in_text_and_json(client):
    first, second = await make_organization(), await make_organization()

    text, as_json = await few_at_a_time(chrgraph("org", "list"), chrgraph("org", "list", "--json"))

    assert text.returncode == 0, text.stderr
    domains = [line.split("\t")[0] for line in text.stdout.splitlines()]
    assert {first.domain, second.domain} <= set(domains)
    assert domains == sorted(domains)
    rows = {row["domain"]: row for row in json.loads(as_json.stdout)}
    org = await Organization.get(id=second.id)
    assert rows[org.domain] | {"createdAt": None} == {
        "id": org.id,
        "domain": org.domain,
        "name": org.name,
        "contract": org.contract.value,
        "province": org.province,
        "timeZone": org.time_zone,
        "enterpriseApiEnabled": org.enterprise_api_enabled,
        "createdAt": None,
    }


FAILING_COMMAND = """
import typer
from chrgraph.cli import boundary

app = typer.Typer()

@app.command()
def broken(as_json: bool = typer.Option(False, "--json")) -> None:
    {}["a key nobody wrote"]

@app.command()
def other() -> None:
    pass

raise SystemExit(boundary.run(app, __import__("sys").argv[1:]))
"""


def _take_details(message: str) -> tuple[str, int]:
    """The text and mode of the file a message names last; the file is removed."""
    path = Path(message.rsplit(" ", 1)[1])
    try:
        return path.read_text(), stat.S_IMODE(path.stat().st_mode)
    finally:
        path.unlink()


async def test_an_unexpected_failure_is_one_line_naming_the_file_with_its_traceback():
    text, as_json = await few_at_a_time(
        run_process(sys.executable, "-c", FAILING_COMMAND, "broken"),
        run_process(sys.executable, "-c", FAILING_COMMAND, "broken", "--json"),
    )

    line = one_line_error(text, 4)
    assert line.startswith("error: INTERNAL_ERROR: an internal error occurred (KeyError); the details are in ")
    details, mode = _take_details(line)
    assert "Traceback" in details and "a key nobody wrote" in details
    assert mode == 0o600, "it may quote values: readable by its owner only"
    [error] = json_error(as_json, 4)
    assert error["code"] == "INTERNAL_ERROR"
    assert "a key nobody wrote" in _take_details(error["message"])[0]


async def test_make_serve_takes_the_port():
    done = await run_process("make", "--dry-run", "--always-make", "serve", "PORT=8123", cwd=ROOT)

    assert done.returncode == 0, done.stderr
    serve_lines = [line for line in done.stdout.splitlines() if "chrgraph serve" in line]
    assert serve_lines and all("--port 8123" in line for line in serve_lines), done.stdout
