"""The root Query type."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.auth.principals import PrincipalKind as DomainPrincipalKind
from chrgraph.resolvers.audit.list_events import EVENT_ORDER, audit_events_query
from chrgraph.resolvers.audit.patient_access_log import ACCESS_ORDER, patient_access_query
from chrgraph.schema.audit.types import AuditEvent, AuditEventFilter, PatientAccess
from chrgraph.schema.consumers.types import ApiConsumer
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import bad_user_input, checked_text
from chrgraph.schema.nodes import resolve_node
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.permissions import Authenticated, CanViewAuditLog, CanViewPatientAccessLog, ViewerRule
from chrgraph.schema.relay import After, Before, Connection, First, Last, check_cursors, paginate, parse_global_id
from chrgraph.schema.users.types import User

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainPrincipalKind, description="What kind of principal is calling.")
PrincipalKind = DomainPrincipalKind
describe_values(
    PrincipalKind,
    {
        PrincipalKind.CONSUMER: "An API consumer, with a JWT it signed.",
        PrincipalKind.USER: "A user of the clinic, with a session from `login`.",
        PrincipalKind.SUPPORT: "The organization's support account (its session, or the command line).",
        PrincipalKind.SYSTEM: "The server itself or an operator's command (scheduled jobs, imports).",
    },
)


@strawberry.type(description="Who is calling, and in which organization.")
class Viewer:
    kind: PrincipalKind = strawberry.field(description="Consumer, user, support or system.")
    organization_id: strawberry.Private[int]
    consumer_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None] = None

    @strawberry.field(description="The organization the caller acts in.")
    async def organization(self, info: strawberry.Info) -> Organization:
        row = await info.context.loaders.organization_by_id.load(self.organization_id)
        return Organization.from_model(row)

    @strawberry.field(description="The user (or support account), when the caller is a session.")
    async def user(self, info: strawberry.Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.user_id)
        return User.from_model(row) if row else None

    @strawberry.field(description="The API consumer, when the caller is one.")
    async def consumer(self, info: strawberry.Info) -> ApiConsumer | None:
        if self.consumer_id is None:
            return None
        row = await info.context.loaders.api_consumer_by_id.load(self.consumer_id)
        return ApiConsumer.from_model(row) if row else None


@strawberry.type
class Query:
    @strawberry.field(description="The calling principal.", permission_classes=[ViewerRule])
    def viewer(self, info: strawberry.Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            kind=principal.kind,
            organization_id=principal.organization_id,
            consumer_id=principal.consumer_id,
            user_id=principal.user_id,
        )

    @strawberry.field(
        description="Any object of your organization by its global id.", permission_classes=[Authenticated]
    )
    async def node(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="A global id, as returned in any `id` field.")],
    ) -> relay.Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(
        description="Several objects by global id (null where not found).", permission_classes=[Authenticated]
    )
    async def nodes(
        self,
        info: strawberry.Info,
        ids: Annotated[
            list[relay.GlobalID],
            strawberry.argument(description="Global ids, at most 100; the answer keeps their order."),
        ],
    ) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise bad_user_input(f"At most {info.context.settings.max_page_size} ids.")
        return [await resolve_node(info.context, i) for i in ids]

    @strawberry.field(
        description="The organization's audit events, newest first.", permission_classes=[CanViewAuditLog]
    )
    async def audit_events(
        self,
        info: strawberry.Info,
        filter: Annotated[
            AuditEventFilter | None, strawberry.argument(description="Narrow the events; every filter is optional.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEvent] | None:
        f = filter or AuditEventFilter()
        query = audit_events_query(
            info.context.actor,
            actor_kind=f.actor_kind,
            actor_id=checked_text(f.actor_id, "actorId", 64),
            action=f.action,
            target_type=checked_text(f.target_type, "targetType", 64),
            target_id=checked_text(f.target_id, "targetId", 64),
            since=f.since,
            until=f.until,
        )
        settings = info.context.settings
        return await paginate(
            query,
            AuditEvent.from_model,
            order=EVENT_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=settings.default_page_size,
            maximum=settings.max_page_size,
        )

    @strawberry.field(
        description="Who read this patient's data (sessions and consumers), newest first; null for an unknown patient.",
        permission_classes=[CanViewPatientAccessLog],
    )
    async def patient_access_log(
        self,
        info: strawberry.Info,
        patient_id: Annotated[relay.GlobalID, strawberry.argument(description="The patient whose reads are listed.")],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[PatientAccess] | None:
        check_cursors(ACCESS_ORDER, after, before)
        parsed = parse_global_id(patient_id, "Patient")
        query = await patient_access_query(info.context.actor, parsed[1]) if parsed else None
        if query is None:
            return None
        settings = info.context.settings
        return await paginate(
            query,
            PatientAccess.from_model,
            order=ACCESS_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=settings.default_page_size,
            maximum=settings.max_page_size,
        )
