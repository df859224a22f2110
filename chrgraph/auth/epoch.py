"""Revocation that crosses processes (refused on the next request of the
process that made the change, within one second in every other).

A change that revokes credentials declares it on its transaction
(`atomic(revokes_credentials=True)`, chrgraph/db/transactions.py), which bumps one
counter row before the commit and clears this process's caches after it. Every process
re-reads the counter at most every `auth_epoch_poll_seconds` (0.5 s) and drops its
caches when it moved."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chrgraph.db.models import AuthEpoch
from chrgraph.db.transactions import after_revocation
from chrgraph.settings import get_settings

_clearers: list[Callable[[], None]] = []
_state: dict[str, Any] = {"epoch": None, "checked": 0.0}


def register_cache(clear: Callable[[], None]) -> None:
    _clearers.append(clear)


def clear_local() -> None:
    """Drop every credential cache of this process (a revoking transaction does, after
    its commit)."""
    for clear in _clearers:
        clear()
    _state["checked"] = 0.0


after_revocation(clear_local)


async def refresh_if_due() -> None:
    now = time.monotonic()
    if now - _state["checked"] < get_settings().auth_epoch_poll_seconds:
        return
    _state["checked"] = now
    row = await AuthEpoch.filter(id=1).values_list("value", flat=True)
    value = row[0] if row else 0
    if value != _state["epoch"]:
        for clear in _clearers:
            clear()
        _state["epoch"] = value
