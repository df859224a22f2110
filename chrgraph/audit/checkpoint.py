"""Signed checkpoints of each audit chain head: Ed25519, with a key kept in a
file outside the database, stored in the database, appended to the anchor file
(outside the database, chrgraph/audit/anchor.py) and written to the application log."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chrgraph.audit.anchor import ANCHOR_SETTING, DEFAULT_ANCHOR_NAME, append_anchor, require_anchor_file
from chrgraph.audit.chain import timestamp
from chrgraph.db.config import dialect, sqlite_file
from chrgraph.db.models import AuditChainHead, AuditCheckpoint
from chrgraph.db.transactions import atomic
from chrgraph.settings import SettingError, Settings
from chrgraph.telemetry import log

KEY_SETTING = "CHRGRAPH_AUDIT_SIGNING_KEY"
DEFAULT_KEY_NAME = "chrgraph-audit-signing.key"


class SigningKeyError(Exception):
    """The audit signing key (or a public key given to check against) is missing,
    unreadable or not an Ed25519 key; the message is one line naming the file."""


@dataclass(frozen=True)
class AuditFiles:
    """The two files outside the database that make the audit chain checkable: the
    signing key and the anchor file every checkpoint is appended to."""

    key: Path
    anchor: Path


def audit_files(settings: Settings) -> AuditFiles:
    """The one resolution of the key and anchor files, for the server and every command:
    the settings, or beside the SQLite file by default. A PostgreSQL database has no file
    to sit beside (and several servers share it), so there both settings are required."""
    postgres = dialect(settings.database_url) != "sqlite"
    for variable, value in ((KEY_SETTING, settings.audit_signing_key), (ANCHOR_SETTING, settings.audit_anchor_file)):
        if postgres and not value:
            raise SettingError(variable, "is required when the database is PostgreSQL (a file outside the database)")
    folder = Path()
    if not postgres:
        file = sqlite_file(settings.database_url)
        folder = file.parent if file else Path()
    return AuditFiles(
        key=Path(settings.audit_signing_key) if settings.audit_signing_key else folder / DEFAULT_KEY_NAME,
        anchor=Path(settings.audit_anchor_file) if settings.audit_anchor_file else folder / DEFAULT_ANCHOR_NAME,
    )


def signing_key_path(settings: Settings) -> Path:
    return audit_files(settings).key


def load_signing_key(path: str | Path, *, create: bool = False) -> Ed25519PrivateKey:
    """Read the key. Only the server, `chrgraph migrate` and `chrgraph audit init` pass
    `create`: they make a missing key (mode 0600); anything else stops, since a key made
    in the wrong place would sign checkpoints nobody can check."""
    file = Path(path)
    if not file.exists():
        if not create:
            raise SigningKeyError(
                f"no audit signing key at {file}: create it with `chrgraph audit init`, "
                f"or set {KEY_SETTING} to the key file"
            )
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_signing_key(file)
        except OSError as exc:
            raise SigningKeyError(f"cannot create the audit signing key at {file}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        log.warning("created a new audit signing key at %s: keep it outside the database", file)
        return key
    loaded = _load_key_file(file, private=True)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a file: 64 hex digits, a PEM public key, or the PEM
    private key itself."""
    file = Path(path)
    if not file.exists():
        raise SigningKeyError(f"no key file at {file}")
    key = _load_key_file(file, private=False)
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def _load_key_file(file: Path, *, private: bool) -> Ed25519PrivateKey | Ed25519PublicKey:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the key file {file}: {exc.strerror}") from None
    wanted = "an Ed25519 private key (PEM)" if private else "an Ed25519 key (64 hex digits or PEM)"
    key: object = None
    try:
        text = data.decode("ascii").strip()
        if not private and len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower()):
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None)
        elif not private:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # never echo what the file holds
        key = None
    if isinstance(key, Ed25519PrivateKey) or (not private and isinstance(key, Ed25519PublicKey)):
        return key
    raise SigningKeyError(f"the key file {file} is not {wanted}")


def checkpoint_message(organization_id: int, seq: int, chain_hash: str, signed_at: datetime) -> bytes:
    return f"chrgraph-audit-checkpoint:v1:{organization_id}:{seq}:{chain_hash}:{timestamp(signed_at)}".encode()


async def sign_checkpoints(
    files: AuditFiles, organization_id: int | None = None, *, min_interval: float | None = None
) -> list[AuditCheckpoint]:
    """Sign every chain head that moved since its last checkpoint; with `min_interval`
    (the schedule), only those whose last checkpoint is at least that old, so that several
    server processes sharing the database make one checkpoint per interval between them.

    Each organization's checkpoint is claimed under its chain head's lock (`FOR UPDATE`;
    SQLite's write transactions are `IMMEDIATE`): a second process waits, then sees the
    checkpoint made and skips. The anchor line is written inside that transaction, after
    the row: a failed append leaves no row that the anchor file lacks."""
    key = load_signing_key(files.key)
    require_anchor_file(files.anchor)
    public = public_key_hex(key.public_key())
    heads = AuditChainHead.all() if organization_id is None else AuditChainHead.filter(organization_id=organization_id)
    made = []
    for head_row in await heads:
        org_id = head_row.organization_id
        async with atomic() as conn:
            head = await AuditChainHead.filter(organization_id=org_id).using_db(conn).select_for_update().get()
            last = await AuditCheckpoint.filter(organization_id=org_id).using_db(conn).order_by("-seq", "-id").first()
            signed_at = datetime.now(UTC)
            if last is not None and last.seq == head.seq:
                continue
            if min_interval and last is not None and (signed_at - last.signed_at).total_seconds() < 0.9 * min_interval:
                continue  # another process signed this interval's checkpoint
            signature = key.sign(checkpoint_message(org_id, head.seq, head.hash, signed_at)).hex()
            checkpoint = await AuditCheckpoint.create(
                organization_id=org_id,
                seq=head.seq,
                hash=head.hash,
                signed_at=signed_at,
                public_key=public,
                signature=signature,
                using_db=conn,
            )
            entry = {
                "organization_id": org_id,
                "seq": head.seq,
                "hash": head.hash,
                "signed_at": timestamp(signed_at),
                "public_key": public,
                "signature": signature,
            }
            await asyncio.to_thread(append_anchor, files.anchor, entry)
        log.info("audit checkpoint %s", json.dumps(entry))
        made.append(checkpoint)
    return made
