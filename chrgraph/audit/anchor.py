"""The anchor file: every signed checkpoint appended, one JSON line each, to a file
outside the database. Someone who can rewrite the database (drop the append-only
triggers, edit an event, recompute the hashes, delete the checkpoint rows) cannot
rewrite this file too, so `chrgraph audit verify` compares the chain with it.

The file starts with a header line saying when it was made: checkpoints signed before
then (an installation older than the anchor file) are not expected in it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ANCHOR_SETTING = "CHRGRAPH_AUDIT_ANCHOR_FILE"
DEFAULT_ANCHOR_NAME = "chrgraph-audit-anchors.jsonl"
_HEADER_KEY = "chrgraph_audit_anchor"
_FIELDS = ("organization_id", "seq", "hash", "signed_at", "public_key", "signature")


class AnchorFileError(Exception):
    """The anchor file is missing or cannot be read or written; the message is one line
    naming the file and the setting."""


def _missing(path: Path) -> AnchorFileError:
    return AnchorFileError(
        f"no audit anchor file at {path}: create it with `chrgraph audit init`, or set {ANCHOR_SETTING} to it"
    )


def create_anchor_file(path: Path) -> bool:
    """Make the file with its header if it is missing (`serve`, `migrate`, `audit init`
    only); returns whether it was made. An existing file is kept as it is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise AnchorFileError(f"cannot create the audit anchor file at {path}: {exc.strerror}") from None
    header = {_HEADER_KEY: 1, "created_at": datetime.now(UTC).isoformat(timespec="microseconds")}
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(header) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def require_anchor_file(path: Path) -> None:
    if not path.is_file():
        raise _missing(path)


def append_anchor(path: Path, entry: dict[str, Any]) -> None:
    """Append one checkpoint as one line, durably. Never creates the file: a checkpoint
    written to a new file in the wrong place would be one nobody compares."""
    line = (json.dumps({name: entry[name] for name in _FIELDS}, separators=(",", ":")) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise AnchorFileError(f"cannot write the audit anchor file {path}: {exc.strerror}") from None
    try:
        os.write(fd, line)  # one write with O_APPEND: lines of several processes never mix
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Anchor:
    """What the file holds for one organization."""

    created_at: datetime | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_anchor(path: Path, organization_id: int) -> Anchor:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise _missing(path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise AnchorFileError(f"cannot read the audit anchor file {path}: {reason}") from None
    anchor = Anchor(created_at=None)
    unreadable: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            if number == 1 and isinstance(value, dict) and _HEADER_KEY in value:
                anchor.created_at = datetime.fromisoformat(value["created_at"])
                continue
            entry = {name: value[name] for name in _FIELDS}
            datetime.fromisoformat(entry["signed_at"])
        except (ValueError, KeyError, TypeError):
            unreadable.append(number)
            continue
        if entry["organization_id"] == organization_id:
            anchor.entries.append(entry)
    if anchor.created_at is None:
        anchor.problems.append(f"the anchor file {path} lost its first line (the header)")
    if unreadable:
        more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        anchor.problems.append(f"anchor file line {unreadable[0]} is not a checkpoint{more}")
    return anchor
