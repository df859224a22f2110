"""acceptInvitation and resendInvitation."""

from __future__ import annotations

from datetime import UTC, datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.passwords import hash_password, password_problem
from chrgraph.auth.principals import Actor, Principal, PrincipalKind
from chrgraph.db.models import Invitation, Organization, User, UserStatus
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.changes import record_status
from chrgraph.resolvers.users.invitations import issue_invitation, token_hash
from chrgraph.resolvers.users.lookup import get_user
from chrgraph.resolvers.users.text import search_key
from chrgraph.resolvers.validation import Errors


def _refusal(invitation: Invitation | None, user: User | None, now: datetime) -> OperationFailed | None:
    """Why a token cannot be accepted (None: it can)."""
    if invitation is None:
        return fail(ErrorCode.INVITATION_INVALID, "That invitation token is not valid.", "token")
    if invitation.used_at is not None:
        return fail(ErrorCode.INVITATION_USED, "That invitation was already used.", "token")
    if invitation.voided_at is not None:
        return fail(ErrorCode.INVITATION_VOIDED, "That invitation was replaced or withdrawn.", "token")
    if invitation.expires_at <= now:
        return fail(ErrorCode.INVITATION_EXPIRED, "That invitation has expired.", "token")
    if user is None or user.status is not UserStatus.INVITED:
        return fail(ErrorCode.INVITATION_VOIDED, "That invitation is no longer valid.", "token")
    return None


async def accept_invitation(
    token: str,
    password: str,
    first_name: str,
    last_name: str,
    request_id: str | None = None,
    title: str | None = None,
    position: str | None = None,
) -> User:
    """Activate the invited user a token names, with the name it gives and, when given,
    its title and position (else those the inviter set stay). The token is looked up
    before the password is hashed: an unknown, used, voided or expired token is refused
    at the cost of one indexed read, never of an Argon2 hash; the transaction checks again."""
    errors = Errors()
    token = errors.text(token, "token", max_length=200, required=True)
    first_name = errors.text(first_name, "firstName", max_length=100, required=True)
    last_name = errors.text(last_name, "lastName", max_length=100, required=True)
    own = {
        "title": errors.text(title, "title", max_length=100),
        "position": errors.text(position, "position", max_length=100),
    }
    if (problem := password_problem(password or "", (first_name or "", last_name or ""))) is not None:
        errors.add(ErrorCode.PASSWORD_TOO_WEAK, problem, "password")
    if errors:
        raise OperationFailed(*errors.items)
    hashed = token_hash(token)
    invitation = await Invitation.filter(token_hash=hashed).first()
    user = await User.filter(id=invitation.user_id).first() if invitation is not None else None
    if (refused := _refusal(invitation, user, datetime.now(UTC))) is not None:
        raise refused
    password_hash = await hash_password(password)
    now = datetime.now(UTC)
    async with atomic() as conn:
        # Again inside the transaction: a concurrent accept or resend may have come first.
        invitation = await Invitation.filter(token_hash=hashed).using_db(conn).first()
        user = await User.filter(id=invitation.user_id).using_db(conn).first() if invitation is not None else None
        if (refused := _refusal(invitation, user, now)) is not None:
            raise refused
        assert invitation is not None and user is not None  # narrowed by _refusal
        # Single use even when two accepts read the row at once: only one UPDATE matches.
        if not await Invitation.filter(id=invitation.id, used_at__isnull=True).using_db(conn).update(used_at=now):
            raise fail(ErrorCode.INVITATION_USED, "That invitation was already used.", "token")
        before = {
            "status": user.status,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "title": user.title,
            "position": user.position,
        }
        user.status, user.first_name, user.last_name = UserStatus.ACTIVE, first_name, last_name
        user.title = own["title"] or user.title
        user.position = own["position"] or user.position
        user.password_hash, user.accepted_at = password_hash, now
        user.search_key = search_key(first_name, last_name, user.email, user.display_name)
        await user.save(using_db=conn)
        await record_status(conn, user, UserStatus.ACTIVE, now)
        actor = Actor(
            Principal(PrincipalKind.USER, user.organization_id, user_id=user.id, user_public_id=user.public_id),
            request_id,
        )
        after = {
            "status": user.status,
            "firstName": first_name,
            "lastName": last_name,
            "title": user.title,
            "position": user.position,
        }
        await events.record(
            conn, actor, AuditAction.INVITATION_ACCEPTED, "User", user.public_id, events.diff(before, after)
        )
    return user


async def resend_invitation(actor: Actor, user_id: int) -> tuple[User, str]:
    """Issue a new token to an invited user: the open ones are voided, and the user's
    `invitedAt` moves to now (the new invitation's lifetime counts from it)."""
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        if user.status is not UserStatus.INVITED:
            raise fail(ErrorCode.INVALID_STATE, "Only invited users get invitations.", "userId")
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        token = await issue_invitation(conn, user, org.name)
        user.invited_at = datetime.now(UTC)
        await user.save(using_db=conn, update_fields=["invited_at"])
        await events.record(conn, actor, AuditAction.INVITATION_RESENT, "User", user.public_id, {"email": user.email})
    return user, token
