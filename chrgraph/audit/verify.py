"""`chrgraph audit verify`: recompute an organization's chain and check every
signed checkpoint against it.

Detected: any event edited, removed or inserted at or before the last checkpoint,
and a chain rewritten with recomputed hashes (its head no longer matches the signed
one). Not detectable, by design of a hash chain: events appended or removed after
the last checkpoint with recomputed hashes (docs/decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chrgraph.audit.chain import event_hash, genesis_hash, hashed_fields
from chrgraph.audit.checkpoint import checkpoint_message, public_key_hex
from chrgraph.db.models import AuditCheckpoint, AuditEvent


@dataclass
class VerifyReport:
    organization_id: int
    events: int = 0
    checkpoints: int = 0
    last_checkpoint_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_chain(organization_id: int, public_key: Ed25519PublicKey) -> VerifyReport:
    report = VerifyReport(organization_id)
    events = await AuditEvent.filter(organization_id=organization_id).order_by("seq", "id")
    report.events = len(events)
    recomputed: dict[int, str] = {0: genesis_hash(organization_id)}
    prev = recomputed[0]
    for position, event in enumerate(events, start=1):
        if event.seq != position:
            report.problems.append(f"event id {event.id}: seq {event.seq} where {position} was expected")
        if event.prev_hash != prev:
            report.problems.append(f"seq {event.seq}: prev_hash does not link to the event before it")
        computed = event_hash(prev, hashed_fields(event))
        if computed != event.hash:
            report.problems.append(f"seq {event.seq}: content does not match its hash")
        recomputed[position] = computed
        prev = computed

    expected_key = public_key_hex(public_key)
    checkpoints = await AuditCheckpoint.filter(organization_id=organization_id).order_by("seq")
    report.checkpoints = len(checkpoints)
    for checkpoint in checkpoints:
        label = f"checkpoint at seq {checkpoint.seq}"
        if checkpoint.public_key != expected_key:
            report.problems.append(f"{label}: signed by another key")
            continue
        try:
            public_key.verify(
                bytes.fromhex(checkpoint.signature),
                checkpoint_message(organization_id, checkpoint.seq, checkpoint.hash, checkpoint.signed_at),
            )
        except (InvalidSignature, ValueError):
            report.problems.append(f"{label}: bad signature")
            continue
        if recomputed.get(checkpoint.seq) != checkpoint.hash:
            report.problems.append(f"{label}: the chain no longer matches the signed head")
        report.last_checkpoint_seq = checkpoint.seq
    return report
