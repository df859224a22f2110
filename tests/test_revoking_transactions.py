"""A transaction that revokes credentials says so, and the revocation is its own: the
shared epoch moves with the commit, this process's caches are dropped after it, and a
rollback does neither."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chrgraph.auth.access import local_today
from chrgraph.auth.principals import support_cli_actor
from chrgraph.auth.sessions import session_hash
from chrgraph.db.models import AuthEpoch, Classification, License, Session, User, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.users.update_user import update_user
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


async def test_ending_a_trainees_training_refuses_their_cached_session_at_once(client):
    clinic = await make_clinic(client)
    trainee = await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date.today() + timedelta(days=30),
    )
    assert (await trainee.post(VIEWER)).status_code == 200  # now cached
    ended = local_today(clinic.organization) - timedelta(days=15)  # the clinic's date, not the machine's
    user = await User.get(email=trainee.email)
    await update_user(support_cli_actor(clinic.organization.id), user.id, {"expected_end_of_training": ended})
    assert (await trainee.post(VIEWER)).status_code == 401
