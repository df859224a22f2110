"""The fallback load generator when wrk is missing: N keep-alive HTTP/1.1 connections
on asyncio (uvloop when present), each sending the next request as soon as the last
answer arrived, for a fixed time. Prints a LoadResult as JSON.

Less reliable than wrk: one Python process tops out at a few thousand requests per
second, so for the fastest targets (the baseline) it measures itself, not the server.
Usage: python -m bench.pyload '<json spec>' (bench/load.py builds that JSON)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def _connection(spec: dict, deadline: float, latencies: list[float], counts: dict, index: int) -> None:
    url = urlsplit(spec["url"])
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = f"POST {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
    if spec["authorization"]:
        head += f"Authorization: {spec['authorization']}\r\n"
    template = spec["body"]
    unique = spec["placeholder"] in template
    static = template.encode()
    n = 0
    try:
        while time.perf_counter() < deadline:
            n += 1
            body = template.replace(spec["placeholder"], f"{spec['prefix']}c{index}n{n}").encode() if unique else static
            started = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            if not 200 <= status < 300:
                counts["non_2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        counts["socket_errors"] += 1
    finally:
        writer.close()


async def main(spec: dict) -> dict:
    latencies: list[float] = []
    counts = {"non_2xx": 0, "socket_errors": 0}
    started = time.perf_counter()
    deadline = started + spec["seconds"]
    await asyncio.gather(*(_connection(spec, deadline, latencies, counts, i) for i in range(spec["connections"])))
    seconds = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000, 3) if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        **counts,
    }


if __name__ == "__main__":
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    print(json.dumps(run(main(json.loads(sys.argv[1])))))
