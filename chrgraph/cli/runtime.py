"""What every CLI command shares: the database session, the support actor of an
organization, and output for people or scripts. Failures are raised, and reported by
the boundary (chrgraph.cli.boundary)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from chrgraph.auth.principals import Actor, support_cli_actor
from chrgraph.db.config import close_db, open_database
from chrgraph.db.models import Organization

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")


def run(job: Callable[[], Awaitable[T]], *, create: bool = False) -> T:
    """Run one command's work with the database open. Only the commands that set up a
    database (`migrate`, `serve`, `demo`) pass `create`; every other one stops when
    there is no database rather than making an empty one."""

    async def wrapped() -> T:
        await open_database(create=create)
        try:
            return await job()
        finally:
            await close_db()

    return asyncio.run(wrapped())


async def organization(domain: str) -> Organization:
    from chrgraph.resolvers.errors import ErrorCode, fail

    org = await Organization.get_or_none(domain=domain)
    if org is None:
        raise fail(ErrorCode.NOT_FOUND, f"No organization with domain {domain!r}.", "org")
    return org


async def support_actor(domain: str) -> Actor:
    org = await organization(domain)
    return support_cli_actor(org.id)


def progress_bar(quiet: bool = False) -> Progress:
    """A transient bar on stderr, and only on a terminal: stdout stays the command's
    output alone (a script reads it), and a log file gets no control characters."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(transient=True, console=Console(stderr=True), disable=quiet or not sys.stderr.isatty())


def emit(value: Any, as_json: bool, text: str) -> None:
    if as_json:
        json.dump(value, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    else:
        typer.echo(text)
