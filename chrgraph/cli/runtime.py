"""What every CLI command shares: the database session, the support actor of an
organization, and typed errors to stderr with a non-zero exit (§10)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

import typer

from chrgraph import instants
from chrgraph.auth.principals import Actor, support_cli_actor
from chrgraph.db.config import close_db, init_db
from chrgraph.db.models import Organization
from chrgraph.resolvers.errors import OperationFailed

T = TypeVar("T")


def run(job: Callable[[], Awaitable[T]]) -> T:
    """Run one command's work with the database open; typed failures exit 1."""

    async def wrapped() -> T:
        await init_db()
        try:
            return await job()
        finally:
            await close_db()

    try:
        return asyncio.run(wrapped())
    except OperationFailed as failed:
        for error in failed.errors:
            where = f" ({'.'.join(error.field)})" if error.field else ""
            typer.echo(f"error: {error.code.value}{where}: {error.message}", err=True)
        raise typer.Exit(1) from None


async def organization(domain: str) -> Organization:
    from chrgraph.resolvers.errors import ErrorCode, fail

    org = await Organization.get_or_none(domain=domain)
    if org is None:
        raise fail(ErrorCode.NOT_FOUND, f"No organization with domain {domain!r}.", "org")
    return org


async def support_actor(domain: str) -> Actor:
    org = await organization(domain)
    return support_cli_actor(org.id)


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
    typer.echo(f"error: {option}: {problem}", err=True)
    raise typer.Exit(2)


def emit(value: Any, as_json: bool, text: str) -> None:
    if as_json:
        json.dump(value, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    else:
        typer.echo(text)
