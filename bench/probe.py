"""Sequential probe requests, in-process (httpx's ASGI transport against create_app, with
its lifespan), not under load: does each scenario answer what it should, and how many
SQL statements does one request send? `chrgraph.db.hooks` sees every statement of the
process, the API-log writer's group commit included (it completes before the answer).

The revocation poll (one SELECT at most every 0.5 s) can land in any request; the
minimum over the probes leaves it out."""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass

import httpx
from asgi_lifespan import LifespanManager

from bench.credentials import Vendor, login
from bench.scenarios import UNIQUE, Scenario, check_answer
from chrgraph.app import create_app
from chrgraph.db import hooks
from chrgraph.db.models import ApiLog, AuditEvent
from chrgraph.settings import Settings

PROBES = 3


@dataclass
class ProbeResult:
    sql_per_request: int
    sql_seen: list[int]
    statements: list[str]  # of the cheapest probe, for reading what a request costs
    in_process_ms: float  # median wall time of one request through the whole ASGI stack
    audit_rows_per_request: float  # exact: rows written by the probes / probes
    api_log_rows_per_request: float

    def to_json(self) -> dict:
        return self.__dict__.copy()


async def _rows() -> tuple[int, int]:
    return await AuditEvent.all().count(), await ApiLog.all().count()


class Prober:
    def __init__(self, settings: Settings, vendor: Vendor) -> None:
        self.settings = settings
        self.vendor = vendor
        self._session: str | None = None
        self._n = 0

    async def __aenter__(self) -> Prober:
        self.app = create_app(self.settings, migrate=False)
        self._lifespan = LifespanManager(self.app)
        await self._lifespan.__aenter__()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench")
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await self._lifespan.__aexit__(*exc)

    async def authorization(self, scenario: Scenario) -> str:
        if scenario.principal == "session":
            if self._session is None:
                self._session = await login(self.client)
            return f"Bearer {self._session}"
        return f"Bearer {self.vendor.token()}"

    async def send(self, scenario: Scenario, authorization: str) -> httpx.Response:
        self._n += 1
        body = scenario.body.replace(UNIQUE.encode(), f"probe{self._n}-{time.time_ns()}".encode())
        return await self.client.post(
            "/graphql",
            content=body,
            headers={"content-type": "application/json", "authorization": authorization},
        )

    async def probe(self, scenario: Scenario) -> ProbeResult:
        authorization = await self.authorization(scenario)
        for _ in range(2):  # warm the credential and document caches
            await self.send(scenario, authorization)
        seen, texts, times = [], [], []
        rows_before = await _rows()
        for _ in range(PROBES):
            counter = hooks.count_statements()
            started = time.perf_counter()
            try:
                response = await self.send(scenario, authorization)
            finally:
                hooks.stop_counting(counter)
            times.append((time.perf_counter() - started) * 1000)
            problem = check_answer(scenario, response.status_code, response.content)
            if problem:
                raise RuntimeError(f"{scenario.name} answered wrongly: {problem}")
            seen.append(counter.count)
            texts.append(counter.statements)
        rows_after = await _rows()
        cheapest = min(range(PROBES), key=lambda i: seen[i])
        return ProbeResult(
            min(seen),
            seen,
            texts[cheapest],
            round(sorted(times)[PROBES // 2], 2),
            round((rows_after[0] - rows_before[0]) / PROBES, 3),
            round((rows_after[1] - rows_before[1]) / PROBES, 3),
        )

    async def timing(self, scenario: Scenario, requests: int) -> dict[str, float]:
        """Sequential in-process requests: median and best wall time in µs (levers, A/B)."""
        authorization = await self.authorization(scenario)
        for _ in range(5):
            await self.send(scenario, authorization)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            await self.send(scenario, authorization)
            times.append((time.perf_counter() - started) * 1e6)
        times.sort()
        return {"median_us": round(times[len(times) // 2]), "best_us": round(times[0])}

    async def profile(self, scenario: Scenario, requests: int, top: int = 40) -> None:
        """cProfile of `requests` sequential requests (python -m bench.run --profile S2)."""
        authorization = await self.authorization(scenario)
        for _ in range(5):
            await self.send(scenario, authorization)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            await self.send(scenario, authorization)
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(f"{scenario.name}: {requests} requests, {elapsed / requests * 1e6:.0f} µs each under cProfile")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
