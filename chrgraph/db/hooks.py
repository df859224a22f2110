"""Observers of every SQL statement the ORM sends: counting (tests, bench), tracing
spans, and fault injection (tests arm a failure on the Nth write, or the Nth statement)."""

from __future__ import annotations

import contextvars
import os
import signal
from dataclasses import dataclass, field

from chrgraph.telemetry import Tracer

_tracer = Tracer("chrgraph.db")  # an error leaves its type on the span, never its message

_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class InjectedFault(RuntimeError):
    """Raised by an armed fault: stands for the database failing mid-transaction."""


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@dataclass
class FaultPlan:
    """Fail the `fail_at`-th write statement (1-based) whose SQL contains `match`; with
    `reads`, any statement (SELECTs too), so a test can make a query fail unexpectedly.
    `message` is the exception's text (e.g. a driver error that echoes a value).
    Statements containing any of `exclude` (e.g. "api_log": the API-log writer's own
    transaction) are neither counted nor failed. With `crash`, the process kills itself
    (SIGKILL) instead of raising: a crash at that exact point, for a server a test runs."""

    fail_at: int
    match: str = ""
    reads: bool = False
    message: str | None = None
    exclude: tuple[str, ...] = ()
    crash: bool = False
    seen: int = 0
    fired: bool = False


_counters: contextvars.ContextVar[tuple[StatementCounter, ...]] = contextvars.ContextVar(
    "chrgraph_sql_counters", default=()
)
_global_counters: list[StatementCounter] = []
_fault: list[FaultPlan] = []
# A background job of the server (the webhook delivery worker, the scheduled jobs): its
# statements belong to no request, so the process-wide counters and armed faults leave them alone.
_background: contextvars.ContextVar[bool] = contextvars.ContextVar("chrgraph_sql_background", default=False)


def run_in_background() -> None:
    """Mark the current task (and the tasks it starts) as a background job."""
    _background.set(True)


def count_statements() -> StatementCounter:
    """Start counting every statement of this process until `stop_counting`."""
    counter = StatementCounter()
    _global_counters.append(counter)
    return counter


def stop_counting(counter: StatementCounter) -> None:
    if counter in _global_counters:
        _global_counters.remove(counter)


def arm_fault(plan: FaultPlan) -> None:
    _fault.clear()
    _fault.append(plan)


def disarm_fault() -> None:
    _fault.clear()


def is_write(sql: str) -> bool:
    head = sql.lstrip().upper()
    return head.startswith(_WRITE_VERBS) or (head.startswith("WITH") and "INSERT" in head)


def before_statement(sql: str) -> None:
    if _background.get():
        return
    for counter in _global_counters:
        counter.statements.append(sql)
    for counter in _counters.get():
        counter.statements.append(sql)
    if _fault and (_fault[0].reads or is_write(sql)):
        plan = _fault[0]
        lowered = sql.lower()
        excluded = any(part.lower() in lowered for part in plan.exclude)
        if plan.match.lower() in lowered and not excluded and not plan.fired:
            plan.seen += 1
            if plan.seen == plan.fail_at:
                plan.fired = True
                if plan.crash:
                    os.kill(os.getpid(), signal.SIGKILL)
                kind = "statement" if plan.reads else "write"
                raise InjectedFault(plan.message or f"injected fault on {kind} #{plan.fail_at}")


def statement_span(sql: str):
    """A child span per statement: the verb only, never the text or the values."""
    verb = sql.lstrip().split(" ", 1)[0].upper() if sql.strip() else "SQL"
    return _tracer.start_as_current_span(f"db {verb}", attributes={"db.operation": verb})
