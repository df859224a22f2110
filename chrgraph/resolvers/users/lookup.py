"""Finding a user of the actor's organization; anything else is NOT_FOUND."""

from __future__ import annotations

from datetime import UTC, datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth import throttle
from chrgraph.auth.passwords import MAX_LENGTH, verify_password
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import Session, User, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.text import normalize_email
from chrgraph.telemetry import log, password_reentry_refusals
from chrgraph.text_rules import text_problem


async def get_user(
    actor: Actor,
    user_id: int | None,
    conn=None,
    field: str = "userId",
    *,
    include_support: bool = False,
    related: tuple[str, ...] = (),
) -> User:
    """`related`: relations joined in the same statement."""
    query = actor.data.users.filter(id=user_id).select_related(*related)
    if not include_support:
        query = query.exclude(type=UserType.SUPPORT)
    user = await (query.using_db(conn) if conn else query).first() if user_id is not None else None
    if user is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", field)
    return user


async def find_user(actor: Actor, public_id: str, conn=None, field: str = "userId") -> User:
    """`get_user` by the public id a global id carries: one statement on its unique
    index, in the actor's organization (for reads that take the client's id as is)."""
    query = actor.data.users.filter(public_id=public_id).exclude(type=UserType.SUPPORT)
    user = await (query.using_db(conn) if conn else query).first()
    if user is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", field)
    return user


async def require_password(actor: Actor, password: str | None) -> None:
    """Sessions re-enter their password for sensitive changes; API consumers
    sign every request and have none."""
    principal = actor.principal
    if principal.kind not in (PrincipalKind.USER, PrincipalKind.SUPPORT) or principal.session_id is None:
        return
    if not password:
        raise fail(ErrorCode.PASSWORD_REQUIRED, "Re-enter your password to do this.", "password")
    user = await actor.data.users.get(id=principal.user_id)
    # Checked before Argon2 runs: a 100,000-character "password" is refused, not hashed.
    if text_problem(password, MAX_LENGTH):
        raise _wrong(actor, "MALFORMED")
    # A re-entered password is a guess like a login's: counted in the same counters
    # before it is checked. The email-wide ceiling is not applied: a session already
    # proved the password, and strangers' guesses must not stop its owner's work.
    email = user.login_email or normalize_email(user.email)
    attempt = await throttle.reserve(email, actor.client_address, ceiling=False)
    if attempt is not None and await verify_password(user.password_hash, password):
        await throttle.succeeded(attempt)
        return
    revoke = attempt is None or attempt.failures >= throttle.PER_ADDRESS_LIMIT
    if revoke:
        await _revoke_session(actor)
    raise _wrong(actor, "THROTTLED" if attempt is None else "WRONG_PASSWORD", revoked=revoke)


def _wrong(actor: Actor, why: str, *, revoked: bool = False) -> OperationFailed:
    password_reentry_refusals.add(1, {"reason": why, "session_revoked": revoked})
    log.warning(
        "password re-entry refused reason=%s user=%s session_revoked=%s client=%s request_id=%s",
        why,
        actor.principal.user_public_id or "-",
        "yes" if revoked else "no",
        actor.client_address or "-",
        actor.request_id or "-",
    )
    return fail(ErrorCode.PASSWORD_INVALID, "That password is not right.", "password")


async def _revoke_session(actor: Actor) -> None:
    """The 5th wrong password from this address within the window (or one more after
    it): the session that sent it ends; its next request is refused."""
    session_id = actor.principal.session_id
    async with atomic(revokes_credentials=True, bookkeeping=True) as conn:
        revoked = (
            await Session.filter(id=session_id, revoked_at__isnull=True)
            .using_db(conn)
            .update(revoked_at=datetime.now(UTC))
        )
        if revoked:
            details = {"session": actor.principal.session_ref, "reason": "PASSWORD_FAILURES"}
            await events.record(
                conn, actor, AuditAction.SESSION_REVOKED, "User", actor.principal.user_public_id, details
            )
