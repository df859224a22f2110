"""What a handover does, whether it is done ahead (transferLabIntegration,
forwardInboxMessages) or inside deactivateUser: who may receive work, who may transfer
the main lab integration, the booking rules a moved appointment passes, and the writes
with their audit events. One rule, one place: the operations call these."""

from __future__ import annotations

from datetime import datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import Appointment, InboxMessage, LabIntegration, Organization, User, UserStatus, UserType
from chrgraph.resolvers.errors import ErrorCode, UserError
from chrgraph.resolvers.scheduling.appointments import clashes, lock_practitioner
from chrgraph.resolvers.scheduling.bookable import not_bookable

MAIN_LAB_BY_SUPPORT = (
    "The main lab integration {name!r} is transferred by the support account only: contact support "
    "to transfer it before deactivating the user."
)


async def active_member(
    conn, actor: Actor, user_id: int | None, exclude: int, path: tuple[str, ...], practitioner: bool
) -> User | UserError:
    """An ACTIVE user of the organization who can take work over (never the support
    account, a service account, nor the user handing it over), or why not."""
    query = actor.data.users.filter(id=user_id, status=UserStatus.ACTIVE).exclude(
        type__in=[UserType.SUPPORT, UserType.SERVICE_ACCOUNT]
    )
    if practitioner:
        query = query.filter(type=UserType.PRACTITIONER)
    target = await query.using_db(conn).first() if user_id is not None else None
    if target is None or target.id == exclude:
        what = "an active practitioner" if practitioner else "an active user"
        return UserError(ErrorCode.NOT_FOUND, f"Choose {what} of the organization other than the user.", path)
    return target


def may_transfer_main(actor: Actor) -> bool:
    """The main lab integration changes hands through the support account alone."""
    return actor.principal.kind is PrincipalKind.SUPPORT


def main_lab_refusal(lab: LabIntegration, path: tuple[str, ...]) -> UserError:
    return UserError(
        ErrorCode.LAB_INTEGRATION_TRANSFER_REQUIRED,
        MAIN_LAB_BY_SUPPORT.format(name=lab.name),
        path,
        ("LabIntegration", lab.public_id),
    )


async def move_refusals(
    conn,
    actor: Actor,
    org: Organization,
    receiver: User,
    appointments: list[Appointment],
    now: datetime,
    path: tuple[str, ...],
) -> list[UserError]:
    """Every booking rule a moved appointment passes for the receiving practitioner, as
    bookAppointment applies it (bookable at the appointment's start for the appointment's
    kind, so a VIRTUAL one needs virtual care in the receiver's license; no double
    booking), working hours aside. The receiver is locked first, so a racing booking waits."""
    if not appointments:
        return []
    await lock_practitioner(conn, actor, receiver.id)
    errors: list[UserError] = []
    for appointment in appointments:
        if reason := not_bookable(receiver, org, now, appointment.start, appointment.kind):
            errors.append(
                UserError(
                    ErrorCode.PRACTITIONER_NOT_BOOKABLE,
                    f"The receiving practitioner {reason} (the appointment at {appointment.start.isoformat()}).",
                    path,
                    ("Appointment", appointment.public_id),
                )
            )
            continue
        taken = await clashes(conn, actor.data, receiver.id, appointment.start, appointment.end)
        errors.extend(
            UserError(
                ErrorCode.SLOT_CONFLICT,
                f"The receiving practitioner is booked at {clash.start.isoformat()}.",
                path,
                ("Appointment", clash.public_id),
            )
            for clash in taken
        )
    return errors


async def transfer_lab(conn, actor: Actor, lab: LabIntegration, backer: User, successor: User) -> None:
    """Hand a lab integration from its backer to its successor, audited (both by global id)."""
    assert lab.backed_by_id == backer.id  # what the event says it was
    await actor.data.lab_integrations.filter(id=lab.id).using_db(conn).update(backed_by_id=successor.id)
    await events.record(
        conn,
        actor,
        AuditAction.LAB_INTEGRATION_TRANSFERRED,
        "LabIntegration",
        lab.public_id,
        {
            "backedBy": {
                "before": events.ref("User", backer.public_id),
                "after": events.ref("User", successor.public_id),
            },
            "isMain": lab.is_main,
        },
    )
    lab.backed_by_id = successor.id


async def forward_messages(conn, actor: Actor, messages: list[InboxMessage], owner: User, receiver: User) -> list[str]:
    """Give each of the owner's messages to the receiver, one audit event per message
    (where it went, owners by global id)."""
    change = {"owner": {"before": events.ref("User", owner.public_id), "after": events.ref("User", receiver.public_id)}}
    for message in messages:
        assert message.owner_id == owner.id  # what the event says it was
        await actor.data.inbox_messages.filter(id=message.id).using_db(conn).update(owner_id=receiver.id)
        await events.record(conn, actor, AuditAction.INBOX_MESSAGE_FORWARDED, "InboxMessage", message.public_id, change)
    return [message.public_id for message in messages]
