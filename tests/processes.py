"""Other processes on the test database: the `chrgraph` command, a real uvicorn
server, and small writer scripts. Every wait is bounded and every process is killed
in a `finally`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
CHRGRAPH = str(BIN / "chrgraph")
ROOT = Path(__file__).resolve().parent.parent


def environment(**overrides: str) -> dict[str, str]:
    """The test process's environment (CHRGRAPH_DATABASE_URL, CHRGRAPH_AUDIT_SIGNING_KEY
    set by conftest) with `overrides` on top."""
    env = dict(os.environ)
    env.update(overrides)
    return env


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), 10)


async def run_process(
    *argv: str, env: dict[str, str] | None = None, time_limit: float = 60, cwd: Path = ROOT, stdin: bytes = b""
) -> Completed:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or environment(),
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), time_limit)
    finally:
        await _kill(process)
    assert process.returncode is not None
    return Completed(process.returncode, out.decode(), err.decode())


async def chrgraph(
    *args: str, env: dict[str, str] | None = None, time_limit: float = 60, cwd: Path = ROOT, stdin: bytes = b""
) -> Completed:
    """`chrgraph ARGS…` as an operator would type it (in folder `cwd`)."""
    return await run_process(CHRGRAPH, *args, env=env, time_limit=time_limit, cwd=cwd, stdin=stdin)


async def python_script(module: str, *args: str, time_limit: float = 60) -> Completed:
    """`python -m MODULE ARGS…` from the repository root."""
    return await run_process(sys.executable, "-m", module, *args, time_limit=time_limit)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    base_url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, as in a crash."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def running_server(
    startup_time_limit: float = 30, module: str | None = None, **env: str
) -> AsyncIterator[Server]:
    """`chrgraph serve` on 127.0.0.1 and a free port, against the test database (or
    `python -m MODULE --host … --port …`, a server a test prepared)."""
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="chrgraph-server-"))
    log_path = log_dir / "server.log"
    command = [sys.executable, "-m", module] if module else [CHRGRAPH, "serve"]
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=environment(**env),
            cwd=ROOT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        await _wait_until_healthy(server, startup_time_limit)
        yield server
    finally:
        await _kill(process)


async def _wait_until_healthy(server: Server, time_limit: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while loop.time() < deadline:
            if server.process.returncode is not None:
                raise AssertionError(f"the server exited early:\n{server.output()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the server did not answer /healthz within {time_limit} s:\n{server.output()}")


async def eventually(check, time_limit: float = 10, interval: float = 0.05) -> None:
    """Await `check()` until it returns true; fail after `time_limit` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    while True:
        if await check():
            return
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {time_limit} s")
        await asyncio.sleep(interval)
