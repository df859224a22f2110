"""The server's scheduled jobs (audit checkpoints, purges, license jobs, the outbox) run
beside requests in the same process. Their statements belong to no request: a statement
count taken around a request, or a fault a test arms for a request's writes, must never
see them. (A checkpoint signed ten minutes into a run once landed inside three tests'
statement counts.)"""

from __future__ import annotations

import asyncio

from tortoise import connections

from chrgraph.app import every
from chrgraph.db import hooks


async def _select_one() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def test_a_scheduled_job_s_statements_are_not_counted_for_a_request_beside_it(client):
    runs, five_runs = 0, asyncio.Event()

    async def job() -> None:
        nonlocal runs
        await _select_one()
        runs += 1
        if runs == 5:
            five_runs.set()

    counter = hooks.count_statements()
    task = asyncio.create_task(every(0.005, job, "test job"))
    try:
        await asyncio.wait_for(five_runs.wait(), 30)
        await _select_one()  # the "request": counted
    finally:
        task.cancel()
        hooks.stop_counting(counter)
    assert counter.statements == ["SELECT 1"]


async def test_a_fault_armed_for_a_request_never_fires_in_a_scheduled_job(client):
    runs, five_runs = 0, asyncio.Event()

    async def job() -> None:
        nonlocal runs
        await connections.get("default").execute_query("SELECT 2")
        runs += 1
        if runs == 5:
            five_runs.set()

    hooks.arm_fault(hooks.FaultPlan(fail_at=1, reads=True))
    task = asyncio.create_task(every(0.005, job, "test job"))
    try:
        await asyncio.wait_for(five_runs.wait(), 30)
    finally:
        task.cancel()
        plan = hooks._fault[0]
        hooks.disarm_fault()
    assert not plan.fired and plan.seen == 0
