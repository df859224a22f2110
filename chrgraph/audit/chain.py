"""The hash that links an organization's audit events."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any


def genesis_hash(organization_id: int) -> str:
    return hashlib.sha256(f"chrgraph-audit-genesis:{organization_id}".encode()).hexdigest()


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def hashed_fields(event: Any) -> dict[str, Any]:
    """What the hash covers: every column of the event but its id and hashes. A column
    added later is covered only when it holds a value, so the events written before it
    existed keep their hashes."""
    fields = {
        "organization_id": event.organization_id,
        "seq": event.seq,
        "occurred_at": timestamp(event.occurred_at),
        "actor_kind": getattr(event.actor_kind, "value", event.actor_kind),
        "actor_id": event.actor_id,
        "consumer_id": event.consumer_id,
        "request_id": event.request_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "changes": event.changes,
    }
    for later in ("actor_key_fingerprint", "client_request_id"):
        value = getattr(event, later, None)
        if value is not None:
            fields[later] = value
    return fields
