"""Every CHRGRAPH_ setting in one typed place (the table in docs/operations.md, "Configuration")."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass, fields
from email.utils import getaddresses
from functools import lru_cache
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# The URL settings and the schemes each accepts.
_URL_SCHEMES = {
    "database_url": ("sqlite", "postgres", "postgresql", "asyncpg"),
    "smtp_url": ("smtp", "smtps"),
    "public_url": ("http", "https"),
    "otlp_endpoint": ("http", "https"),
}


class SettingError(ValueError):
    """A CHRGRAPH_ variable holds a value the process cannot run with; the message is one
    line naming the variable, and never echoes a URL's password."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _parse(name: str, kind: type, raw: str) -> object:
    variable = "CHRGRAPH_" + name.upper()
    text = raw.strip()
    if kind is bool:
        if text.lower() not in _TRUE | _FALSE:
            raise SettingError(variable, f"must be true or false (1/0, yes/no, on/off), not {_shown(raw)}")
        return text.lower() in _TRUE
    if kind is int or kind is float:
        try:
            number = kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise SettingError(variable, f"must be {expected}, not {_shown(raw)}") from None
        if not math.isfinite(number) or number < 0:
            raise SettingError(variable, f"must be a finite number of at least 0, not {_shown(raw)}")
        return number
    schemes = _URL_SCHEMES.get(name)
    if schemes and text:
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise SettingError(variable, "is not a valid URL") from None
        if parts.scheme not in schemes:
            raise SettingError(variable, f"must start with {' or '.join(s + '://' for s in schemes)}")
    if name == "public_url" and not urlsplit(text).hostname:
        raise SettingError(variable, f"must be an http:// or https:// URL with a host, not {_shown(raw)}")
    if name == "mail_from" and not _is_sender(text):
        raise SettingError(variable, f"must be an email address, optionally with a name, not {_shown(raw)}")
    if name == "trusted_proxies":
        for part in filter(None, (p.strip() for p in text.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise SettingError(variable, f"must list IP addresses or networks, not {_shown(part)}") from None
    if name == "webhook_retry_schedule":
        try:
            retry_schedule(text)
        except ValueError:
            raise SettingError(
                variable, f"must list waits such as 5m,10m,20m (s, m or h each), not {_shown(raw)}"
            ) from None
    return text


_UNITS = {"s": 1, "m": 60, "h": 3600}


def retry_schedule(text: str) -> tuple[float, ...]:
    """The waits of `CHRGRAPH_WEBHOOK_RETRY_SCHEDULE` in seconds (`5m,10m` -> (300, 600))."""
    waits = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        number = float(part[:-1]) if part[-1:] in _UNITS else float("nan")
        if not math.isfinite(number) or number < 0:
            raise ValueError(part)
        waits.append(number * _UNITS[part[-1]])
    return tuple(waits)


def _is_sender(text: str) -> bool:
    """`a@b.example` or `Name <a@b.example>`, on one line."""
    found = getaddresses([text])
    local, _, domain = found[0][1].rpartition("@") if len(found) == 1 else ("", "", "")
    return bool(local and domain) and "\n" not in text and "\r" not in text


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://chrgraph.db"
    jwt_leeway_seconds: int = 0
    jwt_max_lifetime_seconds: int = 900
    max_token_bytes: int = 8192
    # How often a process re-reads the shared auth epoch (must stay under 1 s: revocation
    # reaches every process within one second).
    auth_epoch_poll_seconds: float = 0.5
    session_ttl_hours: float = 12.0
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma
    # separated); empty: the client address is always the peer.
    trusted_proxies: str = ""
    graphiql: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    # Field selections written in one document; validation is quadratic in them.
    max_selections: int = 500
    max_tokens: int = 5000
    max_batch: int = 10
    max_directives: int = 50
    # Validation stops after this many errors (then one more error says so).
    max_validation_errors: int = 5
    # Objects one document (a batch: all its operations) may return, computed before it runs.
    max_nodes: int = 10_000
    # Default cost budget of an API consumer per minute (support may set one per consumer).
    consumer_cost_per_minute: int = 100_000
    # Shared counters for the cost budgets (e.g. redis://127.0.0.1:6379/0); per process when empty.
    redis_url: str = ""
    max_json_body_bytes: int = 1024 * 1024
    max_multipart_body_bytes: int = 6 * 1024 * 1024
    max_header_bytes: int = 16 * 1024
    default_page_size: int = 50
    max_page_size: int = 100
    parser_cache_size: int = 1024
    api_log_retention_days: int = 90
    api_log_purge_interval_seconds: float = 3600.0
    # How often the server deletes idempotency keys (and their stored answers) past 24 hours.
    idempotency_purge_interval_seconds: float = 3600.0
    # Empty: chrgraph-audit-signing.key beside the SQLite file; required with PostgreSQL.
    audit_signing_key: str = ""
    # Empty: chrgraph-audit-anchors.jsonl beside the SQLite file; required with PostgreSQL.
    audit_anchor_file: str = ""
    audit_checkpoint_interval_seconds: float = 600.0
    # Empty: chrgraph-log-encryption.key beside the SQLite file; required with PostgreSQL.
    log_encryption_key: str = ""
    otlp_endpoint: str = ""
    smtp_url: str = ""
    # The sender of every message, and where the admin client is reached from outside
    # (invitation links point at its accept page).
    mail_from: str = "chrgraph <no-reply@chrgraph.invalid>"
    public_url: str = "http://localhost:8000"
    outbox_interval_seconds: float = 5.0
    invitation_ttl_days: float = 7.0
    license_mapping_threshold: float = 0.9
    license_job_interval_seconds: float = 3600.0
    # Event notifications: hosts a webhook may reach although they are not public (comma
    # separated; http allowed for them too: development and tests on 127.0.0.1).
    webhook_allowed_hosts: str = ""
    # The waits before each retry of a failed delivery (s, m or h each), then it fails.
    webhook_retry_schedule: str = "5m,10m,20m,60m,120m"
    # How often the delivery worker looks for due deliveries.
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    webhook_retention_days: int = 30
    # The fast paths that reach into library internals (graphql-core, strawberry, Tortoise,
    # OpenTelemetry): off runs each library's own path, with the same answers.
    fast_paths: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read every setting; a malformed value raises `SettingError`."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("CHRGRAPH_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, type(f.default), raw)
        return cls(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
