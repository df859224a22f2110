"""A separate process appending to one organization's audit chain, as another server
process or the CLI would:

    python -m tests.chain_writer rename DOMAIN COUNT TAG [START]
    python -m tests.chain_writer consumers DOMAIN COUNT TAG START PEM_FILE

`rename` renames the organization to `TAG-<i>` COUNT times (the operation behind
`updateOrganization` and `chrgraph org set`); `consumers` registers COUNT consumers
named `TAG-<i>` (the operation behind `chrgraph consumers create`). Each change writes
one event. Registering consumers touches no row another writer touches, so only the
chain head's lock keeps concurrent appends from forking the chain. START (a Unix
time) lets several writers begin together, once all have started."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.config import close_db, init_db
from chrgraph.db.models import Organization
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.resolvers.organizations.update_organization import update_organization


async def append(mode: str, domain: str, count: int, tag: str, start_at: float, pem: str) -> None:
    await init_db(migrate=False)
    try:
        org = await Organization.get(domain=domain)
        actor = support_cli_actor(org.id)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for i in range(count):
            if mode == "rename":
                await update_organization(actor, name=f"{tag}-{i}")
            else:
                issuer = f"{tag}-{i}-{uuid.uuid4().hex[:8]}"
                await create_api_consumer(actor, name=f"{tag}-{i}", issuer=issuer, public_key=pem)
    finally:
        await close_db()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        append(
            args[0],
            args[1],
            int(args[2]),
            args[3],
            float(args[4]) if len(args) > 4 else 0.0,
            Path(args[5]).read_text() if len(args) > 5 else "",
        )
    )
