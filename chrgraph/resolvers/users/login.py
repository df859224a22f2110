"""login and logout. Every refusal is the same INVALID_CREDENTIALS; a refused
attempt's one write is its failure row, counted before the password is checked
(auth/throttle.py: 5 failures for an email from one client address within 15 minutes,
or 100 for the email from anywhere, refuse further attempts the same way until the
window passes). A user with a second factor gets no session from the password alone but
a challenge, answered with a code by `verify_second_factor` (resolvers/users/two_factor.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from chrgraph import clock
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth import throttle, two_factor
from chrgraph.auth.access import has_access
from chrgraph.auth.passwords import verify_password
from chrgraph.auth.principals import Actor, Principal, PrincipalKind
from chrgraph.auth.sessions import clean_user_agent, new_session_token, session_ref
from chrgraph.db.models import Organization, SecondFactorChallenge, Session, User
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, fail
from chrgraph.resolvers.users.text import normalize_email
from chrgraph.settings import get_settings
from chrgraph.telemetry import log, login_refusals
from chrgraph.text_rules import text_problem


def _refused(why: str, request_id: str | None, client_address: str | None, user: User | None = None):
    # The application log's line for the operator: why, and whose account if known (its
    # public id); never the email or the password given.
    login_refusals.add(1, {"step": "password", "reason": why})
    log.warning(
        "login refused reason=%s user=%s client=%s request_id=%s",
        why,
        user.public_id if user else "-",
        client_address or "-",
        request_id or "-",
    )
    return fail(ErrorCode.INVALID_CREDENTIALS, "Those credentials are not valid.")


async def login(
    email: str,
    password: str,
    request_id: str | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    if text_problem(email or "", 254) or text_problem(password or "", 256):
        raise _refused("MALFORMED", request_id, client_address)
    key = normalize_email(email)
    now = datetime.now(UTC)
    # Counted before the password is checked: a burst of guesses gets at most 5 checks.
    attempt = await throttle.reserve(key, client_address, now=now)
    if attempt is None:
        raise _refused("THROTTLED", request_id, client_address)
    user = await User.get_or_none(login_email=key)
    # Always verify (against a dummy hash when unknown) so timing tells nothing.
    password_ok = await verify_password(user.password_hash if user else None, password)
    org = await Organization.get(id=user.organization_id) if user else None
    if user is None or org is None or not password_ok or not has_access(user, org, now):
        why = "UNKNOWN_EMAIL" if user is None or org is None else "WRONG_PASSWORD" if not password_ok else "NO_ACCESS"
        raise _refused(why, request_id, client_address, user)  # the reserved attempt stays: a failure
    if await two_factor.enrolled(user.id):
        # The password was right: the attempt is no failure, but no session yet either.
        challenge, challenge_expires_at = await issue_challenge(user, now, request_id, client_address, attempt)
        return LoginResult(None, None, None, challenge, challenge_expires_at)
    token, expires_at = await open_session(user, now, request_id, client_address, attempt, user_agent=user_agent)
    return LoginResult(token, expires_at, user)


class LoginResult(NamedTuple):
    """A session (token, expiry, user), or for a user with a second factor a challenge
    to answer with `verifySecondFactor` (its token and expiry)."""

    token: str | None
    expires_at: datetime | None
    user: User | None
    challenge_token: str | None = None
    challenge_expires_at: datetime | None = None


def _actor(user: User, request_id: str | None, client_address: str | None, session_id=None, digest=None) -> Actor:
    kind = PrincipalKind.SUPPORT if user.type.value == "SUPPORT" else PrincipalKind.USER
    return Actor(
        Principal(
            kind,
            user.organization_id,
            user_id=user.id,
            user_public_id=user.public_id,
            session_id=session_id,
            session_ref=session_ref(digest) if digest else None,
        ),
        request_id,
        client_address,
    )


async def open_session(
    user: User,
    now: datetime,
    request_id: str | None,
    client_address: str | None,
    attempt: throttle.Attempt,
    details: dict | None = None,
    conn=None,
    user_agent: str | None = None,
) -> tuple[str, datetime]:
    """A new session for `user` (its login audited, the throttle's attempt no failure),
    in `conn` when given (the caller's transaction), else in a transaction of its own."""
    if conn is None:
        async with atomic() as own:
            return await open_session(user, now, request_id, client_address, attempt, details, own, user_agent)
    token, digest = new_session_token()
    expires_at = now + timedelta(hours=get_settings().session_ttl_hours)
    session = await Session.create(
        user_id=user.id,
        token_hash=digest,
        created_at=now,
        expires_at=expires_at,
        last_used_at=now,
        user_agent=clean_user_agent(user_agent),
        using_db=conn,
    )
    actor = _actor(user, request_id, client_address, session.id, digest)
    await events.record(
        conn,
        actor,
        AuditAction.USER_LOGGED_IN,
        "User",
        user.public_id,
        {"session": actor.principal.session_ref, **(details or {})},
    )
    await throttle.succeeded(attempt, conn)
    return token, expires_at


async def issue_challenge(
    user: User, now: datetime, request_id: str | None, client_address: str | None, attempt: throttle.Attempt
) -> tuple[str, datetime]:
    """The second step of a login: a single-use challenge token, valid 5 minutes."""
    token, digest = two_factor.new_challenge_token()
    now = clock.now()  # what `verify_second_factor` compares the expiry with
    expires_at = now + two_factor.CHALLENGE_TTL
    async with atomic() as conn:
        await SecondFactorChallenge.create(
            user_id=user.id, token_hash=digest, created_at=now, expires_at=expires_at, using_db=conn
        )
        actor = _actor(user, request_id, client_address)
        await events.record(conn, actor, AuditAction.SECOND_FACTOR_CHALLENGED, "User", user.public_id, None)
        await throttle.succeeded(attempt, conn)
    return token, expires_at


async def logout(actor: Actor) -> None:
    session_id = actor.principal.session_id
    async with atomic(revokes_credentials=True) as conn:
        await Session.filter(id=session_id).using_db(conn).update(revoked_at=datetime.now(UTC))
        await events.record(
            conn,
            actor,
            AuditAction.USER_LOGGED_OUT,
            "User",
            actor.principal.user_public_id,
            {"session": actor.principal.session_ref},
        )


async def revoke_sessions(conn, user_id: int) -> int:
    """Revoke every open session of a user (deactivation), in a transaction that
    declares `revokes_credentials`."""
    count = (
        await Session.filter(user_id=user_id, revoked_at__isnull=True)
        .using_db(conn)
        .update(revoked_at=datetime.now(UTC))
    )
    return count
