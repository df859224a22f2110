"""The server's "now" for rules that the calendar alone changes (a trainee's access
14 days after the end of training, a locum's period): they read it here, so a test
can move it instead of waiting for a date to pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: list[Callable[[], datetime]] = []


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return _source[-1]() if _source else datetime.now(UTC)


def set_source(source: Callable[[], datetime] | None) -> None:
    """Read "now" from `source` (None: the system clock again). For tests."""
    _source.clear()
    if source is not None:
        _source.append(source)
