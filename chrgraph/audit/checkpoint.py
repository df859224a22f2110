"""Signed checkpoints of each audit chain head (§8): Ed25519, with a key kept in a
file outside the database, stored in the database and written to the application
log (outside the database) too."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chrgraph.audit.chain import timestamp
from chrgraph.db.models import AuditChainHead, AuditCheckpoint
from chrgraph.db.transactions import atomic
from chrgraph.telemetry import log


def load_signing_key(path: str) -> Ed25519PrivateKey:
    """Read the key; create it (mode 0600) on first use so a fresh install just works."""
    file = Path(path)
    if not file.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        log.warning("created a new audit signing key at %s: keep it outside the database", file)
        return key
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_public_key(path: str) -> Ed25519PublicKey:
    data = Path(path).read_bytes()
    text = data.decode("ascii", "replace").strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower()):
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        assert isinstance(private, Ed25519PrivateKey)
        return private.public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def checkpoint_message(organization_id: int, seq: int, chain_hash: str, signed_at: datetime) -> bytes:
    return f"chrgraph-audit-checkpoint:v1:{organization_id}:{seq}:{chain_hash}:{timestamp(signed_at)}".encode()


async def sign_checkpoints(key_path: str, organization_id: int | None = None) -> list[AuditCheckpoint]:
    """Sign every chain head that moved since its last checkpoint."""
    key = load_signing_key(key_path)
    public = public_key_hex(key.public_key())
    heads = AuditChainHead.all() if organization_id is None else AuditChainHead.filter(organization_id=organization_id)
    made = []
    for head in await heads:
        last = await AuditCheckpoint.filter(organization_id=head.organization_id).order_by("-seq").first()
        if last is not None and last.seq == head.seq:
            continue
        signed_at = datetime.now(UTC)
        signature = key.sign(checkpoint_message(head.organization_id, head.seq, head.hash, signed_at)).hex()
        async with atomic() as conn:
            checkpoint = await AuditCheckpoint.create(
                organization_id=head.organization_id,
                seq=head.seq,
                hash=head.hash,
                signed_at=signed_at,
                public_key=public,
                signature=signature,
                using_db=conn,
            )
        log.info(
            "audit checkpoint %s",
            json.dumps(
                {
                    "organization_id": head.organization_id,
                    "seq": head.seq,
                    "hash": head.hash,
                    "signed_at": timestamp(signed_at),
                    "public_key": public,
                    "signature": signature,
                }
            ),
        )
        made.append(checkpoint)
    return made
