"""Who may read each object type, declared once per type, and applied to every
relation that reaches it.

A permission guards data, not entry points: an appointment's patient is read only by
those who may list patients, a role's members only by those who may list users. Each
object type of the schema has one entry below: the rule of the operations that list it
(the same rule classes the root fields declare), or `PART` for a type that is a piece of
the object or answer holding it (a user's license history, a connection's edges, a
mutation's payload) and is readable wherever its holder is.

`install` wraps the resolver of every field that returns a guarded type (directly, in a
list or as a connection of it) on any type but the root types, payloads and
connections: a caller the rule refuses gets `null` there and a `FORBIDDEN` error at its
path, and its other fields keep their data. The rule is decided once per request and
rule (`Context.reads`), not per row; the only per-object check is a rule's own-object
exception (one's own `User`, a consumer's own `ApiConsumer`), and only for a single
object, never a list. A payload's own fields are exempt: a mutation returns what it
changed to whoever may make the change; relations from there on are guarded."""

from __future__ import annotations

from collections.abc import Callable
from inspect import isawaitable
from typing import Any, Final

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from strawberry import Schema

from chrgraph.auth.principals import PrincipalKind
from chrgraph.graphql_engine import core_schema
from chrgraph.schema.errors import forbidden
from chrgraph.schema.permissions import (
    Authenticated,
    CanEditOtherUsers,
    CanManageOwnSchedule,
    CanManagePatients,
    CanManagePortal,
    CanManageSchedule,
    CanReadApiConsumer,
    CanReadUser,
    CanViewApiLogs,
    CanViewAuditLog,
    CanViewBilling,
    CanViewPatientAccessLog,
    CanViewUsers,
    CanViewWebhooks,
    Rule,
)


class _Part:
    """A piece of the object or answer that holds it: readable wherever its holder is."""

    def __repr__(self) -> str:
        return "PART"


PART: Final = _Part()

READ_RULES: dict[str, type[Rule] | _Part] = {
    # The types the operations list, by the rule of those operations.
    "Organization": Authenticated,
    "User": CanReadUser,
    "Role": CanViewUsers,
    "Patient": CanManagePatients,
    "IdentifierType": CanManagePatients,
    "Appointment": CanManageSchedule,
    "Questionnaire": CanManageSchedule,
    "InboxMessage": CanManageSchedule,
    "LabIntegration": CanManageSchedule,
    "MdBillingConnection": CanManageSchedule,
    "Schedule": CanManageOwnSchedule,
    "OwnerAvailability": CanManageOwnSchedule,
    "LicenseUpgradeRequest": CanEditOtherUsers,
    "UnmappedUser": CanEditOtherUsers,
    "DeactivationPreview": CanEditOtherUsers,
    "HandoverReport": CanEditOtherUsers,
    "BillingStatement": CanViewBilling,
    "PortalSettings": CanManagePortal,
    "AuditEvent": CanViewAuditLog,
    "PatientAccess": CanViewPatientAccessLog,
    "ApiLog": CanViewApiLogs,
    "ApiConsumer": CanReadApiConsumer,
    "LicenseInfo": Authenticated,
    "WebhookSubscription": CanViewWebhooks,
    "WebhookDelivery": CanViewWebhooks,
    "WebhookAttempt": PART,  # a delivery's attempts
    # Pieces of their holder.
    "Viewer": PART,  # the caller itself
    "FeatureAccess": PART,  # the answer of featureAccess, whose rule admits its user
    "LicenseChange": PART,  # a user's license history
    "LocumDetails": PART,  # a user's locum cover
    "SecurityPolicy": PART,  # an organization's security policy
    "Session": PART,  # one's own sessions (mySessions: any session, for itself)
    "PatientIdentifierValue": PART,  # a patient's identifiers
    "PostalAddress": PART,  # a patient's address
    "ApiConsumerKey": PART,  # a consumer's keys
    "FieldChange": PART,
    "WeeklyInterval": PART,  # a schedule's weekly hours
    "ScheduleException": PART,  # a schedule's dated exceptions
    "TimeInterval": PART,  # an exception's intervals  # an audit event's changes
    "PortalImage": PART,  # the portal's background image
    "BillingLine": PART,
    "BillingStatementForecast": PART,
    "DeactivationReport": PART,  # ids only, in deactivateUser's payload
    "DeactivationHandover": PART,  # ids only, in a handover report
    "HandedOverItem": PART,
    "PageInfo": PART,
    "UserError": PART,
}


# A piece recorded as an audit event's target, read by its holder's rule.
_HELD_BY: Final = {"PortalImage": "PortalSettings"}

# Types whose rule admits consumers but whose operations give a consumer only its own
# rows (its webhook subscriptions and their deliveries): see `may_read_changes`.
_CONSUMER_OWN_ROWS: Final = frozenset({"WebhookSubscription", "WebhookDelivery"})


def may_read_type(context: Any, type_name: str) -> bool:
    """Whether the request's caller may read objects of the named type, by the type's read
    rule, decided once per request (`Context.reads`). A type without a rule of its own is
    unreadable here: what is not declared is not shown."""
    rule = READ_RULES.get(_HELD_BY.get(type_name, type_name))
    if not isinstance(rule, type):
        return False
    reads = context.reads
    allowed = reads.get(rule)
    if allowed is None:
        allowed = reads[rule] = rule.allows(context.principal)
    return bool(allowed)


def may_read_changes(context: Any, target_type: str, actor_id: str | None) -> bool:
    """Whether the caller may read the values an audit event recorded about a target of
    this type: the type's read rule, and for a consumer reading about rows it sees only
    its own of (another vendor's webhook URL can carry that vendor's token), only the
    changes it made itself. Decided from the event alone: no statement per event."""
    if not may_read_type(context, target_type):
        return False
    principal = context.principal
    if target_type in _CONSUMER_OWN_ROWS and principal.kind is PrincipalKind.CONSUMER:
        return actor_id is not None and actor_id == principal.actor_id
    return True


def _is_payload(type_: GraphQLNamedType) -> bool:
    return type_.name.endswith("Payload")


def _connection_node(type_: GraphQLNamedType) -> GraphQLNamedType | None:
    """The item type of a relay connection (`XConnection.edges.node`), else None."""
    if not isinstance(type_, GraphQLObjectType) or not type_.name.endswith("Connection"):
        return None
    edges = type_.fields.get("edges")
    if edges is None:
        return None
    edge = get_named_type(edges.type)
    if not isinstance(edge, GraphQLObjectType) or "node" not in edge.fields:
        return None
    return get_named_type(edge.fields["node"].type)


def _is_container(type_: GraphQLNamedType) -> bool:
    """A connection or its edge: guarded where the connection is returned."""
    if _connection_node(type_) is not None:
        return True
    return type_.name.endswith("Edge") and isinstance(type_, GraphQLObjectType) and "node" in type_.fields


def declared(type_: GraphQLNamedType) -> type[Rule] | _Part | None:
    """The type's read rule; a connection or edge has its item's; a payload is PART."""
    if _is_payload(type_):
        return PART
    node = _connection_node(type_)
    if node is not None:
        return declared(node)
    if _is_container(type_):
        return PART
    return READ_RULES.get(type_.name)


def guarded_fields(core: GraphQLSchema) -> list[tuple[GraphQLObjectType, str, GraphQLField, type[Rule]]]:
    """(holder, field name, field, rule) for every relation a read rule guards."""
    roots = {core.query_type, core.mutation_type, core.subscription_type}
    found = []
    for type_ in core.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__") or type_ in roots:
            continue
        if _is_payload(type_) or _is_container(type_):
            continue
        for name, field in type_.fields.items():
            target = get_named_type(field.type)
            if not isinstance(target, (GraphQLObjectType, GraphQLInterfaceType)):
                continue
            rule = declared(target)
            if isinstance(rule, type) and rule.refuses_some_caller:  # a rule admitting all needs no guard
                found.append((type_, name, field, rule))
    return found


def _default_resolve(name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        return getattr(source, name, None)

    return resolve


def _own(value: Any, rule: type[Rule], principal: Any) -> Any:
    """A refused caller still reads a single object that is its own; never a list."""
    if value is None:
        return None
    if not isinstance(value, list) and rule.admits(principal, value):
        return value
    raise forbidden("You are not allowed to read this.")


async def _own_later(value: Any, rule: type[Rule], principal: Any) -> Any:
    return _own(await value, rule, principal)


# Relations of one's own object that are one's own too: a user always sees its own roles
# (the roles themselves; their members stay behind VIEW_USERS).
OWN_RELATIONS: Final = {("User", "roles"): CanReadUser}


def guard(resolve: Callable[..., Any], rule: type[Rule], holder: type[Rule] | None = None) -> Callable[..., Any]:
    """`resolve`, for callers the rule admits (decided once per request), and, when the
    relation is one of `OWN_RELATIONS`, for the caller whose own object `holder` says the
    source is."""

    def guarded(source: Any, info: Any, **kwargs: Any) -> Any:
        resolve = guarded.inner  # type: ignore[attr-defined]  # the executor may swap in its fast resolver
        context = info.context
        reads = context.reads
        allowed = reads.get(rule)
        if allowed is None:
            allowed = reads[rule] = rule.allows(context.principal)
        if allowed or (holder is not None and holder.admits(context.principal, source)):
            return resolve(source, info, **kwargs)
        if not rule.admits_own:
            raise forbidden("You are not allowed to read this.")
        value = resolve(source, info, **kwargs)
        if isawaitable(value):
            return _own_later(value, rule, context.principal)
        return _own(value, rule, context.principal)

    guarded.read_rule = rule  # type: ignore[attr-defined]  # the schema walk reads it
    # What it guards, replaceable: the GraphQL engine's fast paths, installed after the
    # schema is built, put their resolver here and keep the guard (graphql_engine.executor).
    guarded.inner = resolve  # type: ignore[attr-defined]
    return guarded


def install(schema: Schema) -> None:
    """Guard every relation of the schema by its target type's read rule, once, at import.
    A field that a rule refusing some callers guards must be nullable (a refusal would
    otherwise wipe its holder)."""
    core = core_schema(schema)
    for type_ in core.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            if declared(type_) is None and type_ not in (core.query_type, core.mutation_type):
                raise TypeError(f"{type_.name} declares no read rule (chrgraph/schema/reads.py)")
    for holder, name, field, rule in guarded_fields(core):
        if rule.refuses_some_caller and isinstance(field.type, GraphQLNonNull):
            raise TypeError(f"{holder.name}.{name} can be refused, so it must be nullable")
        resolve = field.resolve
        if resolve is None:  # graphql-core's default: strawberry reads the Python attribute
            definition = schema.get_field_for_type(name, holder.name)
            resolve = _default_resolve(definition.python_name if definition is not None else name)
        field.resolve = guard(resolve, rule, OWN_RELATIONS.get((holder.name, name)))
