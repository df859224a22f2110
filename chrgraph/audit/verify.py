"""`chrgraph audit verify`: check an organization's chain, the checkpoints in the
database and the checkpoints in the anchor file (outside the database) against each
other.

Detected: any event edited, removed or inserted at or before the newest checkpoint
(in the database or in the anchor file), a chain rewritten with recomputed hashes (the
signed heads no longer match it), checkpoints removed from the database (the anchor
file still has them) and anchor lines removed (the database still has them). Not
detectable, by design of a hash chain: events appended or removed after the newest
checkpoint with recomputed hashes (docs/decisions.md).

Each kind of inconsistency is reported once: its first occurrence and how many more."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chrgraph.audit.anchor import Anchor
from chrgraph.audit.chain import event_hash, genesis_hash, hashed_fields
from chrgraph.audit.checkpoint import checkpoint_message, public_key_hex
from chrgraph.db.models import AuditCheckpoint, AuditEvent


class CannotVerify(Exception):
    """The check cannot be made (not a finding about the chain): the given key signed
    none of the organization's checkpoints. One line."""


@dataclass
class VerifyReport:
    organization_id: int
    events: int = 0
    checkpoints: int = 0
    anchored: int = 0
    last_checkpoint_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Seen:
    """One signed checkpoint, from the database, the anchor file or both."""

    seq: int
    hash: str
    signed_at: datetime
    public_key: str
    signature: str
    in_database: bool = False
    in_anchor: bool = False


class _Findings:
    """Inconsistencies by kind, in the order found: one report line per kind."""

    def __init__(self) -> None:
        self._kinds: dict[str, list[str]] = {}

    def add(self, kind: str, line: str) -> None:
        self._kinds.setdefault(kind, []).append(line)

    def lines(self) -> list[str]:
        return [first + (f" (and {len(rest)} more like it)" if rest else "") for first, *rest in self._kinds.values()]


async def verify_chain(
    organization_id: int, public_key: Ed25519PublicKey, anchor: Anchor | None = None
) -> VerifyReport:
    """Check the chain, then every checkpoint against it. Without `anchor`, the database
    alone (what the server can check of itself); the CLI always passes the anchor file."""
    report = VerifyReport(organization_id)
    findings = _Findings()
    events = await AuditEvent.filter(organization_id=organization_id).order_by("seq", "id")
    report.events = len(events)
    # Each link is checked against the stored event before it, so one edited event is one
    # broken link, not a cascade through every later event.
    stored: dict[int, str] = {0: genesis_hash(organization_id)}
    expected, prev = 1, stored[0]
    for event in events:
        if event.seq != expected:
            if event.seq > expected:
                findings.add("chain", f"seq {expected}: missing, the chain jumps to seq {event.seq}")
            else:
                findings.add("chain", f"seq {event.seq}: out of order or repeated (after seq {expected - 1})")
        elif event.prev_hash != prev:
            findings.add("chain", f"seq {event.seq}: does not link to the event before it")
        elif event_hash(event.prev_hash, hashed_fields(event)) != event.hash:
            findings.add("chain", f"seq {event.seq}: content does not match its hash")
        stored.setdefault(event.seq, event.hash)
        expected, prev = max(expected, event.seq + 1), event.hash

    seen: dict[tuple[int, str], _Seen] = {}
    for row in await AuditCheckpoint.filter(organization_id=organization_id).order_by("seq", "id"):
        item = seen.setdefault(
            (row.seq, row.signature), _Seen(row.seq, row.hash, row.signed_at, row.public_key, row.signature)
        )
        item.in_database = True
        report.checkpoints += 1
    for entry in anchor.entries if anchor else []:
        item = seen.setdefault(
            (entry["seq"], entry["signature"]),
            _Seen(
                entry["seq"],
                entry["hash"],
                datetime.fromisoformat(entry["signed_at"]),
                entry["public_key"],
                entry["signature"],
            ),
        )
        if item.hash != entry["hash"]:  # the same signature over another head: one is forged
            findings.add("disagree", f"checkpoint at seq {item.seq}: the database and the anchor file disagree")
        item.in_anchor = True
        report.anchored += 1

    expected_key = public_key_hex(public_key)
    legacy = 0
    if seen and all(item.public_key != expected_key for item in seen.values()):
        others = sorted({item.public_key for item in seen.values()})
        raise CannotVerify(
            f"none of the {len(seen)} checkpoint(s) of this organization was signed by the given key "
            f"({expected_key[:16]}…); they name {', '.join(k[:16] + '…' for k in others)}: "
            "pass the public key that signed them with --public-key"
        )
    for item in sorted(seen.values(), key=lambda i: i.seq):
        label = f"checkpoint at seq {item.seq}"
        if item.public_key != expected_key:
            findings.add("key", f"{label}: signed by another key")
            continue
        try:
            public_key.verify(
                bytes.fromhex(item.signature),
                checkpoint_message(organization_id, item.seq, item.hash, item.signed_at),
            )
        except (InvalidSignature, ValueError):
            findings.add("signature", f"{label}: bad signature")
            continue
        if item.seq not in stored:
            findings.add("beyond", f"{label}: beyond the end of the chain (seq {expected - 1}), events were removed")
        elif stored[item.seq] != item.hash:
            findings.add("rewritten", f"{label}: the chain no longer matches the signed head")
        if anchor is not None and not item.in_database:
            findings.add("deleted", f"{label}: in the anchor file but removed from the database")
        if anchor is not None and not item.in_anchor:
            if anchor.created_at is None or item.signed_at >= anchor.created_at:
                findings.add("unanchored", f"{label}: in the database but missing from the anchor file")
            else:
                legacy += 1
        report.last_checkpoint_seq = max(report.last_checkpoint_seq or 0, item.seq)
    report.problems = (anchor.problems if anchor else []) + findings.lines()
    if legacy:
        report.notes.append(f"{legacy} checkpoint(s) predate the anchor file: checked in the database only")
    if not seen:
        report.notes.append(f"no checkpoint yet: the chain is verified up to its head (seq {expected - 1}), unsigned")
    return report
