"""The TOTP second factor: enrolment (start, confirm with a code, ten recovery codes
shown once), the second step of a login (`verify_second_factor`), removal by the user
(`disable_two_factor`), by an administrator (`reset_second_factor`) and by the
break-glass command (`break_glass_reset`).

A code is accepted once: the step it belongs to is recorded per user, and a code of that
step or an earlier one is refused. Wrong codes given to a challenge or to
`disable_two_factor` count as failures in the login throttle (auth/throttle.py), like
wrong passwords; a challenge is void after 5 of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q

from chrgraph import clock
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth import throttle, two_factor
from chrgraph.auth.access import has_access
from chrgraph.auth.principals import Actor
from chrgraph.db import raw
from chrgraph.db.models import (
    Organization,
    RecoveryCode,
    SecondFactorChallenge,
    Session,
    TwoFactor,
    User,
    UserStatus,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.login import open_session, revoke_sessions
from chrgraph.resolvers.users.lookup import get_user, require_password
from chrgraph.resolvers.users.text import normalize_email
from chrgraph.telemetry import log, login_refusals
from chrgraph.text_rules import text_problem

_CODE_LENGTH = 64  # a TOTP code is 6 digits, a recovery code 16 characters and dashes
_REASON_LENGTH = 500


@dataclass(frozen=True)
class Enrollment:
    """What an authenticator app needs: the secret, as text and as a QR code."""

    secret: str
    uri: str
    qr_code_svg: str


def _lock(user_id: int) -> str:
    return f"two-factor:{user_id}"


async def start_two_factor_enrollment(actor: Actor) -> Enrollment:
    """A new secret for the caller (replacing one not yet confirmed); refused while a
    second factor is on (disable it first)."""
    user = await actor.data.users.get(id=actor.principal.user_id)
    org = await Organization.get(id=actor.organization_id)
    secret = two_factor.new_secret()
    key, sealed = two_factor.seal_secret(user.public_id, secret)
    now = clock.now()
    async with atomic() as conn:
        await raw.lock_key(conn, _lock(user.id))
        factor = await TwoFactor.filter(user_id=user.id).using_db(conn).first()
        if factor is not None and factor.enabled_at is not None:
            raise fail(ErrorCode.ALREADY_IN_STATE, "A second factor is on already: disable it first to replace it.")
        if factor is None:
            await TwoFactor.create(user_id=user.id, secret_key=key, secret=sealed, started_at=now, using_db=conn)
        else:
            await (
                TwoFactor.filter(user_id=user.id)
                .using_db(conn)
                .update(secret_key=key, secret=sealed, started_at=now, last_used_step=None)
            )
        await events.record(conn, actor, AuditAction.SECOND_FACTOR_ENROLLMENT_STARTED, "User", user.public_id, None)
    uri = two_factor.provisioning_uri(secret, user.email, org.name or two_factor.ISSUER)
    return Enrollment(secret, uri, two_factor.qr_svg(uri))


async def confirm_two_factor_enrollment(actor: Actor, code: str) -> list[str]:
    """Turn the started second factor on with a current code; answers ten new recovery
    codes (only their digests are kept). The session that confirms becomes a full one
    if its organization requires a second factor (the auth epoch moves)."""
    code = (code or "").strip()
    if text_problem(code, _CODE_LENGTH):
        raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right.", "code")
    user = await actor.data.users.get(id=actor.principal.user_id)
    now = clock.now()
    codes = two_factor.new_recovery_codes()
    async with atomic(revokes_credentials=True) as conn:
        await raw.lock_key(conn, _lock(user.id))
        factor = await TwoFactor.filter(user_id=user.id).using_db(conn).first()
        if factor is None:
            raise fail(ErrorCode.INVALID_STATE, "Start an enrolment first (startTwoFactorEnrollment).")
        if factor.enabled_at is not None:
            raise fail(ErrorCode.ALREADY_IN_STATE, "The second factor is on already.")
        step = two_factor.matching_step(two_factor.open_secret(user.public_id, factor), code, now, None)
        if step is None:
            raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right: type the app's current code.", "code")
        await TwoFactor.filter(user_id=user.id).using_db(conn).update(enabled_at=now, last_used_step=step)
        await RecoveryCode.filter(user_id=user.id).using_db(conn).delete()
        await RecoveryCode.bulk_create(
            [
                RecoveryCode(
                    user_id=user.id,
                    code_hash=two_factor.recovery_hash(user.public_id, two_factor.normalized_recovery_code(c) or ""),
                    created_at=now,
                )
                for c in codes
            ],
            using_db=conn,
        )
        await events.record(
            conn, actor, AuditAction.SECOND_FACTOR_ENABLED, "User", user.public_id, {"recoveryCodes": len(codes)}
        )
    return codes


async def confirm_two_factor_enrollment_with_user(actor: Actor, code: str) -> tuple[list[str], User]:
    """`confirm_two_factor_enrollment`, and the caller's user as it is now."""
    codes = await confirm_two_factor_enrollment(actor, code)
    return codes, await actor.data.users.get(id=actor.principal.user_id)


async def _accept_code(conn, user: User, factor: TwoFactor, code: str, now: datetime) -> str | None:
    """Consume `code` in `conn`: a TOTP code of the current or previous step later than
    the last one accepted, or an unused recovery code. Answers how ("TOTP",
    "RECOVERY_CODE"), or None when it is neither (nothing written then)."""
    if two_factor.looks_like_code(code):
        step = two_factor.matching_step(
            two_factor.open_secret(user.public_id, factor), code, now, factor.last_used_step
        )
        if step is None:
            return None
        # The step moves forward only: of two requests with one code, one wins.
        moved = (
            await TwoFactor.filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step), user_id=user.id)
            .using_db(conn)
            .update(last_used_step=step)
        )
        return "TOTP" if moved else None
    normalized = two_factor.normalized_recovery_code(code)
    if normalized is None:
        return None
    used = (
        await RecoveryCode.filter(
            user_id=user.id, code_hash=two_factor.recovery_hash(user.public_id, normalized), used_at__isnull=True
        )
        .using_db(conn)
        .update(used_at=now)
    )
    return "RECOVERY_CODE" if used else None


def _challenge_invalid(why: str, request_id: str | None, client_address: str | None) -> OperationFailed:
    login_refusals.add(1, {"step": "second_factor", "reason": why})
    log.warning(
        "second factor refused reason=%s client=%s request_id=%s", why, client_address or "-", request_id or "-"
    )
    return fail(
        ErrorCode.CHALLENGE_INVALID, "This login is no longer waiting for a code: log in again.", "challengeToken"
    )


async def verify_second_factor(
    challenge_token: str,
    code: str,
    request_id: str | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, datetime, User]:
    """The second step of a login: a challenge `login` issued and a code (TOTP or an
    unused recovery code) give the session. The code counts in the login throttle before
    it is checked; a wrong one counts as a failure there and in the challenge, which is
    void after 5."""
    if text_problem(challenge_token or "", 100) or not two_factor.looks_like_challenge(challenge_token):
        raise _challenge_invalid("MALFORMED", request_id, client_address)
    code = (code or "").strip()
    if text_problem(code, _CODE_LENGTH):  # refused before anything is counted or read
        raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right.", "code")
    now = clock.now()
    challenge = await SecondFactorChallenge.get_or_none(token_hash=two_factor.challenge_hash(challenge_token))
    if challenge is None or challenge.used_at or challenge.voided_at or challenge.expires_at <= now:
        raise _challenge_invalid("UNKNOWN_OR_SPENT", request_id, client_address)
    user = await User.get(id=challenge.user_id)
    org = await Organization.get(id=user.organization_id)
    factor = await TwoFactor.get_or_none(user_id=user.id, enabled_at__isnull=False)
    if factor is None or not has_access(user, org, now):
        raise _challenge_invalid("NO_FACTOR_OR_ACCESS", request_id, client_address)
    email = user.login_email or normalize_email(user.email)
    attempt = await throttle.reserve(email, client_address)
    if attempt is None:
        login_refusals.add(1, {"step": "second_factor", "reason": "THROTTLED"})
        log.warning("second factor refused reason=THROTTLED user=%s request_id=%s", user.public_id, request_id or "-")
        raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right.", "code")
    try:
        async with atomic() as conn:
            spent = (
                await SecondFactorChallenge.filter(id=challenge.id, used_at__isnull=True, voided_at__isnull=True)
                .using_db(conn)
                .update(used_at=now)
            )
            if not spent:  # another request answered (or voided) it meanwhile
                raise _challenge_invalid("RACE", request_id, client_address)
            how = await _accept_code(conn, user, factor, code, now)
            if how is None:
                raise _WrongCode  # rolls the challenge's use back
            token, expires_at = await open_session(
                user, now, request_id, client_address, attempt, {"secondFactor": how}, conn, user_agent
            )
        return token, expires_at, user
    except _WrongCode:
        pass
    # A wrong code: the throttle's row stays (a failure), and the challenge counts it.
    return await _wrong_code(challenge.id, user, now, request_id, client_address)


class _WrongCode(Exception):
    """Leaves the transaction that tried the code (nothing it wrote stays)."""


async def _wrong_code(challenge_id: int, user: User, now: datetime, request_id, client_address):
    async with atomic(bookkeeping=True) as conn:
        await SecondFactorChallenge.filter(id=challenge_id).using_db(conn).update(failures=F("failures") + 1)
        voided = (
            await SecondFactorChallenge.filter(
                id=challenge_id, failures__gte=two_factor.CHALLENGE_ATTEMPTS, voided_at__isnull=True
            )
            .using_db(conn)
            .update(voided_at=now)
        )
    login_refusals.add(1, {"step": "second_factor", "reason": "WRONG_CODE"})
    log.warning(
        "second factor refused reason=WRONG_CODE user=%s challenge_void=%s client=%s request_id=%s",
        user.public_id,
        "yes" if voided else "no",
        client_address or "-",
        request_id or "-",
    )
    message = "That code is not right." + (" Too many wrong codes: log in again." if voided else "")
    raise fail(ErrorCode.INVALID_SECOND_FACTOR, message, "code")


async def _count_code(actor: Actor, user: User, ok: bool) -> None:
    """A code given by an open session (to remove its own second factor) counts in the
    login throttle like a re-entered password: a wrong one is a failure, and the 5th
    within the window ends the session that sent it."""
    email = user.login_email or normalize_email(user.email)
    attempt = await throttle.reserve(email, actor.client_address, ceiling=False)
    if attempt is not None and ok:
        await throttle.succeeded(attempt)
        return
    if attempt is None or attempt.failures >= throttle.PER_ADDRESS_LIMIT:
        async with atomic(revokes_credentials=True, bookkeeping=True) as conn:
            ended = (
                await Session.filter(id=actor.principal.session_id, revoked_at__isnull=True)
                .using_db(conn)
                .update(revoked_at=clock.now())
            )
            if ended:
                details = {"session": actor.principal.session_ref, "reason": "SECOND_FACTOR_FAILURES"}
                await events.record(conn, actor, AuditAction.SESSION_REVOKED, "User", user.public_id, details)
    raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right.", "code")


async def disable_two_factor(actor: Actor, password: str | None, code: str | None) -> User:
    """The caller removes its own second factor, re-entering its password and a current
    code (or an unused recovery code). If its organization requires a second factor,
    its sessions may only enrol again from the next request."""
    code = (code or "").strip()
    if text_problem(code, _CODE_LENGTH):  # refused before anything is counted or read
        raise fail(ErrorCode.INVALID_SECOND_FACTOR, "That code is not right.", "code")
    await require_password(actor, password)
    user = await actor.data.users.get(id=actor.principal.user_id)
    factor = await TwoFactor.get_or_none(user_id=user.id, enabled_at__isnull=False)
    if factor is None:
        raise fail(ErrorCode.ALREADY_IN_STATE, "No second factor is on.")
    now = clock.now()
    try:
        async with atomic(revokes_credentials=True) as conn:
            await raw.lock_key(conn, _lock(user.id))
            how = await _accept_code(conn, user, factor, code, now)
            if how is None:
                raise _WrongCode
            await _remove(conn, user.id)
            await events.record(conn, actor, AuditAction.SECOND_FACTOR_DISABLED, "User", user.public_id, {"proof": how})
    except _WrongCode:
        await _count_code(actor, user, ok=False)
    return user


async def _remove(conn, user_id: int) -> None:
    """Remove a user's second factor, its recovery codes, and void its open challenges."""
    await TwoFactor.filter(user_id=user_id).using_db(conn).delete()
    await RecoveryCode.filter(user_id=user_id).using_db(conn).delete()
    await (
        SecondFactorChallenge.filter(user_id=user_id, used_at__isnull=True, voided_at__isnull=True)
        .using_db(conn)
        .update(voided_at=clock.now())
    )


async def reset_second_factor(actor: Actor, user_id: int, password: str | None) -> User:
    """An administrator removes another user's second factor (a lost phone, no recovery
    code left) and ends that user's sessions; the owner's only by the owner itself. The
    re-entered password counts in the login throttle."""
    await require_password(actor, password)
    async with atomic(revokes_credentials=True) as conn:
        user = await get_user(actor, user_id, conn)
        if user.id == actor.principal.user_id:
            raise fail(ErrorCode.NOT_ALLOWED_FOR_SELF, "Remove your own second factor with disableTwoFactor.", "userId")
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        if org.owner_user_id == user.id and not actor.principal.is_owner:
            raise fail(ErrorCode.OWNER_ONLY, "Only the owner removes the owner's second factor.", "userId")
        await _reset(conn, actor, user, None)
    return user


async def _reset(conn, actor: Actor, user: User, reason: str | None) -> int:
    await raw.lock_key(conn, _lock(user.id))
    if not await TwoFactor.filter(user_id=user.id, enabled_at__isnull=False).using_db(conn).exists():
        raise fail(ErrorCode.ALREADY_IN_STATE, "This user has no second factor.", "userId")
    await _remove(conn, user.id)
    revoked = await revoke_sessions(conn, user.id)
    details: dict = {"sessionsRevoked": revoked}
    if reason is not None:
        details["reason"] = reason
    await events.record(conn, actor, AuditAction.SECOND_FACTOR_RESET, "User", user.public_id, details)
    return revoked


async def break_glass_reset(actor: Actor, email: str, reason: str) -> tuple[User, int]:
    """`chrgraph users reset-second-factor`: the operator removes the second factor of
    any login account of the organization (the owner's, the support account's), ending
    its sessions; the reason is kept in the audit event. Answers the user and the
    number of sessions ended."""
    reason = (reason or "").strip()
    if not reason:
        raise fail(ErrorCode.INVALID_INPUT, "Give the reason (it is kept in the audit log).", "reason")
    problem = text_problem(reason, _REASON_LENGTH)
    if problem:
        raise fail(ErrorCode.INVALID_INPUT, problem, "reason")
    key = normalize_email(email or "")
    async with atomic(revokes_credentials=True) as conn:
        user = await actor.data.users.filter(login_email=key).exclude(status=UserStatus.INVITED).using_db(conn).first()
        if user is None:
            raise fail(ErrorCode.NOT_FOUND, "No such user in this organization.", "email")
        revoked = await _reset(conn, actor, user, reason)
    return user, revoked
