"""What the audit and API-log tests share: organizations and consumers made through
the operations, an organization's events in chain order, and the attacker's view of
the database (append-only triggers dropped, then put back as the migration made them)."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
from tortoise import connections

from chrgraph.audit.chain import event_hash, hashed_fields
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, Organization
from chrgraph.resolvers.consumers.manage import create_api_consumer
from tests.databases import backend
from tests.helpers import Vendor, make_organization, public_pem, rsa_key, unique

_append_only = importlib.import_module("chrgraph.db.migrations.0002_append_only_audit")
_checkpoints_append_only = importlib.import_module("chrgraph.db.migrations.0009_checkpoints_append_only")


async def new_organization(**kw: Any) -> Organization:
    """An organization made by `create_organization` (whatever it returns beside it)."""
    made = await make_organization(**kw)
    return getattr(made, "organization", made)


async def new_vendor(client: httpx.AsyncClient, key_index: int = 0) -> Vendor:
    """An organization with one active consumer whose key has the kid `k1`."""
    org = await new_organization()
    key = rsa_key(key_index)
    consumer = await create_api_consumer(
        support_cli_actor(org.id), name=unique("vendor"), public_key=public_pem(key), kid="k1"
    )
    return Vendor(org, consumer, key, client)


async def events_of(organization_id: int) -> list[AuditEvent]:
    return await AuditEvent.filter(organization_id=organization_id).order_by("seq")


async def drop_append_only_triggers() -> None:
    """What an attacker with DDL rights does first."""
    conn = connections.get("default")
    if backend() == "postgres":
        await conn.execute_script("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        await conn.execute_script("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
    else:
        for name in (
            "audit_event_no_update",
            "audit_event_no_delete",
            "audit_checkpoint_no_update",
            "audit_checkpoint_no_delete",
        ):
            await conn.execute_script(f"DROP TRIGGER IF EXISTS {name}")


async def restore_append_only_triggers() -> None:
    """The triggers again, with the migration's own SQL."""
    await drop_append_only_triggers()
    conn = connections.get("default")
    for module in (_append_only, _checkpoints_append_only):
        for sql in module.POSTGRES if backend() == "postgres" else module.SQLITE:
            await conn.execute_script(sql)


def seal(event: AuditEvent, prev_hash: str) -> AuditEvent:
    """Give a (forged) event the hash a genuine append would give it."""
    event.prev_hash = prev_hash
    event.hash = event_hash(prev_hash, hashed_fields(event))
    return event
