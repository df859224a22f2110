"""A transaction that revokes credentials says so, and the revocation is its own: the
shared epoch moves with the commit, this process's caches are dropped after it, and a
rollback does neither."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chrgraph.auth.sessions import session_hash
from chrgraph.db.models import AuthEpoch, Session
from chrgraph.db.transactions import atomic
from tests.accounts import make_clinic

VIEWER = "{ viewer { kind } }"


class Abandoned(Exception):
    pass


async def epoch_value() -> int:
    row = await AuthEpoch.filter(id=1).first()
    return row.value if row else 0


async def expire(digest: str, *, revokes_credentials: bool) -> None:
    async with atomic(revokes_credentials=revokes_credentials) as conn:
        await Session.filter(token_hash=digest).using_db(conn).update(expires_at=datetime.now(UTC))


async def test_a_revoking_transaction_bumps_the_epoch_and_clears_the_caches_only_when_it_commits(client):
    clinic = await make_clinic(client)
    member = await clinic.member()
    digest = session_hash(member.token)
    assert (await member.post(VIEWER)).status_code == 200  # now cached
    before = await epoch_value()

    with pytest.raises(Abandoned):
        async with atomic(revokes_credentials=True) as conn:
            await Session.filter(token_hash=digest).using_db(conn).update(expires_at=datetime.now(UTC))
            raise Abandoned
    assert await epoch_value() == before
    assert (await member.post(VIEWER)).status_code == 200

    await expire(digest, revokes_credentials=True)
    assert await epoch_value() == before + 1
    assert (await member.post(VIEWER)).status_code == 401


async def test_a_transaction_that_declares_nothing_leaves_the_epoch_alone(client):
    clinic = await make_clinic(client)
    member = await clinic.member()
    before = await epoch_value()
    await expire(session_hash(member.token), revokes_credentials=False)
    assert await epoch_value() == before
