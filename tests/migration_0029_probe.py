"""Run in a child process by tests/test_booking_data.py: migrate a new SQLite database to
the migration before booking data, write a patient the old way, migrate to the head, and
print what the backfill left (one JSON line)."""

from __future__ import annotations

import asyncio
import json
import sys

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from chrgraph.db.config import tortoise_config

CREATED = "2024-01-02 03:04:05+00:00"


async def main(url: str) -> None:
    config = tortoise_config(url)
    await migrate(config=config, target="chrgraph.0024_security_policy")
    await Tortoise.init(config=config)
    conn = Tortoise.get_connection("default")
    await conn.execute_query(
        "INSERT INTO organization (name, domain, contract, province, time_zone, enterprise_api_enabled, "
        "stripe_connected, portal_enabled, license_enforcement_date, require_two_factor, created_at, public_id) "
        "VALUES ('Old', 'old-clinic', 'CUSTOM', 'ON', 'America/Toronto', 1, 0, 0, '2026-02-01', 0, ?, 'orgold0001')",
        [CREATED],
    )
    await conn.execute_query(
        "INSERT INTO patient (organization_id, first_name, last_name, date_of_birth, portal_access, search_key, "
        "created_at, public_id) VALUES ((SELECT id FROM organization WHERE domain = 'old-clinic'), 'Old', 'Row', "
        "'1970-01-01', 0, 'old row', ?, 'patold0001')",
        [CREATED],
    )
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    conn = Tortoise.get_connection("default")
    _, rows = await Tortoise.get_connection("default").execute_query(
        "SELECT sex, address_lines, health_card_province, change_seq, updated_at, created_at FROM patient"
    )
    _, indexes = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'index'")
    await Tortoise.close_connections()
    print(json.dumps({"patients": [dict(r) for r in rows], "indexes": [r["name"] for r in indexes]}, default=str))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
