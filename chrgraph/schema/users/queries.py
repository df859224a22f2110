"""Queries of users and roles."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.resolvers.users import queries
from chrgraph.resolvers.users.list_users import roles_query, users_order, users_query
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import checked_text
from chrgraph.schema.nodes import register_node
from chrgraph.schema.permissions import CanViewUser, CanViewUsers
from chrgraph.schema.relay import After, Before, Connection, First, Last, paginate, parse_global_id, selects
from chrgraph.schema.users.types import (
    USER_COLUMNS,
    Classification,
    License,
    Role,
    User,
    UserStatus,
    UserType,
    organization_owner_id,
    preload_access,
)


@strawberry.enum(description="How `users` is ordered.")
class UserOrderField(Enum):
    LAST_NAME = "LAST_NAME"
    FIRST_NAME = "FIRST_NAME"
    EMAIL = "EMAIL"
    CREATED_AT = "CREATED_AT"


describe_values(
    UserOrderField,
    {
        UserOrderField.LAST_NAME: "By family name, then given name (case- and accent-insensitive).",
        UserOrderField.FIRST_NAME: "By given name, then family name (case- and accent-insensitive).",
        UserOrderField.EMAIL: "By login email.",
        UserOrderField.CREATED_AT: "By when the user was created, oldest first.",
    },
)


@strawberry.input(description="Narrow `users`; every filter is optional.")
class UserFilter:
    status: UserStatus | None = strawberry.field(default=None, description="Only this status.")
    type: UserType | None = strawberry.field(default=None, description="Only this type.")
    classification: Classification | None = strawberry.field(default=None, description="Only this one.")
    license: License | None = strawberry.field(default=None, description="Only this license.")
    search: str | None = strawberry.field(
        default=None, description="Words found in name or email, ignoring case and accents."
    )


@strawberry.input(description="Ordering of `users`.")
class UserOrder:
    field: UserOrderField = strawberry.field(default=UserOrderField.LAST_NAME, description="Sort key.")
    descending: bool = strawberry.field(default=False, description="Largest first.")


@strawberry.type
class UsersQuery:
    @strawberry.field(
        description="The organization's users (never its support account).", permission_classes=[CanViewUsers]
    )
    async def users(
        self,
        info: strawberry.Info,
        filter: Annotated[
            UserFilter | None, strawberry.argument(description="Narrow the list; every filter is optional.")
        ] = None,
        order_by: Annotated[
            UserOrder | None,
            strawberry.argument(description="The order (default: last name, then first name, ascending)."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[User] | None:
        f, o = filter or UserFilter(), order_by or UserOrder()
        checked_text(f.search, "search", 200)
        query = users_query(
            info.context.actor,
            status=f.status,
            type=f.type,
            classification=f.classification,
            license=f.license,
            search=f.search,
            order=o.field.value,
            descending=o.descending,
        )
        s = info.context.settings
        page = await paginate(
            query,
            User.from_model,
            order=users_order(o.field.value, o.descending),
            first=first,
            after=after,
            last=last,
            before=before,
            default=s.default_page_size,
            maximum=s.max_page_size,
            columns=USER_COLUMNS,
            counted=selects(info, "totalCount", "pageInfo"),
        )
        if selects(info, "roles", "permissions", "extraPermissions"):
            owner_id = await organization_owner_id(info) if selects(info, "permissions") else None
            await preload_access([e.node for e in page.edges], owner_id)
        return page

    @strawberry.field(
        description="One user of your organization by id (yourself always).", permission_classes=[CanViewUser]
    )
    async def user(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The user's global id.")],
    ) -> User | None:
        parsed = parse_global_id(id, "User")
        if parsed is None:
            return None
        row = await queries.visible_user(info.context.data, parsed[1])
        return User.from_model(row) if row else None

    @strawberry.field(description="The organization's roles.", permission_classes=[CanViewUsers])
    async def roles(self, info: strawberry.Info) -> list[Role] | None:
        return [Role.from_model(r) for r in await roles_query(info.context.actor)]


async def _user_node(ctx, public_id: str) -> User | None:
    row = await queries.visible_user(ctx.data, public_id)
    if row is None or not (CanViewUsers.allows(ctx.principal) or ctx.principal.user_id == row.id):
        return None
    return User.from_model(row)


async def _role_node(ctx, public_id: str) -> Role | None:
    row = await queries.role(ctx.data, public_id)
    return Role.from_model(row) if row else None


register_node("User", _user_node)
register_node("Role", _role_node, CanViewUsers)
