"""`handoverReport(userId)`: where a user's work went, at any later time, read back from
the audit events: each deactivation with each moved, cancelled, removed, forwarded,
hidden, transferred and disconnected item, where it went, when and by whom, surviving
reactivation and a second deactivation; handovers done ahead of a deactivation too.
EDIT_OTHER_USERS, like deactivation."""

from __future__ import annotations

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.resolvers.scheduling.work import create_inbox_message
from tests.accounts import PASSWORD, make_clinic
from tests.helpers import gid, key_of
from tests.scheduling_helpers import at, practitioner
from tests.test_deactivation import DEACTIVATE, REACTIVATE, book, busy_practitioner

REPORT = """query($u: ID!) { handoverReport(userId: $u) {
  userId
  deactivations { auditEventId deactivatedAt actorKind actorId reactivatedAt
    items { outcome itemId toUserId at actorKind actorId auditEventId } }
  handedOverAhead { outcome itemId toUserId actorKind actorId auditEventId } } }"""
FORWARD = """mutation($i: ForwardInboxMessagesInput!) { forwardInboxMessages(input: $i) {
  forwardedMessageIds errors { code } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on AuditEvent { action targetId } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def deactivate(caller, user: str, **choices) -> dict:
    result = (await caller.gql(DEACTIVATE, {"i": {"userId": user, **choices}}))["deactivateUser"]
    assert result["errors"] == [], result
    return result["report"]


async def test_the_report_says_where_each_item_went_across_reactivation(clinic):
    work = await busy_practitioner(clinic)
    dr, other = work["dr"], await practitioner(clinic.organization.id)
    first = await deactivate(
        clinic.vendor,
        dr,
        appointments={"action": "MOVE", "toPractitionerId": other},
        forwardInboxToUserId=clinic.owner.user_id,
        labIntegrationSuccessors=[{"labIntegrationId": work["lab"], "userId": other}],
    )
    assert (await clinic.owner.gql(REACTIVATE, {"i": {"userId": dr}}))["reactivateUser"]["errors"] == []
    # Back at work: a new appointment and a message, then deactivated again, cancelling.
    later = await book(clinic, dr, at(5, 9, 0))
    await create_inbox_message(
        support_cli_actor(clinic.organization.id), owner_id=await key_of(dr), subject="S", body="b"
    )
    second = await deactivate(clinic.owner, dr, password=PASSWORD)

    report = (await clinic.owner.gql(REPORT, {"u": dr}))["handoverReport"]
    assert report["userId"] == dr
    one, two = report["deactivations"]
    assert one["reactivatedAt"] is not None and two["reactivatedAt"] is None
    assert one["deactivatedAt"] < one["reactivatedAt"] < two["deactivatedAt"]
    assert (one["actorKind"], one["actorId"]) == ("CONSUMER", gid(clinic.vendor.consumer))
    assert (two["actorKind"], two["actorId"]) == ("USER", clinic.owner.user_id)

    def by(items, outcome):
        return {i["itemId"]: i for i in items if i["outcome"] == outcome}

    moved = by(one["items"], "MOVED")
    assert set(moved) == set(first["movedAppointmentIds"]) == {work["appointment"]}
    assert moved[work["appointment"]]["toUserId"] == other
    assert moved[work["appointment"]]["actorId"] == gid(clinic.vendor.consumer)
    forwarded = by(one["items"], "FORWARDED")
    assert set(forwarded) == set(first["forwardedMessageIds"]) and len(forwarded) == 2
    assert {i["toUserId"] for i in forwarded.values()} == {clinic.owner.user_id}
    assert {i["toUserId"] for i in by(one["items"], "TRANSFERRED").values()} == {other}
    assert set(by(one["items"], "TRANSFERRED")) == {work["lab"]}
    # Questionnaires were cancelled by default: removed, going nowhere.
    removed = by(one["items"], "REMOVED")
    assert set(removed) == set(first["removedQuestionnaireIds"]) and len(removed) == 3
    assert all(i["toUserId"] is None for i in removed.values())
    assert len(by(one["items"], "DISCONNECTED")) == 1

    assert set(by(two["items"], "CANCELLED")) == set(second["cancelledAppointmentIds"]) == {later}
    assert set(by(two["items"], "HIDDEN")) == set(second["hiddenMessageIds"]) and len(second["hiddenMessageIds"]) == 1
    assert all(i["actorId"] == clinic.owner.user_id for i in two["items"])
    # Each item names the event that records it, followable with `node`.
    event = (await clinic.owner.gql(NODE, {"id": moved[work["appointment"]]["auditEventId"]}))["node"]
    assert event == {"action": "APPOINTMENT_MOVED", "targetId": work["appointment"]}
    hidden = next(iter(by(two["items"], "HIDDEN").values()))
    assert hidden["auditEventId"] == two["auditEventId"]  # a hidden message has no event of its own
    assert report["handedOverAhead"] == []


async def test_handovers_done_ahead_are_in_the_report(clinic):
    dr, other = await practitioner(clinic.organization.id), await practitioner(clinic.organization.id)
    await create_inbox_message(
        support_cli_actor(clinic.organization.id), owner_id=await key_of(dr), subject="A", body="b"
    )
    forwarded = (await clinic.owner.gql(FORWARD, {"i": {"fromUserId": dr, "toUserId": other}}))["forwardInboxMessages"]
    assert forwarded["errors"] == []
    # Another user's forwards are not this user's.
    await create_inbox_message(
        support_cli_actor(clinic.organization.id), owner_id=await key_of(other), subject="B", body="b"
    )
    await clinic.owner.gql(FORWARD, {"i": {"fromUserId": other, "toUserId": dr}})

    report = (await clinic.owner.gql(REPORT, {"u": dr}))["handoverReport"]
    assert report["deactivations"] == []
    [item] = report["handedOverAhead"]
    assert (item["outcome"], item["itemId"], item["toUserId"]) == (
        "FORWARDED",
        forwarded["forwardedMessageIds"][0],
        other,
    )
    assert (item["actorKind"], item["actorId"]) == ("USER", clinic.owner.user_id)


async def test_edit_other_users_is_needed_and_other_clinics_users_are_not_found(clinic, client):
    dr = await practitioner(clinic.organization.id)
    staff = await clinic.member(permissions_of=["Front desk"])
    response = (await staff.post(REPORT, {"u": dr})).json()
    assert response["data"] == {"handoverReport": None}
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await clinic.member(permissions_of=["Administrator"])
    assert (await admin.gql(REPORT, {"u": dr}))["handoverReport"]["userId"] == dr
    # The support account does not read it (only the main lab integration is its part).
    support = (await clinic.support.post(REPORT, {"u": dr})).json()
    assert support["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    elsewhere = await make_clinic(client)
    theirs = await practitioner(elsewhere.organization.id)
    assert (await clinic.owner.gql(REPORT, {"u": theirs})) == {"handoverReport": None}
