"""API consumer management and API logs through GraphQL: the support
account only (apiLogs: support and owner)."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from chrgraph.db.models import ApiLog as ApiLogModel
from chrgraph.resolvers.audit.api_logs import ORDER as API_LOG_ORDER
from chrgraph.resolvers.audit.api_logs import api_logs_query, may_read_content
from chrgraph.resolvers.consumers import manage
from chrgraph.resolvers.consumers import queries as consumer_queries
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.schema.consumers.types import ApiConsumer, ApiConsumerKey
from chrgraph.schema.errors import UserError, bad_user_input, checked_text
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManageApiConsumers, CanViewApiLogs, OwnerOrSupport
from chrgraph.schema.relay import After, Before, Connection, First, Last, paginate, parse_global_id
from chrgraph.schema.users.types import Permission


async def _issuer(info: strawberry.Info, consumer_id: relay.GlobalID) -> str:
    """The issuer of a consumer of the caller's organization, read by the public id its
    global id carries (one statement); any other id is NOT_FOUND."""
    parsed = parse_global_id(consumer_id, "ApiConsumer")
    row = await consumer_queries.consumer(info.context.data, parsed[1]) if parsed else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such API consumer.", "consumerId")
    return row.issuer


def _by_issuer(actor, operation, **fixed):
    """`operation(actor, issuer, ...)` called with the consumer's public id (what its global
    id carries) instead of its issuer: the operation reads the row by it, one statement."""

    async def run(consumer_id: str, **arguments):
        return await operation(actor, manage.ByPublicId(consumer_id), **arguments, **fixed)

    return run


@strawberry.type(
    description=(
        "One HTTP request of an API consumer (secrets redacted). Its content (query text, variables, "
        "response body) is shown to the owner only: for the support account those fields are null."
    )
)
class ApiLog:
    created_at: datetime.datetime = strawberry.field(description="When it arrived (UTC).")
    issuer: str = strawberry.field(description="The consumer's issuer.")
    key_id: str | None = strawberry.field(description="The kid that verified its token.")
    key_fingerprint: str | None = strawberry.field(
        description="The fingerprint of the key that verified its token (null on rows from before it was kept)."
    )
    request_id: str = strawberry.field(description="Request id (the server's; the X-Request-Id answered).")
    client_request_id: str | None = strawberry.field(description="The X-Request-Id the caller sent, if any.")
    method: str = strawberry.field(description="HTTP method.")
    operation_name: str | None = strawberry.field(description="GraphQL operation name.")
    query: str | None = strawberry.field(description="The query text, redacted (owner only; null for support).")
    variables: JSON | None = strawberry.field(
        description="The variables, redacted (owner only; null for support and when none were sent)."
    )
    status: int = strawberry.field(description="HTTP status answered.")
    response_body: str | None = strawberry.field(description="The answer, redacted (owner only; null for support).")
    duration_ms: float = strawberry.field(description="Time to answer.")

    @classmethod
    def from_model(cls, row: ApiLogModel, *, content: bool) -> ApiLog:
        """The row; its content (decrypted here, only then) when `content`."""
        return cls(
            created_at=row.created_at,
            issuer=row.consumer.issuer,
            key_id=row.key_id,
            key_fingerprint=row.key_fingerprint,
            request_id=row.request_id,
            client_request_id=row.client_request_id,
            method=row.method,
            operation_name=row.operation_name,
            query=row.query if content else None,
            variables=row.variables if content else None,
            status=row.status,
            response_body=row.response_body if content else None,
            duration_ms=row.duration_ms,
        )


@strawberry.input(description="Register an API consumer with its first public key.")
class CreateApiConsumerInput:
    name: str = strawberry.field(description="Display name.")
    public_key: str = strawberry.field(description="RSA public key, PEM or JWK, at least 2048 bits.")
    issuer: str | None = strawberry.field(default=None, description="The `iss` its tokens carry (default: name).")
    kid: str | None = strawberry.field(default=None, description="Key id its tokens name.")


@strawberry.type(description="The result of createApiConsumer.")
class CreateApiConsumerPayload:
    api_consumer: ApiConsumer | None = strawberry.field(description="The consumer.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Deactivate an API consumer.")
class DeactivateApiConsumerInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )


@strawberry.input(description="Reactivate an API consumer.")
class ReactivateApiConsumerInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )


@strawberry.type(description="The result of deactivating or reactivating a consumer.")
class ApiConsumerPayload:
    api_consumer: ApiConsumer | None = strawberry.field(description="The consumer.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.type(description="The result of deactivateApiConsumer.")
class DeactivateApiConsumerPayload(ApiConsumerPayload):
    pass


@strawberry.type(description="The result of reactivateApiConsumer.")
class ReactivateApiConsumerPayload(ApiConsumerPayload):
    pass


@strawberry.input(description="Add a public key (rotation).")
class AddApiConsumerKeyInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )
    public_key: str = strawberry.field(description="RSA public key, PEM or JWK.")
    kid: str = strawberry.field(description="Key id, unique for the consumer.")


@strawberry.type(description="The result of addApiConsumerKey.")
class AddApiConsumerKeyPayload:
    key: ApiConsumerKey | None = strawberry.field(description="The new key.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Revoke a public key.")
class RevokeApiConsumerKeyInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )
    kid: str = strawberry.field(description="The key id.")


@strawberry.type(description="The result of revokeApiConsumerKey.")
class RevokeApiConsumerKeyPayload:
    key: ApiConsumerKey | None = strawberry.field(description="The revoked key.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Set an API consumer's cost budget.")
class SetApiConsumerCostBudgetInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )
    cost_per_minute: int | None = strawberry.field(
        description=(
            "Objects its documents may ask for per minute, 0 to 1,000,000,000 (INVALID_INPUT otherwise); "
            "null: the server's default."
        )
    )


@strawberry.type(description="The result of setApiConsumerCostBudget.")
class SetApiConsumerCostBudgetPayload:
    api_consumer: ApiConsumer | None = strawberry.field(description="The consumer.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Narrow what an API consumer may do and grant, or give it its default set back.")
class SetApiConsumerPermissionsInput:
    consumer_id: relay.GlobalID = strawberry.field(
        description="The consumer.", metadata=refers_to("ApiConsumer", key=False)
    )
    permissions: list[Permission] | None = strawberry.field(
        description=(
            "The permissions it holds from now on (an empty list: none); never MANAGE_API_CONSUMERS "
            "(PERMISSION_NOT_GRANTABLE). Null: the default, every permission but MANAGE_API_CONSUMERS."
        )
    )


@strawberry.type(description="The result of setApiConsumerPermissions.")
class SetApiConsumerPermissionsPayload:
    api_consumer: ApiConsumer | None = strawberry.field(description="The consumer.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Narrow `apiLogs`.")
class ApiLogFilter:
    consumer_id: relay.GlobalID | None = strawberry.field(default=None, description="Only this consumer.")
    since: datetime.datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime.datetime | None = strawberry.field(default=None, description="Before.")
    status: int | None = strawberry.field(default=None, description="Only this HTTP status.")
    operation_name: str | None = strawberry.field(default=None, description="Only this GraphQL operation name.")
    request_id: str | None = strawberry.field(default=None, description="Only this request id.")


@strawberry.type
class ConsumersQuery:
    @strawberry.field(
        description=(
            "The organization's API consumers: the owner and the support account read them; only support changes them."
        ),
        permission_classes=[OwnerOrSupport],
    )
    async def api_consumers(self, info: strawberry.Info) -> list[ApiConsumer] | None:
        return [ApiConsumer.from_model(c) for c in await manage.list_api_consumers(info.context.actor)]

    @strawberry.field(
        description=(
            "API consumer requests, newest first: every row's metadata to the owner and the support account, "
            "the content (query text, variables, answer) to the owner only."
        ),
        permission_classes=[CanViewApiLogs],
    )
    async def api_logs(
        self,
        info: strawberry.Info,
        filter: Annotated[
            ApiLogFilter | None, strawberry.argument(description="Narrow the rows; every filter is optional.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ApiLog] | None:
        f = filter or ApiLogFilter()
        issuer = None
        if f.consumer_id is not None:
            try:
                issuer = await _issuer(info, f.consumer_id)
            except OperationFailed as exc:
                raise bad_user_input("No such API consumer.") from exc
        query = await api_logs_query(
            info.context.actor,
            issuer=issuer,
            since=f.since,
            until=f.until,
            status=f.status,
            operation_name=checked_text(f.operation_name, "operationName", 255),
            request_id=checked_text(f.request_id, "requestId", 64),
        )
        s = info.context.settings
        return await paginate(
            query,
            partial(ApiLog.from_model, content=may_read_content(info.context.actor)),
            order=API_LOG_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )


@strawberry.type
class ConsumersMutation:
    @strawberry.mutation(description="Register an API consumer.", permission_classes=[CanManageApiConsumers])
    async def create_api_consumer(
        self, info: strawberry.Info, input: CreateApiConsumerInput
    ) -> CreateApiConsumerPayload | None:
        operation = partial(manage.create_api_consumer, info.context.actor)
        return await perform(CreateApiConsumerPayload, operation, input, api_consumer=ApiConsumer.from_model)

    @strawberry.mutation(
        description="Deactivate a consumer: refused from the next request.",
        permission_classes=[CanManageApiConsumers],
    )
    async def deactivate_api_consumer(
        self, info: strawberry.Info, input: DeactivateApiConsumerInput
    ) -> DeactivateApiConsumerPayload | None:
        operation = _by_issuer(info.context.actor, manage.set_api_consumer_active, active=False)
        return await perform(DeactivateApiConsumerPayload, operation, input, api_consumer=ApiConsumer.from_model)

    @strawberry.mutation(description="Reactivate a consumer.", permission_classes=[CanManageApiConsumers])
    async def reactivate_api_consumer(
        self, info: strawberry.Info, input: ReactivateApiConsumerInput
    ) -> ReactivateApiConsumerPayload | None:
        operation = _by_issuer(info.context.actor, manage.set_api_consumer_active, active=True)
        return await perform(ReactivateApiConsumerPayload, operation, input, api_consumer=ApiConsumer.from_model)

    @strawberry.mutation(description="Add a public key.", permission_classes=[CanManageApiConsumers])
    async def add_api_consumer_key(
        self, info: strawberry.Info, input: AddApiConsumerKeyInput
    ) -> AddApiConsumerKeyPayload | None:
        operation = _by_issuer(info.context.actor, manage.add_api_consumer_key)
        return await perform(AddApiConsumerKeyPayload, operation, input, key=ApiConsumerKey.from_model)

    @strawberry.mutation(
        description="Revoke a public key: refused from the next request.",
        permission_classes=[CanManageApiConsumers],
    )
    async def revoke_api_consumer_key(
        self, info: strawberry.Info, input: RevokeApiConsumerKeyInput
    ) -> RevokeApiConsumerKeyPayload | None:
        operation = _by_issuer(info.context.actor, manage.revoke_api_consumer_key)
        return await perform(RevokeApiConsumerKeyPayload, operation, input, key=ApiConsumerKey.from_model)

    @strawberry.mutation(
        description=(
            "Set a consumer's cost budget per minute (every server process applies it within a second). "
            "Errors: NOT_FOUND, INVALID_INPUT."
        ),
        permission_classes=[CanManageApiConsumers],
    )
    async def set_api_consumer_cost_budget(
        self, info: strawberry.Info, input: SetApiConsumerCostBudgetInput
    ) -> SetApiConsumerCostBudgetPayload | None:
        operation = _by_issuer(info.context.actor, manage.set_api_consumer_cost_budget)
        return await perform(SetApiConsumerCostBudgetPayload, operation, input, api_consumer=ApiConsumer.from_model)

    @strawberry.mutation(
        description=(
            "Set what a consumer may do and grant: its next request is held to it (in every server process "
            "within a second). Errors: NOT_FOUND, PERMISSION_NOT_GRANTABLE."
        ),
        permission_classes=[CanManageApiConsumers],
    )
    async def set_api_consumer_permissions(
        self, info: strawberry.Info, input: SetApiConsumerPermissionsInput
    ) -> SetApiConsumerPermissionsPayload | None:
        operation = _by_issuer(info.context.actor, manage.set_api_consumer_permissions)
        return await perform(SetApiConsumerPermissionsPayload, operation, input, api_consumer=ApiConsumer.from_model)
