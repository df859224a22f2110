"""What every CLI command shares: the database session, the support actor of an
organization, and output for people or scripts. Failures are raised, and reported by
the boundary (chrgraph.cli.boundary)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from chrgraph import fast_paths, instants
from chrgraph.auth.principals import Actor, operator_actor, support_cli_actor
from chrgraph.cli.boundary import CommandFailed
from chrgraph.db.config import close_db, open_database
from chrgraph.db.models import Organization
from chrgraph.settings import get_settings

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")


def run(job: Callable[[], Awaitable[T]], *, create: bool = False) -> T:
    """Run one command's work with the database open. Only the commands that set up a
    database (`migrate`, `serve`, `demo`) pass `create`; every other one stops when
    there is no database rather than making an empty one."""

    async def wrapped() -> T:
        fast_paths.install(get_settings())  # the same fast paths as the server, or none
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
    """The organization's support account: what `consumers`, `logs` and `webhooks` act as."""
    org = await organization(domain)
    return support_cli_actor(org.id)


async def operator_of(domain: str) -> Actor:
    """The operator: what every other command acts as (the support account's rights,
    audited as the system)."""
    org = await organization(domain)
    return operator_actor(org.id)


INSTANT_HELP = (
    "ISO 8601: 2027-01-11T12:00:00-05:00 or …Z; without an offset, UTC; a date alone is its "
    "first instant in UTC. 1900-01-01 to 2199-12-31."
)


def instant_option(value: str | None, option: str) -> datetime | None:
    """An option holding an instant, in UTC, parsed as the API parses one (the operator
    may leave out the offset: UTC, as the help says); a bad value exits 2 with one line."""
    if value is None:
        return None
    try:
        return instants.parse_instant(value, naive_is_utc=True)
    except ValueError as exc:
        _bad_option(option, exc)


def date_option(value: str | None, option: str) -> date | None:
    """An option holding a calendar date (YYYY-MM-DD), checked as the API checks one."""
    if value is None:
        return None
    try:
        return instants.parse_date(value)
    except ValueError as exc:
        _bad_option(option, exc)


def _bad_option(option: str, problem: ValueError) -> NoReturn:
    head, *rest = option.lstrip("-").split("-")
    raise CommandFailed("INVALID_USAGE", str(problem), head + "".join(part.title() for part in rest))


def progress_bar(quiet: bool = False) -> Progress:
    """A transient bar on stderr, and only on a terminal: stdout stays the command's
    output alone (a script reads it), and a log file gets no control characters."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(transient=True, console=Console(stderr=True), disable=quiet or not sys.stderr.isatty())


def shown(value: Any) -> str:
    """One value as the commands print it: dates and instants in ISO 8601 (with the
    `T` and the offset, as the API writes them), anything else as text."""
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def emit(value: Any, as_json: bool, text: str) -> None:
    if as_json:
        json.dump(value, sys.stdout, default=shown, indent=2)
        sys.stdout.write("\n")
    else:
        typer.echo(text)
