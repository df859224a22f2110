"""In-process CPU cost per request, for measuring one lever at a time (not the bench).

    .venv/bin/python -m bench.profile S1 [requests] [concurrency]      # CPU µs/request
    PROFILE=1 .venv/bin/python -m bench.profile S2 400 8               # + cProfile top

Seeds a SQLite database once (reused while its `.json` sidecar exists; delete the folder
after changing the seed or the migrations), runs the app's lifespan, then sends raw ASGI
requests straight to `create_app()` — no sockets, no load generator — so the figure is
the server's own CPU per request. Process CPU time, not wall time: less sensitive to
other work on the machine. Use `make bench` for the numbers the targets are judged by.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import orjson
import uvloop

FOLDER = Path(os.environ.get("CHRGRAPH_PROFILE_DIR", "/tmp/chrgraph-profile"))


async def _seeded():
    import bench.seed as seedmod

    FOLDER.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any load
    db = FOLDER / "bench.db"
    sidecar = FOLDER / "bench.json"
    if not sidecar.exists():
        for name in ("bench.db", "bench.db-wal", "bench.db-shm"):
            (FOLDER / name).unlink(missing_ok=True)
        seeded = await seedmod.seed(f"sqlite://{db}")
        sidecar.write_bytes(orjson.dumps(seeded.to_json()))
    return seedmod.Seeded(**orjson.loads(sidecar.read_bytes()))


async def _lifespan(app):
    queue: asyncio.Queue = asyncio.Queue()
    started = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def send(message):
        if message["type"] == "lifespan.startup.complete":
            started.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, send))
    await started.wait()
    return task


async def main(name: str, total: int, concurrency: int, profile: bool) -> None:
    # Before anything reads the settings (they are cached on first use).
    os.environ["CHRGRAPH_DATABASE_URL"] = f"sqlite://{FOLDER / 'bench.db'}"
    seeded = await _seeded()
    import httpx

    from bench.credentials import Vendor, login
    from bench.scenarios import UNIQUE, scenarios
    from chrgraph.app import create_app, tune_gc

    app = create_app()
    scenario = {s.name: s for s in scenarios(seeded)}[name]
    lifespan = await _lifespan(app)
    tune_gc()
    if scenario.principal == "consumer":
        authorization = "Bearer " + Vendor(seeded.private_key_pem).token()
    else:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            authorization = "Bearer " + await login(client)
    counter = 0

    async def one() -> bytes:
        nonlocal counter
        counter += 1
        body = scenario.body.replace(UNIQUE.encode(), f"p{counter}x{time.time_ns()}".encode())
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "client": ("127.0.0.1", 5555),
            "server": ("127.0.0.1", 8000),
            "headers": [
                (b"host", b"t"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", authorization.encode()),
            ],
        }
        delivered = False

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()

        status, chunks = 0, []

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        answer = b"".join(chunks)
        if status != 200 or b'"errors"' in answer[:20]:
            raise RuntimeError(f"{status}: {answer[:500]!r}")
        return answer

    print((await one())[:160])
    for _ in range(min(50, total)):
        await one()

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    profiler = cProfile.Profile() if profile else None
    per_worker = max(1, total // concurrency)
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = per_worker * concurrency
    print(f"{name}: {done / wall:.0f} req/s in process, CPU {cpu * 1e6 / done:.0f} µs/request ({done} requests)")
    if profiler:
        profiler.dump_stats(FOLDER / f"{name}.prof")
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(40)
    lifespan.cancel()


if __name__ == "__main__":
    args = sys.argv[1:]
    uvloop.run(
        main(
            args[0] if args else "S1",
            int(args[1]) if len(args) > 1 else 2000,
            int(args[2]) if len(args) > 2 else 32,
            os.environ.get("PROFILE") == "1",
        )
    )
