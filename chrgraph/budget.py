"""Cost budgets of API consumers: how many objects a consumer's documents may ask for
per minute (a fixed window per consumer, opened by its first request).

The counters live in the `limits` library's storage: Redis when CHRGRAPH_REDIS_URL is
set, so every server process spends from one counter per consumer; this process's
memory otherwise. A request its budget cannot pay for spends nothing."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from limits.aio.storage import MemoryStorage, Storage
from limits.errors import StorageError
from limits.storage import storage_from_string

from chrgraph.telemetry import log

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Charge:
    """One request's cost against its caller's budget. `limit`, `remaining` and
    `reset_at` are None for callers without a budget (sessions, anonymous)."""

    allowed: bool
    requested: int
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # seconds since the epoch

    def report(self) -> dict[str, Any]:
        """`extensions.cost`: requested objects, budget per minute, what is left of it,
        and when it is whole again (ISO 8601, UTC)."""
        reset = None if self.reset_at is None else _instant(math.ceil(self.reset_at))
        return {"requested": self.requested, "limit": self.limit, "remaining": self.remaining, "resetAt": reset}

    def retry_after(self) -> int:
        """Whole seconds until the budget is renewed (at least one)."""
        return max(1, math.ceil((self.reset_at or time.time()) - time.time()))


@lru_cache(maxsize=256)
def _instant(seconds: int) -> str:
    # One window's end is reported to every request of that window: format it once.
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class CostBudgets:
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._storage: Storage | None = None
        # issuer -> end of its current window, as last learned: the window's end is only
        # read back from the storage when another process may have opened it.
        self._resets: dict[str, float] = {}

    def _store(self) -> Storage:
        if self._storage is None:
            if self._redis_url:
                url = self._redis_url if self._redis_url.startswith("async+") else "async+" + self._redis_url
                self._storage = storage_from_string(url, wrap_exceptions=True)  # type: ignore[assignment]
            else:
                self._storage = MemoryStorage()
        assert self._storage is not None
        return self._storage

    async def charge(self, issuer: str, limit: int, cost: int) -> Charge:
        """Spend `cost` from the consumer's budget of `limit` per minute, or nothing when
        what is left cannot pay for it. Keyed by issuer, unique among consumers."""
        storage = self._store()
        key = f"chrgraph/cost/{issuer}"
        try:
            spent = await storage.incr(key, WINDOW_SECONDS, amount=cost)
            now = time.time()
            reset = self._resets.get(issuer)
            if spent == cost:
                reset = now + WINDOW_SECONDS  # this request opened the window
            elif reset is None or reset <= now:
                reset = await storage.get_expiry(key)
            self._resets[issuer] = reset
            if spent > limit:
                if cost:
                    # Refused: it spends nothing (the Redis storage has no decr; a negative
                    # increment is the same atomic INCRBY).
                    await storage.incr(key, WINDOW_SECONDS, amount=-cost)
                return Charge(False, cost, limit, max(limit - (spent - cost), 0), reset)
            return Charge(True, cost, limit, limit - spent, reset)
        except StorageError:
            # The shared counters are out of reach: answer rather than refuse every
            # clinic; each document is still bounded by the cost limit.
            log.warning("cost budget storage unreachable; request not counted", exc_info=True)
            return Charge(True, cost)
