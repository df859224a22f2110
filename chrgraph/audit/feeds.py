"""The change feeds' order: every patient and appointment carries the sequence number
(and the time) of the audit event of its latest change.

One place sets them: `events.record` calls `stamp` for every event whose target is a
patient or an appointment, in the event's own transaction, right after the chain head
moved. The head row stays locked until that transaction ends (PostgreSQL), or the whole
database is (SQLite write transactions begin IMMEDIATE), so a transaction holding
sequence number n commits before any other is given n + 1: once a reader sees a row
stamped n, every row stamped below n is committed (or rolled back, its number unused).
A feed that resumes after the last number it returned therefore never skips a row, even
one written by a transaction that began long before others that committed first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.models import Model

from chrgraph.db.models import Appointment, Patient

# The rows that carry the sequence of their latest change, by the target type events name.
STAMPED: dict[str, type[Model]] = {"Patient": Patient, "Appointment": Appointment}


async def stamp(
    conn: Any,
    organization_id: int,
    target_type: str,
    public_id: str,
    seq: int,
    occurred_at: datetime,
    row: Any = None,
) -> None:
    """Set the target's `change_seq` and `updated_at` to the event's (one UPDATE), and on
    `row`, the caller's instance of it, when given (so what it answers and any later
    `save` agree with the database)."""
    model = STAMPED.get(target_type)
    if model is None:
        return
    await (
        model.filter(organization_id=organization_id, public_id=public_id)
        .using_db(conn)
        .update(change_seq=seq, updated_at=occurred_at)
    )
    if row is not None:
        row.change_seq, row.updated_at = seq, occurred_at
