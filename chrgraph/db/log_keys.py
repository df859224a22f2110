"""The API log's content (query text, variables, response body) is encrypted at rest
with AES-256-GCM, under a key ring kept in a file outside the database, so that a copy of
the database alone reveals no patient data.

The key file holds one key a line, `<key id> <key, base64>`, oldest first; the newest
encrypts, every one decrypts, so a rotation (a line appended) leaves old rows readable.
A key's id is derived from the key (the first 16 hex digits of its SHA-256), stored on
each row beside its ciphertext. Each row's ciphertext is bound to the row's public id
(associated data): content moved onto another row does not decrypt."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chrgraph.db.config import dialect, sqlite_file
from chrgraph.settings import SettingError, Settings, get_settings
from chrgraph.telemetry import log

KEY_SETTING = "CHRGRAPH_LOG_ENCRYPTION_KEY"
DEFAULT_KEY_NAME = "chrgraph-log-encryption.key"
_NONCE = 12
# How long a process trusts the key file it read before looking at it again (a rotation
# by `chrgraph logs rotate-key` reaches running servers within this time).
_RECHECK_SECONDS = 5.0


class LogKeyError(Exception):
    """The key file is missing, unreadable or malformed, or a row names a key the file
    does not hold; the message is one line naming the file."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


# What a ciphertext is for, bound into it with its row's public id: an API-log row's
# content never decrypts as a stored idempotent answer or a TOTP secret, nor the reverse.
API_LOG_PURPOSE = b"chrgraph-api-log:v1:"
IDEMPOTENT_ANSWER = b"chrgraph-idempotent-answer:v1:"
# Users' TOTP secrets are sealed with the same ring, bound to the user's public id.
TOTP_PURPOSE = b"chrgraph-totp-secret:v1:"


def _aad(public_id: str, purpose: bytes = API_LOG_PURPOSE) -> bytes:
    return purpose + public_id.encode()


@dataclass(frozen=True)
class KeyRing:
    path: Path
    keys: dict[str, bytes]  # id -> key, in file order (oldest first)
    newest: str

    def seal(self, public_id: str, plaintext: bytes, purpose: bytes = API_LOG_PURPOSE) -> tuple[str, str]:
        """(key id, base64 of nonce and ciphertext) under the newest key."""
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self.keys[self.newest]).encrypt(nonce, plaintext, _aad(public_id, purpose))
        return self.newest, base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, public_id: str, key: str, content: str, purpose: bytes = API_LOG_PURPOSE) -> bytes:
        secret = self.keys.get(key)
        if secret is None:
            raise LogKeyError(f"the log encryption key file {self.path} has no key {key!r}")
        data = base64.b64decode(content)
        try:
            return AESGCM(secret).decrypt(data[:_NONCE], data[_NONCE:], _aad(public_id, purpose))
        except InvalidTag:
            what = "an API log row" if purpose == API_LOG_PURPOSE else "a sealed secret"
            raise LogKeyError(f"{what} ({public_id}) does not decrypt with key {key!r}") from None


def key_ring_path(settings: Settings, database_url: str | None = None) -> Path:
    """The key file every process uses for one database: the setting, or beside the SQLite
    file by default; with PostgreSQL the setting is required."""
    if settings.log_encryption_key:
        return Path(settings.log_encryption_key)
    url = database_url or settings.database_url
    if dialect(url) == "sqlite":
        file = sqlite_file(url)
        return (file.parent if file else Path()) / DEFAULT_KEY_NAME
    raise SettingError(KEY_SETTING, "must name the API log encryption key file when the database is PostgreSQL")


def _new_line() -> tuple[str, str]:
    key = AESGCM.generate_key(bit_length=256)
    return key_id(key), f"{key_id(key)} {base64.b64encode(key).decode('ascii')}\n"


def load_key_ring(path: str | Path, *, create: bool = False) -> KeyRing:
    """Read the key file. Only the server, `chrgraph migrate` and `chrgraph logs
    rotate-key` pass `create`: they make a missing file (mode 0600) with one key."""
    file = Path(path)
    if not file.exists():
        if not create:
            raise LogKeyError(
                f"no API log encryption key at {file}: start the server or run `chrgraph migrate` "
                f"to create it, or set {KEY_SETTING} to the key file"
            )
        _, line = _new_line()
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_key_ring(file)
        except OSError as exc:
            raise LogKeyError(f"cannot create the API log encryption key at {file}: {exc.strerror}") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(line)
        log.warning("created a new API log encryption key at %s: keep it outside the database", file)
    try:
        text = file.read_text("ascii")
    except (OSError, UnicodeError) as exc:
        problem = getattr(exc, "strerror", None) or "not a key file"
        raise LogKeyError(f"cannot read the API log encryption key file {file}: {problem}") from None
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            name, encoded = line.split()
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            key, name = b"", ""
        if len(key) != 32 or name != key_id(key):  # never echo what the file holds
            raise LogKeyError(f"line {number} of the API log encryption key file {file} is not a key")
        keys[name] = key
    if not keys:
        raise LogKeyError(f"the API log encryption key file {file} holds no key")
    return KeyRing(file, keys, next(reversed(keys)))


def rotate(path: str | Path) -> KeyRing:
    """Append a new key (it encrypts from now on); make the file if it is missing."""
    file = Path(path)
    if not file.exists():
        return load_key_ring(file, create=True)
    load_key_ring(file)  # a malformed file stops before it is appended to
    _, line = _new_line()
    with open(file, "a", encoding="ascii") as handle:
        handle.write(line)
    ring = load_key_ring(file)
    log.warning("rotated the API log encryption key at %s: new rows use key %s", file, ring.newest)
    return ring


class _Current:
    """This process's key ring, re-read when the file changes (checked every few seconds)."""

    def __init__(self) -> None:
        self._ring: KeyRing | None = None
        self._stamp: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def install(self, ring: KeyRing | None) -> None:
        with self._lock:
            self._ring, self._checked = ring, time.monotonic()
            self._stamp = _mtime(ring.path) if ring is not None else None

    def get(self, *, fresh: bool = False) -> KeyRing:
        ring = self._ring
        now = time.monotonic()
        if ring is not None and not fresh and now - self._checked < _RECHECK_SECONDS:
            return ring
        with self._lock:
            path = ring.path if ring is not None else key_ring_path(get_settings())
            stamp = _mtime(path)
            if ring is None or stamp != self._stamp:
                ring = load_key_ring(path)
                self._ring, self._stamp = ring, stamp
            self._checked = now
            return ring


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


current = _Current()


def open_content(public_id: str, key: str, content: str, purpose: bytes = API_LOG_PURPOSE) -> bytes:
    """Decrypt one row's content with this process's key ring (re-read once when the row
    names a key it has not seen: a rotation by another process)."""
    ring = current.get()
    if key not in ring.keys:
        ring = current.get(fresh=True)
    return ring.open(public_id, key, content, purpose)
