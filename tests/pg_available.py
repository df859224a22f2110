"""Exit 0 when the test PostgreSQL server answers (used by `make test`)."""

import asyncio
import os
import sys

import asyncpg


async def main() -> int:
    url = os.environ.get("CHRGRAPH_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(url), 5)
    except Exception:
        return 1
    await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
