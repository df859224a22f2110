"""One load generator for every target: wrk (Debian's package) when it is installed,
else our own asyncio HTTP/1.1 client (bench/pyload.py), which is slower than the
server it measures at high rates and is reported as less reliable.

Both run pinned to their own core, keep connections alive, send the same bytes, and
give the same summary: requests, req/s, p50/p90/p99 latency, non-2xx answers and
socket errors."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass

from bench.scenarios import UNIQUE


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def to_json(self) -> dict:
        return asdict(self)


def generator_name(preferred: str = "auto") -> str:
    if preferred == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if preferred == "wrk":
        raise SystemExit("wrk is not installed (apt-get install -y wrk), use --client python")
    return "python"


def _taskset(cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu] if cpu is not None and shutil.which("taskset") else []


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{auth}
local template = {body}
local threads = {{}}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

if {unique} then
  -- A unique body per request (S3's emails): the thread's id and a counter.
  local counter = 0
  function request()
    counter = counter + 1
    local body = string.gsub(template, "{placeholder}", "{prefix}" .. "t" .. (id or 0) .. "n" .. counter)
    return wrk.format(nil, nil, nil, body)
  end
else
  wrk.body = template  -- static: wrk builds the request once
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50\\": %d, \\"p90\\": %d, \\"p99\\": %d, " ..
    "\\"status\\": %d, \\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def _wrk(
    url: str, body: bytes, authorization: str | None, connections: int, seconds: float, cpu: str | None
) -> LoadResult:
    text = body.decode()
    auth = f'wrk.headers["Authorization"] = "{authorization}"' if authorization else ""
    script = _LUA.format(
        auth=auth,
        body=_lua_string(text),
        unique="true" if UNIQUE in text else "false",
        prefix="b" + secrets.token_hex(5),
        placeholder=UNIQUE,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        path = handle.name
    try:
        command = [
            *_taskset(cpu),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            path,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        os.unlink(path)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    duration = raw["duration_us"] / 1e6
    return LoadResult(
        requests=raw["requests"],
        seconds=round(duration, 3),
        rps=round(raw["requests"] / duration, 1),
        p50_ms=raw["p50"] / 1000,
        p90_ms=raw["p90"] / 1000,
        p99_ms=raw["p99"] / 1000,
        non_2xx=raw["status"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
    )


def _python(
    url: str, body: bytes, authorization: str | None, connections: int, seconds: float, cpu: str | None
) -> LoadResult:
    spec = {
        "url": url,
        "body": body.decode(),
        "authorization": authorization,
        "connections": connections,
        "seconds": seconds,
        "placeholder": UNIQUE,
        "prefix": "b" + secrets.token_hex(5),
    }
    command = [*_taskset(cpu), sys.executable, "-m", "bench.pyload", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python load client failed: {done.stderr}")
    return LoadResult(**json.loads(done.stdout))


def drive(
    generator: str,
    url: str,
    body: bytes,
    authorization: str | None,
    connections: int,
    seconds: float,
    cpu: str | None,
) -> LoadResult:
    run = _wrk if generator == "wrk" else _python
    return run(url, body, authorization, connections, seconds, cpu)
