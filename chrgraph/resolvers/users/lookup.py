"""Finding a user of the actor's organization; anything else is NOT_FOUND."""

from __future__ import annotations

from chrgraph.auth.passwords import MAX_LENGTH, verify_password
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import User, UserType
from chrgraph.resolvers.errors import ErrorCode, fail
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
    if text_problem(password, MAX_LENGTH) or not await verify_password(user.password_hash, password):
        raise fail(ErrorCode.PASSWORD_INVALID, "That password is not right.", "password")
