"""Every CHRGRAPH_ setting in one typed place (documented in README, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import lru_cache


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://chrgraph.db"
    jwt_leeway_seconds: int = 0
    jwt_max_lifetime_seconds: int = 900
    max_token_bytes: int = 8192
    # How often a process re-reads the shared auth epoch (must stay under 1 s, §2.1).
    auth_epoch_poll_seconds: float = 0.5
    session_ttl_hours: float = 12.0
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
    max_string_length: int = 10_000
    default_page_size: int = 50
    max_page_size: int = 100
    parser_cache_size: int = 1024
    api_log_retention_days: int = 90
    api_log_purge_interval_seconds: float = 3600.0
    audit_signing_key: str = "chrgraph-audit-signing.key"
    audit_checkpoint_interval_seconds: float = 600.0
    otlp_endpoint: str = ""
    smtp_url: str = ""
    outbox_interval_seconds: float = 5.0
    invitation_ttl_days: float = 7.0
    license_mapping_threshold: float = 0.9
    license_job_interval_seconds: float = 3600.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("CHRGRAPH_" + f.name.upper())
            if raw is None:
                continue
            kind = type(f.default)
            if kind is bool:
                values[f.name] = _bool(raw)
            elif kind is int:
                values[f.name] = int(raw)
            elif kind is float:
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
