"""changePassword, requestPasswordReset and resetPassword.

Whatever sets a new password takes away the sessions that knew the old one, with the
timing of a deactivation (`atomic(revokes_credentials=True)`): a change keeps only the
session that made it, a reset keeps none. Both anonymous operations are throttled with
`login`'s counters (auth/throttle.py)."""

from __future__ import annotations

from datetime import datetime

from chrgraph import clock
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth import throttle
from chrgraph.auth.access import has_access
from chrgraph.auth.passwords import hash_password, password_problem
from chrgraph.auth.principals import Actor, Principal, PrincipalKind, system_actor
from chrgraph.db.models import Organization, PasswordReset, Session, User, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.invitations import token_hash
from chrgraph.resolvers.users.lookup import require_password
from chrgraph.resolvers.users.password_resets import issue_password_reset, void_open_resets
from chrgraph.resolvers.users.text import normalize_email
from chrgraph.telemetry import log, login_refusals
from chrgraph.text_rules import text_problem

# The throttle key of reset-token checks, per client address: a token names no email
# until it is found, so guesses of tokens are counted under this key instead.
RESET_TOKEN_KEY = "password-reset-token"
MAX_TOKEN_LENGTH = 200


def _strength(password: str | None, user: User, field: str) -> OperationFailed | None:
    """PASSWORD_TOO_WEAK with the estimator's advice, judged against the user's own words."""
    words = (user.email, user.first_name or "", user.last_name or "")
    problem = password_problem(password or "", words)
    return fail(ErrorCode.PASSWORD_TOO_WEAK, problem, field) if problem is not None else None


async def _revoke(conn, user_id: int, now: datetime, keep_session_id: int | None = None) -> int:
    query = Session.filter(user_id=user_id, revoked_at__isnull=True)
    if keep_session_id is not None:
        query = query.exclude(id=keep_session_id)
    return await query.using_db(conn).update(revoked_at=now)


async def change_password(actor: Actor, password: str | None, new_password: str | None) -> User:
    """A session's user sets a new password, re-entering the current one (a wrong one
    counts in the login throttle, as every re-entered password does). Every other
    session of the user ends; the one that asked goes on."""
    principal = actor.principal
    user = await actor.data.users.get(id=principal.user_id)
    # The new password is judged first: a weak one costs no password check.
    if (weak := _strength(new_password, user, "newPassword")) is not None:
        raise weak
    await require_password(actor, password)
    assert new_password is not None  # _strength refuses None
    password_hash = await hash_password(new_password)
    now = clock.now()
    async with atomic(revokes_credentials=True) as conn:
        await actor.data.users.filter(id=user.id).using_db(conn).update(password_hash=password_hash)
        ended = await _revoke(conn, user.id, now, keep_session_id=principal.session_id)
        await void_open_resets(conn, user.id, now)
        await events.record(
            conn, actor, AuditAction.PASSWORD_CHANGED, "User", user.public_id, {"otherSessionsEnded": ended}
        )
    return user


async def request_password_reset(email: str | None, request_id: str | None = None, client_address: str | None = None):
    """Queue a reset link for a user that could log in with that email; the answer is the
    same whatever the email (known or not, throttled or not). Counted like a login
    attempt for the email from the caller's address, so a mailbox cannot be flooded;
    the email-wide ceiling does not apply: strangers' guesses must not keep a user from
    the way back in."""
    # Text no address could be (a control character, over 254 characters) is refused as
    # such: that tells nothing about any account.
    if (problem := text_problem(email or "", 254)) is not None:
        raise fail(ErrorCode.INVALID_INPUT, problem, "email")
    if not email or not email.strip():
        return None
    key = normalize_email(email)
    now = clock.now()
    attempt = await throttle.reserve(key, client_address, ceiling=False, now=now)
    if attempt is None:
        _log("request", "THROTTLED", request_id, client_address)
        return None
    user = await User.get_or_none(login_email=key)
    org = await Organization.get_or_none(id=user.organization_id) if user is not None else None
    # The support account's password is set by the operator (`chrgraph org
    # support-password`); its address receives no mail.
    if user is None or org is None or user.type is UserType.SUPPORT or not has_access(user, org, now):
        _log("request", "NO_SUCH_USER" if user is None else "NO_ACCESS", request_id, client_address, user)
        return None
    async with atomic() as conn:
        await issue_password_reset(conn, user, now)
        await events.record(
            conn,
            system_actor(user.organization_id, request_id),
            AuditAction.PASSWORD_RESET_REQUESTED,
            "User",
            user.public_id,
            {"linkValidMinutes": 60},
        )
    return None


async def reset_password(
    token: str | None, new_password: str | None, request_id: str | None = None, client_address: str | None = None
) -> User:
    """Set a new password with a token from a reset message. Every session of the user
    ends, the token and any other open one are used up, and the user's throttle counters
    are cleared (guesses by others lock nobody out for good). Token guesses are counted
    per client address; a valid token is then counted with the email's counters, whose
    email-wide ceiling never refuses it."""
    if (problem := text_problem(token or "", MAX_TOKEN_LENGTH)) is not None:
        raise fail(ErrorCode.INVALID_INPUT, problem, "token")
    if not token:
        raise _invalid("MALFORMED", request_id, client_address)
    now = clock.now()
    guess = await throttle.reserve(RESET_TOKEN_KEY, client_address, ceiling=False, now=now)
    if guess is None:
        raise _invalid("THROTTLED", request_id, client_address)
    hashed = token_hash(token)
    reset = await PasswordReset.filter(token_hash=hashed).first()
    user = await User.filter(id=reset.user_id).first() if reset is not None else None
    org = await Organization.filter(id=user.organization_id).first() if user is not None else None
    if (why := _unusable(reset, user, org, now)) is not None:
        raise _invalid(why, request_id, client_address, user)  # the guess stays counted
    assert user is not None
    await throttle.succeeded(guess)
    if (weak := _strength(new_password, user, "newPassword")) is not None:
        raise weak
    email = user.login_email or normalize_email(user.email)
    if await throttle.reserve(email, client_address, ceiling=False, now=now) is None:
        raise _invalid("THROTTLED", request_id, client_address, user)
    assert new_password is not None
    password_hash = await hash_password(new_password)
    async with atomic(revokes_credentials=True) as conn:
        # Single use even when two resets read the row at once: only one UPDATE matches.
        used = (
            await PasswordReset.filter(token_hash=hashed, used_at__isnull=True, voided_at__isnull=True)
            .using_db(conn)
            .update(used_at=now)
        )
        if not used:
            raise _invalid("USED", request_id, client_address, user)
        await User.filter(id=user.id).using_db(conn).update(password_hash=password_hash)
        ended = await _revoke(conn, user.id, now)
        await void_open_resets(conn, user.id, now)
        await throttle.clear(email, conn)
        actor = Actor(
            Principal(PrincipalKind.USER, user.organization_id, user_id=user.id, user_public_id=user.public_id),
            request_id,
            client_address,
        )
        await events.record(conn, actor, AuditAction.PASSWORD_RESET, "User", user.public_id, {"sessionsEnded": ended})
    return user


def _unusable(reset: PasswordReset | None, user: User | None, org: Organization | None, now: datetime) -> str | None:
    if reset is None or user is None or org is None:
        return "UNKNOWN"
    if reset.used_at is not None:
        return "USED"
    if reset.voided_at is not None:
        return "VOIDED"
    if reset.expires_at <= now:
        return "EXPIRED"
    if not has_access(user, org, now):
        return "NO_ACCESS"
    return None


def _log(what: str, why: str, request_id: str | None, client_address: str | None, user: User | None = None) -> None:
    # For the operator: why, and whose account if known (its public id); never the
    # email or the token given.
    login_refusals.add(1, {"step": f"reset_{what}", "reason": why})
    log.warning(
        "password reset %s refused reason=%s user=%s client=%s request_id=%s",
        what,
        why,
        user.public_id if user else "-",
        client_address or "-",
        request_id or "-",
    )


def _invalid(why: str, request_id: str | None, client_address: str | None, user: User | None = None) -> OperationFailed:
    _log("token", why, request_id, client_address, user)
    return fail(
        ErrorCode.RESET_TOKEN_INVALID,
        "That reset link cannot be used: it is not valid, was already used or replaced, is older than one hour, "
        "or too many attempts came from here (try again in 15 minutes). Request a new link if needed.",
        "token",
    )
