"""Switching every fence's fast paths on or off, in one call per process (the server's
`create_app`, the CLI, the bench): one `install(settings)` per library fence. A fence
whose libraries are not the versions it was written for stays off, and the process says
so in one warning line instead of failing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chrgraph import otel_engine
from chrgraph.db import engine_sqlite, raw
from chrgraph.settings import Settings
from chrgraph.versions import differences

if TYPE_CHECKING:
    from strawberry import Schema

log = logging.getLogger("chrgraph")


def install(settings: Settings, schema: Schema | None = None) -> dict[str, bool]:
    """Which fast paths are on now, by fence (the GraphQL engine's only with a schema)."""
    state = {
        "sqlite": engine_sqlite.install(settings),
        "tortoise": raw.install(settings),
        "opentelemetry": otel_engine.install(settings),
    }
    written_for = [engine_sqlite.WRITTEN_FOR, raw.WRITTEN_FOR, otel_engine.WRITTEN_FOR]
    if schema is not None:
        from chrgraph import graphql_engine  # strawberry and graphql-core: the server's only

        state["graphql"] = graphql_engine.install(settings, schema)
        written_for.append(graphql_engine.WRITTEN_FOR)
    if settings.fast_paths:
        found = sorted({d for versions in written_for for d in differences(versions)})
        if found:
            off = ", ".join(name for name, on in state.items() if not on)
            log.warning("fast paths off (%s): installed %s", off, "; ".join(found))
    return state
