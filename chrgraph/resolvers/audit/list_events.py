"""`auditEvents`: the organization's events, newest first, filtered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chrgraph.auth.principals import Actor

# Newest first: the order of `auditEvents` and the portal's history (and of their cursors).
EVENT_ORDER = ("-seq",)


def audit_events_query(
    actor: Actor,
    *,
    actor_kind: Any = None,
    actor_id: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    query = actor.data.audit_events
    if actor_kind is not None:
        query = query.filter(actor_kind=actor_kind)
    for name, value in (
        ("actor_id", actor_id),
        ("action", action),
        ("target_type", target_type),
        ("target_id", target_id),
    ):
        if value is not None:
            query = query.filter(**{name: value})
    if since is not None:
        query = query.filter(occurred_at__gte=since)
    if until is not None:
        query = query.filter(occurred_at__lt=until)
    return query.order_by(*EVENT_ORDER)
