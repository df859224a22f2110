"""`make bench`: chrgraph under load beside a bare Starlette baseline (issue 5).

    python -m bench.run                       # SQLite, one worker, S1-S6, 2 interleaved runs
    python -m bench.run --pg --workers 1,2 --scenarios S1,S3    # PostgreSQL scale-out
    python -m bench.run --profile S2          # cProfile of in-process requests, no load

Each run: a throwaway database seeded through the operations (bench/seed.py); sequential
in-process probes (SQL statements per request, answers checked); then the real server
(`uvicorn chrgraph.app:app_factory --factory`) and the baseline (`bench.baseline`) with
the same uvicorn flags, pinned to one core while the load generator uses the other,
driven in turn (baseline, S1 … S6, again) at 32 connections and at 1. See README.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import asyncpg
import httpx

from bench.credentials import Vendor, login
from bench.load import drive, generator_name
from bench.probe import Prober
from bench.scenarios import UNIQUE, Scenario, check_answer, scenarios
from bench.seed import Seeded, seed
from chrgraph.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("CHRGRAPH_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TARGETS = {"S1": 0.10, "S2": 0.005, "S3": 0.02, "S4": 0.005, "S5": 0.10, "S6": 0.01}
S1_P99_MS = 50.0
PEAK_MIB = 200.0
UVICORN_FLAGS = [
    "--factory",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
    "--host",
    "127.0.0.1",
]


# -- the database ---------------------------------------------------------------------------


class Database:
    """A throwaway database: a SQLite file in a temp folder, or a fresh PostgreSQL one."""

    def __init__(self, pg: bool, folder: Path) -> None:
        self.pg = pg
        if pg:
            self.name = f"chrgraph_bench_{uuid.uuid4().hex[:10]}"
            self.url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{self.name}"
        else:
            self.path = folder / "bench.db"
            self.url = f"sqlite://{self.path}"

    async def create(self) -> None:
        if self.pg:
            await self._admin(f'CREATE DATABASE "{self.name}"')

    async def drop(self) -> None:
        if self.pg:
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def rows(self, since_log_id: int = 0) -> dict[str, int]:
        """Audit events and API-log rows so far; API-log rows after `since_log_id` that
        are not a clean answer (status other than 200; the body is encrypted)."""
        queries = {
            "audit_event": "SELECT count(*) FROM audit_event",
            "api_log": "SELECT count(*) FROM api_log",
            "api_log_max_id": "SELECT coalesce(max(id), 0) FROM api_log",
            # The answer body is encrypted at rest (migration 0021): only the status is countable.
            "logged_failures": "SELECT count(*) FROM api_log WHERE id > {since} AND status NOT IN (200, 499)",
            # 499: the generator closed a connection with its request in flight when a load
            # ended (the server stops a query nobody waits for). Not a refusal, but at most
            # one per connection and load: more counts as failures.
            "client_closed": "SELECT count(*) FROM api_log WHERE id > {since} AND status = 499",
        }
        sql = {k: v.format(since=int(since_log_id)) for k, v in queries.items()}
        if self.pg:
            conn = await asyncpg.connect(self.url)
            try:
                return {k: int(await conn.fetchval(q)) for k, q in sql.items()}
            finally:
                await conn.close()
        with sqlite3.connect(self.path, timeout=30) as conn:
            return {k: int(conn.execute(q).fetchone()[0]) for k, q in sql.items()}


# -- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def taskset(cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []


class Server:
    def __init__(
        self,
        name: str,
        target: str,
        workers: int,
        cpus: str | None,
        env: dict[str, str],
        log_path: Path,
        switch_interval: float | None = None,
    ) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        uvicorn = [str(Path(sys.executable).parent / "uvicorn")]
        if switch_interval is not None:  # an experiment: the GIL switch interval of the server
            uvicorn = [
                sys.executable,
                "-c",
                f"import sys; sys.setswitchinterval({switch_interval}); "
                "sys.argv[0] = 'uvicorn'; from uvicorn.main import main; main()",
            ]
        command = [
            *taskset(cpus),
            *uvicorn,
            target,
            *UVICORN_FLAGS,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self._log = open(log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            with suppress(httpx.HTTPError):
                if (
                    httpx.post(
                        self.url + "/graphql",
                        content=b"{}",
                        timeout=2,
                        headers={"content-type": "application/json"},
                    ).status_code
                    < 500
                ):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {self.log_path.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server and its workers so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _tree(self.process.pid):
            with suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def wait_idle(self, timeout: float = 120) -> float:
        """Until the requests a generator left in flight are done (a slow scenario leaves up
        to one per connection): the next measurement must not inherit them. Returns the wait."""
        started = time.monotonic()
        last = self.cpu_seconds()
        while time.monotonic() - started < timeout:
            time.sleep(0.25)
            now = self.cpu_seconds()
            if now - last < 0.25 * 0.1:
                break
            last = now
        return time.monotonic() - started

    def peak_mib(self) -> float:
        """Peak resident memory (VmHWM) of the server and its worker processes, summed."""
        return round(sum(_vm_hwm_kib(pid) for pid in _tree(self.process.pid)) / 1024, 1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with suppress(OSError):
                    todo.extend(int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split())
    return pids


def _vm_hwm_kib(pid: int) -> int:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# -- measuring ----------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        db: Database,
        seeded: Seeded,
        vendor: Vendor,
        chosen: list[Scenario],
        folder: Path,
    ) -> None:
        self.args, self.db, self.seeded, self.vendor, self.chosen, self.folder = (
            args,
            db,
            seeded,
            vendor,
            chosen,
            folder,
        )
        self.generator = generator_name(args.client)

    def cpus(self, workers: int) -> tuple[str | None, str | None]:
        """(server cores, generator core): one core each when there are two or more."""
        count = os.cpu_count() or 1
        if count < 2 or self.args.no_pin:
            return None, None
        if workers == 1:
            return "0", str(count - 1)
        # More workers than spare cores: the workers get every core, the generator shares the last.
        server = f"0-{min(workers, count) - 1}" if workers < count else f"0-{count - 1}"
        return server, str(count - 1)

    def config(self, workers: int) -> dict:
        server_cpus, generator_cpu = self.cpus(workers)
        env = {
            "CHRGRAPH_DATABASE_URL": self.db.url,
            "CHRGRAPH_AUDIT_SIGNING_KEY": str(self.folder / "audit-signing.key"),
            "CHRGRAPH_AUDIT_ANCHOR_FILE": str(self.folder / "audit-anchors.jsonl"),
        }
        baseline = Server(
            "baseline",
            "bench.baseline:app_factory",
            workers,
            server_cpus,
            env,
            self.folder / f"baseline-w{workers}.log",
            self.args.switch_interval,
        )
        server = Server(
            "chrgraph",
            "chrgraph.app:app_factory",
            workers,
            server_cpus,
            env,
            self.folder / f"chrgraph-w{workers}.log",
            self.args.switch_interval,
        )
        try:
            baseline.wait_ready()
            server.wait_ready()
            session = asyncio.run(self._login(server.url))
            self._preflight(server.url, session)
            targets: list[Scenario | None] = [None, *self.chosen]
            runs: dict[str, list[dict]] = {("baseline" if t is None else t.name): [] for t in targets}
            rows: dict[str, dict[str, int]] = {
                t.name: {"requests": 0, "audit_event": 0, "api_log": 0, "logged_failures": 0} for t in self.chosen
            }
            peaks: dict[str, float] = {}
            for run in range(self.args.runs):
                for target in targets:
                    name = "baseline" if target is None else target.name
                    url = (baseline if target is None else server).url + "/graphql"
                    body = target.body if target else b'{"query":"{ viewer { organization { id name } } }"}'
                    process = baseline if target is None else server
                    if run == 0 and self.args.warmup > 0:
                        drive(
                            self.generator,
                            url,
                            body,
                            self._auth(target, session),
                            self.args.connections,
                            self.args.warmup,
                            generator_cpu,
                        )
                        process.wait_idle()
                    before = asyncio.run(self.db.rows()) if target else None
                    cpu_before = process.cpu_seconds()
                    loaded = drive(
                        self.generator,
                        url,
                        body,
                        self._auth(target, session),
                        self.args.connections,
                        self.args.duration,
                        generator_cpu,
                    )
                    busy = (process.cpu_seconds() - cpu_before) / max(loaded.seconds, 0.001)
                    process.wait_idle()
                    single = drive(
                        self.generator,
                        url,
                        body,
                        self._auth(target, session),
                        1,
                        self.args.single_duration,
                        generator_cpu,
                    )
                    process.wait_idle()
                    cpu_us = busy * loaded.seconds / max(loaded.requests, 1) * 1e6
                    entry = {
                        "run": run + 1,
                        "c32": {
                            **loaded.to_json(),
                            "server_cpu": round(busy, 3),
                            "server_cpu_us_per_request": round(cpu_us, 1),
                        },
                        "c1": single.to_json(),
                    }
                    runs[name].append(entry)
                    if target is not None:
                        after = asyncio.run(self.db.rows(before["api_log_max_id"]))
                        tally = rows[name]
                        # The server also answers the request each connection had in flight when
                        # the generator stopped (and logs it): one per connection.
                        tally["requests"] += loaded.requests + single.requests + self.args.connections + 1
                        tally["audit_event"] += after["audit_event"] - before["audit_event"]
                        tally["api_log"] += after["api_log"] - before["api_log"]
                        # Two loads (32 connections, then one), each may leave its in-flight requests.
                        closed_allowed = self.args.connections + 1
                        tally["logged_failures"] += after["logged_failures"] + max(
                            0, after["client_closed"] - closed_allowed
                        )
                    peaks[name] = (baseline if target is None else server).peak_mib()
                    self._say(
                        f"  run {run + 1} {name:8} {loaded.rps:9.1f} req/s  p50 {loaded.p50_ms:7.2f} ms  "
                        f"p99 {loaded.p99_ms:7.2f} ms  c1 p50 {single.p50_ms:6.2f} ms  "
                        f"non-2xx {loaded.non_2xx + single.non_2xx}  server CPU {busy:.0%}"
                    )
            return self._summarize(workers, server_cpus, generator_cpu, runs, rows, peaks)
        finally:
            server.stop()
            baseline.stop()

    def _auth(self, target: Scenario | None, session: str) -> str | None:
        if target is None:
            return None
        if target.principal == "session":
            return f"Bearer {session}"
        return f"Bearer {self.vendor.token()}"  # fresh for every load run: tokens live 15 minutes at most

    async def _login(self, base_url: str) -> str:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            return await login(client)

    def _preflight(self, base_url: str, session: str) -> None:
        """One request per scenario over real HTTP: the server answers what the probes did."""
        for scenario in self.chosen:
            body = scenario.body.replace(UNIQUE.encode(), f"preflight-{uuid.uuid4().hex[:8]}".encode())
            response = httpx.post(
                base_url + "/graphql",
                content=body,
                timeout=30,
                headers={
                    "content-type": "application/json",
                    "authorization": self._auth(scenario, session) or "",
                },
            )
            problem = check_answer(scenario, response.status_code, response.content)
            if problem:
                raise RuntimeError(f"{scenario.name} over HTTP answered wrongly: {problem}")

    def _summarize(self, workers: int, server_cpus, generator_cpu, runs, rows, peaks) -> dict:
        base = runs["baseline"]
        base_rps = _median([r["c32"]["rps"] for r in base])
        result = {
            "workers": workers,
            "server_cpus": server_cpus,
            "generator_cpu": generator_cpu,
            "baseline": {
                "rps": base_rps,
                "p50_ms": _median([r["c32"]["p50_ms"] for r in base]),
                "server_cpu": _median([r["c32"]["server_cpu"] for r in base]),
                "cpu_us": _median([r["c32"]["server_cpu_us_per_request"] for r in base]),
                "p99_ms": _median([r["c32"]["p99_ms"] for r in base]),
                "c1_p50_ms": _median([r["c1"]["p50_ms"] for r in base]),
                "peak_mib": peaks.get("baseline"),
                "runs": base,
            },
            "scenarios": {},
        }
        for scenario in self.chosen:
            mine = runs[scenario.name]
            rps = _median([r["c32"]["rps"] for r in mine])
            tally = rows[scenario.name]
            requests = max(tally["requests"], 1)
            result["scenarios"][scenario.name] = {
                "title": scenario.title,
                "rps": rps,
                "ratio": round(rps / base_rps, 4) if base_rps else None,
                "ratios_per_run": [
                    round(r["c32"]["rps"] / b["c32"]["rps"], 4) for r, b in zip(mine, base, strict=True)
                ],
                "overhead_us": round(1e6 / rps - 1e6 / base_rps, 1) if rps and base_rps else None,
                # Server CPU per request (its cores' time / requests): unlike req/s, it does not
                # depend on whether the generator saturated the server.
                "server_cpu": _median([r["c32"]["server_cpu"] for r in mine]),
                "cpu_us": _median([r["c32"]["server_cpu_us_per_request"] for r in mine]),
                "p50_ms": _median([r["c32"]["p50_ms"] for r in mine]),
                "p90_ms": _median([r["c32"]["p90_ms"] for r in mine]),
                "p99_ms": _median([r["c32"]["p99_ms"] for r in mine]),
                "c1_p50_ms": _median([r["c1"]["p50_ms"] for r in mine]),
                "non_2xx": sum(r["c32"]["non_2xx"] + r["c1"]["non_2xx"] for r in mine),
                "socket_errors": sum(r["c32"]["socket_errors"] + r["c1"]["socket_errors"] for r in mine),
                "audit_rows_per_request": round(tally["audit_event"] / requests, 3),
                "api_log_rows_per_request": round(tally["api_log"] / requests, 3),
                "logged_failures": tally["logged_failures"],
                "peak_mib": peaks.get(scenario.name),
                "runs": mine,
            }
        return result

    def _say(self, text: str) -> None:
        print(text, flush=True)


# -- reporting ----------------------------------------------------------------------------


def targets_met(config: dict, sqlite_one_worker: bool) -> dict[str, dict]:
    scen = config["scenarios"]
    # Every answer clean: a 429 (the cost budget) or any other refusal is a failure.
    refused = sum(s["non_2xx"] + s["socket_errors"] + s["logged_failures"] for s in scen.values())
    met: dict[str, dict] = {"no refused or failed answer (429 included)": {"value": refused, "met": refused == 0}}
    if not sqlite_one_worker:
        return met
    for name, floor in TARGETS.items():
        if name in scen:
            met[f"{name} ratio >= {floor}"] = {
                "value": scen[name]["ratio"],
                "met": scen[name]["ratio"] >= floor,
            }
    if "S1" in scen:
        met[f"S1 p99 <= {S1_P99_MS} ms"] = {
            "value": scen["S1"]["p99_ms"],
            "met": scen["S1"]["p99_ms"] <= S1_P99_MS,
        }
    peak = max(s["peak_mib"] or 0 for s in scen.values()) if scen else 0
    met[f"peak memory <= {PEAK_MIB:.0f} MiB"] = {"value": peak, "met": peak <= PEAK_MIB}
    return met


def table(report: dict) -> str:
    lines = []
    for config in report["configs"]:
        b = config["baseline"]
        lines.append(
            f"\n{report['meta']['database']}, {config['workers']} worker(s), server cores "
            f"{config['server_cpus']}, generator core {config['generator_cpu']}, "
            f"{report['meta']['generator']}, median of {report['meta']['runs']} runs"
        )
        head = (
            f"{'':9}{'req/s':>9} {'ratio':>7} {'µs/req':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'c1 p50':>7} "
            f"{'SQL':>4} {'audit':>6} {'log':>6} {'non2xx':>6} {'MiB':>6} {'CPU':>5} {'cpuµs':>7}"
        )
        lines.append(head)
        lines.append(
            f"{'baseline':9}{b['rps']:>9.0f} {1:>7.3f} {'':>7} {b['p50_ms']:>7.2f} {'':>7} "
            f"{b['p99_ms']:>7.2f} {b['c1_p50_ms']:>7.2f} {'':>4} {'':>6} {'':>6} {'':>6} "
            f"{b['peak_mib'] or 0:>6.1f} {b['server_cpu']:>5.0%} {b['cpu_us']:>7.0f}"
        )
        for name, s in config["scenarios"].items():
            sql = report["probes"].get(name, {}).get("sql_per_request", "")
            ratio = f"{s['ratio']:.3f}" if s["ratio"] is not None else "-"
            overhead = f"{s['overhead_us']:.0f}" if s["overhead_us"] is not None else "-"
            lines.append(
                f"{name:9}{s['rps']:>9.0f} {ratio:>7} {overhead:>7} {s['p50_ms']:>7.2f} "
                f"{s['p90_ms']:>7.2f} {s['p99_ms']:>7.2f} {s['c1_p50_ms']:>7.2f} {sql:>4} "
                f"{s['audit_rows_per_request']:>6.3f} {s['api_log_rows_per_request']:>6.3f} "
                f"{s['non_2xx']:>6} {s['peak_mib'] or 0:>6.1f} {s['server_cpu']:>5.0%} {s['cpu_us']:>7.0f}"
            )
        for label, verdict in config.get("targets", {}).items():
            lines.append(f"  {'met ' if verdict['met'] else 'MISSED'} {label}: {verdict['value']}")
    lines.append(
        "\nlatencies in ms at 32 connections (c1: one connection); µs/req = 1e6/rps - 1e6/baseline rps;"
        "\nSQL = statements per request (sequential probe); audit, log = rows per request under load;"
        "\nCPU = server cores busy during the 32-connection run (under 100%: not CPU-bound, or the"
        "\ngenerator could not keep up); cpuµs = server CPU time per request"
    )
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    names = [
        "strawberry-graphql",
        "graphql-core",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "tortoise-orm",
        "aiosqlite",
        "asyncpg",
        "joserfc",
        "orjson",
    ]
    found = {}
    for name in names:
        with suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False)
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "wrk"


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", action="store_true", help=f"PostgreSQL (a throwaway database on {PG_ADMIN_URL})")
    parser.add_argument("--workers", default="1", help="uvicorn workers; a list runs each (e.g. 1,2)")
    parser.add_argument("--scenarios", default="S1,S2,S3,S4,S5,S6")
    parser.add_argument("--runs", type=int, default=2, help="interleaved runs; medians are reported")
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario at 32 connections")
    parser.add_argument("--single-duration", type=float, default=3, help="seconds per scenario at 1 connection")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up load before the first run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and generator to cores")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="experiment: sys.setswitchinterval() in the servers (default: Python's 0.005)",
    )
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    parser.add_argument("--profile", metavar="SCENARIO", help="cProfile in-process requests; no load")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument(
        "--timing",
        action="store_true",
        help="sequential in-process requests per scenario (median µs); no load",
    )
    return parser.parse_args(argv)


async def _prepare(args: argparse.Namespace, db: Database, folder: Path):
    await db.create()
    seeded = await seed(db.url)
    vendor = Vendor(seeded.private_key_pem)
    chosen = [s for s in scenarios(seeded) if s.name in args.scenarios.split(",")]
    settings = Settings(database_url=db.url, audit_signing_key=str(folder / "audit-signing.key"))
    probes = {}
    async with Prober(settings, vendor) as prober:
        if args.timing:
            for scenario in chosen:
                print(f"  {scenario.name}: {await prober.timing(scenario, args.profile_requests)}", flush=True)
        elif args.profile:
            (scenario,) = [s for s in scenarios(seeded) if s.name == args.profile]
            await prober.profile(scenario, args.profile_requests)
        else:
            for scenario in chosen:
                probes[scenario.name] = (await prober.probe(scenario)).to_json()
    return seeded, vendor, chosen, probes


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="chrgraph-bench-"))
    db = Database(args.pg, folder)
    started = time.monotonic()
    try:
        print(f"seeding {'PostgreSQL' if args.pg else 'SQLite'} database ({db.url}) …", flush=True)
        seeded, vendor, chosen, probes = asyncio.run(_prepare(args, db, folder))
        if args.profile or args.timing:
            return
        for name, probe in probes.items():
            print(
                f"  probe {name}: {probe['sql_per_request']} SQL statements per request "
                f"(seen {probe['sql_seen']}), {probe['in_process_ms']} ms in-process",
                flush=True,
            )
        bench = Bench(args, db, seeded, vendor, chosen, folder)
        if bench.generator == "python":
            print(
                "wrk not found: using the Python load client (less reliable: it can be slower than the "
                "server; apt-get install -y wrk)",
                flush=True,
            )
        report = {
            "meta": {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
                "database": "PostgreSQL" if args.pg else "SQLite",
                "generator": bench.generator if bench.generator == "python" else (_wrk_version() or "wrk"),
                "generator_reliable": bench.generator == "wrk",
                "connections": args.connections,
                "duration_s": args.duration,
                "single_duration_s": args.single_duration,
                "runs": args.runs,
                "cpu_count": os.cpu_count(),
                "loadavg_before": os.getloadavg(),
                "cpu": platform.processor() or platform.machine(),
                "python": platform.python_version(),
                "versions": _versions(),
            },
            "probes": probes,
            "configs": [],
        }
        for workers in (int(w) for w in args.workers.split(",")):
            print(
                f"load: {len(chosen)} scenarios and the baseline, {workers} worker(s), {args.runs} runs …",
                flush=True,
            )
            config = bench.config(workers)
            config["targets"] = targets_met(config, not args.pg and workers == 1)
            report["configs"].append(config)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report["meta"]["wall_seconds"] = round(time.monotonic() - started, 1)
        report["meta"]["loadavg_after"] = os.getloadavg()
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(table(report))
        print(f"\nJSON: {out}  ({report['meta']['wall_seconds']} s)")
    finally:
        asyncio.run(db.drop())
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
