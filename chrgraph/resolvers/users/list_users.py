"""`users`: the organization's users (never its support account), filtered and
ordered; text search on the folded name-and-email key."""

from __future__ import annotations

from chrgraph.auth.principals import Actor
from chrgraph.db.models import UserType
from chrgraph.resolvers.users.text import fold

ORDERS = {
    "LAST_NAME": ("last_name", "first_name", "id"),
    "FIRST_NAME": ("first_name", "last_name", "id"),
    "EMAIL": ("email", "id"),
    "CREATED_AT": ("created_at", "id"),
}


def users_query(
    actor: Actor,
    *,
    status=None,
    type=None,
    classification=None,
    license=None,
    search: str | None = None,
    order: str = "LAST_NAME",
    descending: bool = False,
):
    query = actor.data.users.exclude(type=UserType.SUPPORT)
    for name, value in (
        ("status", status),
        ("type", type),
        ("classification", classification),
        ("license", license),
    ):
        if value is not None:
            query = query.filter(**{name: value})
    if search:
        for word in fold(search).split():
            query = query.filter(search_key__contains=word)
    return query.order_by(*users_order(order, descending))


def users_order(order: str = "LAST_NAME", descending: bool = False) -> tuple[str, ...]:
    """The order of `users` (and of its cursors)."""
    return tuple(f"-{f}" if descending else f for f in ORDERS[order])


def roles_query(actor: Actor):
    return actor.data.roles.order_by("id")
