"""A consumer deactivated, a key revoked or an organization's API switched off is
refused "within one second in every other process". A real uvicorn server process
serves the test database; the change is made by the `chrgraph` command, a third
process; the server must refuse within one second of the command's exit."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import OutboxMessage
from chrgraph.resolvers.consumers.manage import add_api_consumer_key
from chrgraph.resolvers.users.password_changes import request_password_reset
from tests.accounts import PASSWORD, forget_token_guesses, make_clinic, session_for
from tests.helpers import Vendor, claims, public_pem, rsa_key, sign

pytestmark = pytest.mark.slow

VIEWER = "{ viewer { kind consumer { issuer } } }"

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
REVOCATION_BOUND = 1.0  # seconds
STARTUP_LIMIT = 30.0
COMMAND_LIMIT = 60.0
ROTATED_KEY = 2


@dataclass
class Server:
    base_url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str) -> dict[str, str]:
    """The test process's environment (audit key and all) on the same database."""
    return {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), 10)


async def wait_until_healthy(server: Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_LIMIT
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2, trust_env=False) as client:
        while loop.time() < deadline:
            if server.process.returncode is not None:
                raise AssertionError(f"the server exited early:\n{server.output()}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"the server did not become ready within {STARTUP_LIMIT} s:\n{server.output()}")


@pytest.fixture(scope="module")
async def server(app, database_url) -> AsyncIterator[Server]:
    """`uvicorn chrgraph.app:app_factory` on 127.0.0.1, sharing the test database."""
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="chrgraph-server-")) / "server.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "chrgraph.app:app_factory",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=environment(database_url),
            cwd=ROOT,
        )
    running = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        await wait_until_healthy(running)
        yield running
    finally:
        await stop(process)


@pytest.fixture
async def remote(server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5, trust_env=False) as client:
        yield client


async def chrgraph(database_url: str, *args: str) -> None:
    """`chrgraph ARGS…` in its own process, as an operator would type it; must succeed."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / "chrgraph"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(database_url),
        cwd=ROOT,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), COMMAND_LIMIT)
    finally:
        await stop(process)
    assert process.returncode == 0, f"chrgraph {' '.join(args)} failed:\n{out.decode()}\n{err.decode()}"


async def ask(remote: httpx.AsyncClient, token: str) -> httpx.Response:
    return await remote.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})


async def assert_served(remote: httpx.AsyncClient, token: str, vendor: Vendor) -> None:
    response = await ask(remote, token)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["consumer"]["issuer"] == vendor.consumer.issuer


async def assert_refused_within_a_second(remote: httpx.AsyncClient, token: str, reason: str, server: Server) -> None:
    """Ask until refused; the refused request must have been sent within the bound."""
    loop = asyncio.get_running_loop()
    changed_at = loop.time()
    answers: list[tuple[float, int]] = []
    while True:
        sent_at = loop.time() - changed_at
        if sent_at > REVOCATION_BOUND:
            raise AssertionError(f"still served {sent_at:.2f} s after the change: {answers}\n{server.output()}")
        response = await ask(remote, token)
        answers.append((round(sent_at, 3), response.status_code))
        if response.status_code == 401:
            body = response.json()
            assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}, body
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            break
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.05)
    again = await ask(remote, token)  # and it stays refused
    assert again.status_code == 401, again.text


async def test_consumer_deactivated_by_the_cli_is_refused_by_a_server_process_within_a_second(
    vendor, server, remote, database_url
):
    token = vendor.token(ttl=600)
    await assert_served(remote, token, vendor)  # the server now holds the consumer in its cache
    await chrgraph(
        database_url,
        "consumers",
        "deactivate",
        "--org",
        vendor.organization.domain,
        "--issuer",
        vendor.consumer.issuer,
    )
    await assert_refused_within_a_second(remote, token, "UNKNOWN_OR_INACTIVE_ISSUER", server)


async def test_key_revoked_by_the_cli_is_refused_by_a_server_process_within_a_second(
    vendor, server, remote, database_url
):
    rotated = rsa_key(ROTATED_KEY)
    await add_api_consumer_key(
        support_cli_actor(vendor.organization.id), vendor.consumer.issuer, public_pem(rotated), "k2"
    )
    token = vendor.token(ttl=600, kid="k1")
    await assert_served(remote, token, vendor)
    await chrgraph(
        database_url,
        "consumers",
        "revoke-key",
        "--org",
        vendor.organization.domain,
        "--issuer",
        vendor.consumer.issuer,
        "--kid",
        "k1",
    )
    await assert_refused_within_a_second(remote, token, "BAD_SIGNATURE", server)
    # Only that key: the consumer's other key still signs accepted tokens.
    await assert_served(remote, sign(claims(vendor.consumer.issuer), rotated, kid="k2"), vendor)


async def test_api_switched_off_by_the_cli_is_refused_by_a_server_process_within_a_second(
    vendor, server, remote, database_url
):
    token = vendor.token(ttl=600)
    await assert_served(remote, token, vendor)
    await chrgraph(database_url, "org", "set", "--domain", vendor.organization.domain, "--no-enterprise-api")
    await assert_refused_within_a_second(remote, token, "UNKNOWN_OR_INACTIVE_ISSUER", server)


# --- a password changed or reset in another process ends the sessions that knew it ------

CHANGE_PASSWORD = """mutation($i: ChangePasswordInput!) { changePassword(input: $i) { errors { code } } }"""
RESET_PASSWORD = """mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { errors { code } } }"""
NEW_PASSWORD = "seven quiet herons over the marsh"


async def assert_session_served(remote: httpx.AsyncClient, token: str) -> None:
    response = await ask_session(remote, token)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


async def ask_session(remote: httpx.AsyncClient, token: str) -> httpx.Response:
    return await remote.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_password_changed_in_this_process_ends_the_other_sessions_in_the_server_within_a_second(
    client, server, remote
):
    clinic = await make_clinic(client)
    member = await clinic.member()
    desk = await session_for(client, member.email)
    await assert_session_served(remote, member.token)  # the server holds the session in its cache
    done = await desk.gql(CHANGE_PASSWORD, {"i": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    assert done["changePassword"]["errors"] == []
    await assert_session_refused_within_a_second(remote, member.token, server)
    await assert_session_served(remote, desk.token)


async def test_a_password_reset_in_this_process_ends_every_session_in_the_server_within_a_second(
    client, server, remote
):
    clinic = await make_clinic(client)
    member = await clinic.member()
    await assert_session_served(remote, member.token)
    await forget_token_guesses()
    await request_password_reset(member.email)
    message = await OutboxMessage.filter(to_email=member.email, password_reset_id__isnull=False).first()
    response = await client.post(
        "/graphql",
        json={"query": RESET_PASSWORD, "variables": {"i": {"token": message.token, "newPassword": NEW_PASSWORD}}},
    )
    assert response.json()["data"]["resetPassword"]["errors"] == []
    await assert_session_refused_within_a_second(remote, member.token, server)


async def assert_session_refused_within_a_second(remote: httpx.AsyncClient, token: str, server: Server) -> None:
    loop = asyncio.get_running_loop()
    changed_at = loop.time()
    answers: list[tuple[float, int]] = []
    while True:
        sent_at = loop.time() - changed_at
        if sent_at > REVOCATION_BOUND:
            raise AssertionError(f"still served {sent_at:.2f} s after the change: {answers}\n{server.output()}")
        response = await ask_session(remote, token)
        answers.append((round(sent_at, 3), response.status_code))
        if response.status_code == 401:
            assert response.json()["errors"][0]["extensions"] == {
                "code": "UNAUTHENTICATED",
                "reason": "INVALID_SESSION",
            }
            break
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.05)
    assert (await ask_session(remote, token)).status_code == 401  # and it stays refused
