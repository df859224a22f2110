"""deactivateUser is a plan (every read and check) and an apply (every write): the
plan writes nothing, and its refusals come before any write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import User, UserStatus
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.deactivate_user import Choice, Handover, plan_deactivation
from chrgraph.resolvers.errors import OperationFailed
from tests.accounts import make_clinic


class Abandoned(Exception):
    pass


def _writes(counter: hooks.StatementCounter) -> list[str]:
    # The API-log writer flushes the rows of earlier requests on its own.
    return [s for s in counter.statements if hooks.is_write(s) and "api_log" not in s]


async def _plan(actor, user_id: int, **choices):
    defaults = {
        "appointments": Choice(),
        "recurring_questionnaires": Choice(),
        "sent_questionnaires": Choice(),
        "forward_inbox_to_user_id": None,
        "lab_integration_successors": {},
    }
    counter = hooks.count_statements()
    try:
        with pytest.raises(Abandoned):
            async with atomic() as conn:
                plan = await plan_deactivation(conn, actor, user_id, **{**defaults, **choices}, now=datetime.now(UTC))
                raise Abandoned
    finally:
        hooks.stop_counting(counter)
    return plan, _writes(counter)


async def test_a_deactivation_plan_reads_and_checks_but_writes_nothing(client):
    clinic = await make_clinic(client)
    member = await clinic.member()
    user = await User.get(email=member.email)
    plan, writes = await _plan(support_cli_actor(clinic.organization.id), user.id)
    assert plan.user.id == user.id and writes == []
    assert (await User.get(id=user.id)).status is UserStatus.ACTIVE


async def test_a_refused_plan_reports_every_error_at_once_and_writes_nothing(client):
    clinic = await make_clinic(client)
    user = await User.get(email=(await clinic.member()).email)
    counter = hooks.count_statements()
    try:
        async with atomic() as conn:
            with pytest.raises(OperationFailed) as refused:
                await plan_deactivation(
                    conn,
                    support_cli_actor(clinic.organization.id),
                    user.id,
                    appointments=Choice(Handover.MOVE, None),
                    recurring_questionnaires=Choice(),
                    sent_questionnaires=Choice(Handover.MOVE, None),
                    forward_inbox_to_user_id=user.id,
                    lab_integration_successors={},
                    now=datetime.now(UTC),
                )
    finally:
        hooks.stop_counting(counter)
    assert len(refused.value.errors) == 3
    assert _writes(counter) == []
