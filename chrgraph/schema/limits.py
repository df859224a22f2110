"""What a document may ask for, measured before it runs, once per distinct document:
depth, aliases, how far introspection expands types, and cost (how many objects it can
return).

strawberry's QueryDepthLimiter and MaxAliasesLimiter report through validation
messages we would have to parse to tell them from other validation errors; these
limits have their own code (QUERY_TOO_COMPLEX), so we walk the AST ourselves. It
runs after validation (so fragments are acyclic and every field exists) and memoizes
each fragment, so a "fragment bomb" costs linear time.

Cost: every object the answer can hold counts one. A connection counts its page
(`first`/`last`, or the default page) and multiplies what its nodes select; a plain
list of objects counts its declared maximum (`LIST_MAXIMA`) and multiplies likewise;
a single object counts one; scalars, lists of scalars, a connection's own wrappers
(`edges`, `node`, `pageInfo`) and introspection count nothing. When a page size is a
variable the cost is kept as a small expression and evaluated per request."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    is_leaf_type,
    value_from_ast_untyped,
)

# The declared maximum of each plain list of objects ("Type.field"), charged in full
# whatever the list holds. Bounded by the data where the comment says so; elsewhere the
# size of a large clinic (docs/decisions.md). A new plain list of objects must be added
# here or be a connection (tests/test_query_cost.py walks the schema).
LIST_MAXIMA: dict[str, int] = {
    "Query.licenseCatalog": 6,  # one per license
    "BillingStatement.lines": 7,  # one per license, then the unlicensed
    "BillingStatementForecast.lines": 7,
    "AuditEvent.changes": 20,  # one per changed column of a record
    "ApiConsumer.keys": 10,
    "User.roles": 5,
    "User.licenseHistory": 20,
    "Role.members": 50,
    "Query.roles": 20,
    "Query.apiConsumers": 20,
    "Query.identifierTypes": 10,
    "Patient.identifiers": 5,
    "Appointment.questionnaires": 5,
    "Query.labIntegrations": 20,
    "Query.mdBillingConnections": 20,
    "Query.licenseUpgradeRequests": 50,
    "BillingLine.users": 200,
    "Query.unmappedUsers": 200,
    "RunLicenseMappingPayload.applied": 200,
    "RunLicenseMappingPayload.unmapped": 200,
    "HandoverReport.deactivations": 10,  # a user deactivated that often is rare
    "DeactivationHandover.items": 200,  # a busy practitioner's future work
    "HandoverReport.handedOverAhead": 200,
    "Schedule.weekly": 56,  # 8 intervals a day at most
    "Schedule.exceptions": 367,  # dated today to a year ahead
    "ScheduleException.intervals": 8,
    "Query.mySessions": 100,  # a user's open sessions (12 hours each by default)
    "Query.webhookSubscriptions": 400,  # 20 live ones per consumer; the owner reads every consumer's
    "WebhookDelivery.attempts": 20,  # 1 + 5 retries, and redeliveries
}
# Lists declared by their item type wherever they appear: a payload's errors.
ITEM_MAXIMA: dict[str, int] = {"UserError": 20}
# A list as long as one of its arguments (`nodes(ids: …)`).
LENGTH_OF_ARGUMENT: dict[str, str] = {"Query.nodes": "ids"}
# A list with one object per owner, charged per owner and day asked for (each owner's
# answer holds every slot of the range): (owners, from, to) arguments.
PER_OWNER_AND_DAY: dict[str, tuple[str, str, str]] = {"Query.availableSlots": ("ownerIds", "from", "to")}
MAX_SLOT_DAYS = 31

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Introspection fields that list a type's members: asked for again below one another
# (`fields { type { fields { … } } }`) they multiply without bound; the standard
# introspection query of GraphiQL and the code generators asks for each once per path.
_EXPANDING = frozenset({"fields", "inputFields", "interfaces", "possibleTypes", "enumValues"})


@dataclass(frozen=True, slots=True)
class CostContext:
    """What evaluates a cost expression: the request's variables and the operation's
    variable defaults, and the page sizes."""

    variables: dict[str, Any]
    defaults: dict[str, Any]
    default_page: int
    max_page: int

    def value(self, name: str) -> Any:
        return self.variables[name] if name in self.variables else self.defaults.get(name)


@dataclass(frozen=True, slots=True)
class Page:
    """A connection's page whose size names a variable."""

    first: int | str | None
    last: int | str | None

    def size(self, ctx: CostContext) -> int:
        sizes = []
        for given in (self.first, self.last):
            value = ctx.value(given) if isinstance(given, str) else given
            if isinstance(value, int) and not isinstance(value, bool):
                # Above the maximum the connection refuses the request; count what it may return.
                sizes.append(min(max(value, 0), ctx.max_page))
        return max(sizes) if sizes else ctx.default_page


@dataclass(frozen=True, slots=True)
class LengthOf:
    """A list as long as a variable's list (`nodes(ids: $ids)`)."""

    variable: str

    def size(self, ctx: CostContext) -> int:
        value = ctx.value(self.variable)
        if isinstance(value, list):
            return len(value)
        return 0 if value is None else 1  # one value is coerced to a list of one


def _argument(node: Any, ctx: CostContext | None) -> Any:
    """An argument's value: a variable's from the request (None before it is known), or
    the literal's."""
    if isinstance(node, VariableNode):
        return ctx.value(node.name.value) if ctx is not None else None
    if isinstance(node, ListValueNode):
        return list(node.values)
    return getattr(node, "value", None)


def _days(start: Any, end: Any) -> int:
    """Days from `start` to `end` (ISO 8601 instants), rounded up, 1 to 31; the most
    when either is missing or unreadable (the operation then refuses it anyway)."""
    try:
        first, last = (datetime.fromisoformat(str(v).replace("Z", "+00:00")) for v in (start, end))
        span = (last - first).total_seconds()
    except (TypeError, ValueError):
        return MAX_SLOT_DAYS
    return min(max(math.ceil(span / 86400), 1), MAX_SLOT_DAYS)


@dataclass(frozen=True, slots=True)
class PerOwnerAndDay:
    """`availableSlots`: owners × days of the range, from the request's variables."""

    owners: Any
    start: Any
    end: Any

    def size(self, ctx: CostContext | None) -> int:
        owners = _argument(self.owners, ctx)
        count = len(owners) if isinstance(owners, list) else (0 if owners is None else 1)
        return count * _days(_argument(self.start, ctx), _argument(self.end, ctx))


class Expression:
    """The cost per parent object of a selection set that depends on variables:
    `const` plus, for each term, count × (own + the cost below). Fragments are shared
    subexpressions; evaluation memoizes them, so a fragment bomb stays linear."""

    __slots__ = ("const", "terms")

    def __init__(self, const: int, terms: list[tuple[Any, int, Any]]) -> None:
        self.const = const
        self.terms = terms


Cost = int | Expression


def evaluate(cost: Cost, ctx: CostContext, memo: dict[int, int] | None = None) -> int:
    if isinstance(cost, int):
        return cost
    memo = {} if memo is None else memo
    found = memo.get(id(cost))
    if found is not None:
        return found
    total = cost.const
    for count, own, below in cost.terms:
        n = count if isinstance(count, int) else count.size(ctx)
        total += n * (own + evaluate(below, ctx, memo))
    memo[id(cost)] = total
    return total


def _combine(const: int, terms: list[tuple[Any, int, Cost]]) -> Cost:
    """Fold to an int when nothing depends on a variable."""
    variable = []
    for count, own, below in terms:
        if isinstance(count, int) and isinstance(below, int):
            const += count * (own + below)
        else:
            variable.append((count, own, below))
    return Expression(const, variable) if variable else const


@dataclass(frozen=True, slots=True)
class _Measure:
    depth: int
    aliases: int
    cost: Cost
    expansions: int  # the most type-expanding introspection fields on one path


_NOTHING = _Measure(0, 0, 0, 0)


class CostRules:
    """What the cost walk needs to know about the schema, found once."""

    def __init__(self, schema: GraphQLSchema, default_page: int, max_page: int) -> None:
        self.schema = schema
        self.default_page = default_page
        self.max_page = max_page
        self.connections: set[str] = set()
        self.edges: set[str] = set()
        for name, type_ in schema.type_map.items():
            if not isinstance(type_, GraphQLObjectType) or name.startswith("__"):
                continue
            if {"edges", "pageInfo"} <= type_.fields.keys():
                self.connections.add(name)
            elif {"node", "cursor"} <= type_.fields.keys():
                self.edges.add(name)
        self.wrappers = self.edges | {"PageInfo"}


class _Walker:
    def __init__(self, document: DocumentNode, rules: CostRules) -> None:
        self.rules = rules
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, _Measure] = {}
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    def measure(self, selection_set: SelectionSetNode | None, parent: Any) -> _Measure:
        if selection_set is None or parent is None:
            return _NOTHING
        depth = aliases = expansions = 0
        const = 0
        terms: list[tuple[Any, int, Cost]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                name = selection.name.value
                if name in INTROSPECTION_ROOTS:
                    # Its own nesting counts neither against depth nor cost; only expansions.
                    meta = self.rules.schema.get_type("__Schema" if name == "__schema" else "__Type")
                    inner = self.measure(selection.selection_set, meta)
                    depth, aliases = max(depth, 1), aliases + inner.aliases
                    expansions = max(expansions, inner.expansions)
                    continue
                named, listed = self._field_type(parent, name)
                if named is None or is_leaf_type(named):
                    depth = max(depth, 1)
                    continue
                inner = self.measure(selection.selection_set, named)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases
                expansions = max(expansions, inner.expansions + (name in _EXPANDING and parent.name.startswith("__")))
                if parent.name.startswith("__"):
                    continue  # introspection costs nothing
                count, own = self._count(selection, parent, named, listed)
                terms.append((count, own, inner.cost))
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self.measure(
                        selection.selection_set,
                        self.rules.schema.get_type(condition.name.value) if condition else parent,
                    )
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self.fragment(selection.name.value)
                else:
                    continue
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
                expansions = max(expansions, inner.expansions)
                terms.append((1, 0, inner.cost))
        return _Measure(depth, aliases, _combine(const, terms), expansions)

    def fragment(self, name: str) -> _Measure:
        if name not in self.memo:
            self.memo[name] = _NOTHING  # guards a cycle, should validation ever let one by
            node = self.fragments.get(name)
            if node is not None:
                self.memo[name] = self.measure(
                    node.selection_set, self.rules.schema.get_type(node.type_condition.name.value)
                )
        return self.memo[name]

    @staticmethod
    def _field_type(parent: Any, name: str) -> tuple[Any, bool]:
        fields = getattr(parent, "fields", None)
        field = fields.get(name) if fields else None
        if field is None:
            return None, False
        type_, listed = field.type, False
        while isinstance(type_, (GraphQLNonNull, GraphQLList)):
            listed = listed or isinstance(type_, GraphQLList)
            type_ = type_.of_type
        return type_, listed

    def _count(self, field: FieldNode, parent: Any, named: Any, listed: bool) -> tuple[Any, int]:
        """(how many objects per parent object, whether they count themselves)."""
        rules = self.rules
        if named.name in rules.connections:
            arguments = {a.name.value: a.value for a in field.arguments or ()}
            first, last = _size(arguments.get("first")), _size(arguments.get("last"))
            if first is None and last is None:
                return rules.default_page, 1
            if not isinstance(first, str) and not isinstance(last, str):
                # Above the maximum the connection refuses the request; count what it may return.
                return min(max(s for s in (first, last) if s is not None), rules.max_page), 1
            return Page(first, last), 1
        if named.name in rules.wrappers or (parent.name in rules.edges and field.name.value == "node"):
            return 1, 0  # the connection counted these objects already
        if not listed:
            return 1, 1
        key = f"{parent.name}.{field.name.value}"
        if key in PER_OWNER_AND_DAY:
            arguments = {a.name.value: a.value for a in field.arguments or ()}
            per = PerOwnerAndDay(*(arguments.get(name) for name in PER_OWNER_AND_DAY[key]))
            if any(isinstance(node, VariableNode) for node in (per.owners, per.start, per.end)):
                return per, 1
            return per.size(None), 1
        if key in LENGTH_OF_ARGUMENT:
            argument = next((a.value for a in field.arguments or () if a.name.value == LENGTH_OF_ARGUMENT[key]), None)
            if isinstance(argument, VariableNode):
                return LengthOf(argument.name.value), 1
            return (len(argument.values) if isinstance(argument, ListValueNode) else 1), 1
        maximum = LIST_MAXIMA.get(key) or ITEM_MAXIMA.get(named.name)
        # Undeclared (tests/test_query_cost.py forbids it): as much as the largest page.
        return (maximum if maximum is not None else rules.max_page), 1


def _size(value: Any) -> int | str | None:
    if isinstance(value, IntValueNode):
        return max(int(value.value), 0)
    if isinstance(value, VariableNode):
        return value.name.value
    return None


@dataclass(frozen=True, slots=True)
class Measured:
    """What a document asks for: its deepest operation's depth, its aliases (a fragment
    counts once per spread), the most type-expanding introspection fields on one path,
    and each operation's cost with its variables' defaults."""

    depth: int
    aliases: int
    expansions: int
    costs: dict[str | None, tuple[Cost, dict[str, Any]]]

    def cost(
        self, operation_name: str | None, variables: dict[str, Any] | None, default_page: int, max_page: int
    ) -> int:
        entry = self.costs.get(operation_name)
        if entry is None:
            return 0
        cost, defaults = entry
        if isinstance(cost, int):
            return cost
        return evaluate(cost, CostContext(variables or {}, defaults, default_page, max_page))


def measure(document: DocumentNode, rules: CostRules) -> Measured:
    walker = _Walker(document, rules)
    depth = aliases = expansions = 0
    costs: dict[str | None, tuple[Cost, dict[str, Any]]] = {}
    roots = {
        OperationType.QUERY: rules.schema.query_type,
        OperationType.MUTATION: rules.schema.mutation_type,
        OperationType.SUBSCRIPTION: rules.schema.subscription_type,
    }
    for operation in walker.operations:
        result = walker.measure(operation.selection_set, roots[operation.operation])
        depth, aliases = max(depth, result.depth), aliases + result.aliases
        expansions = max(expansions, result.expansions)
        defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        entry = (result.cost, defaults)
        costs[operation.name.value if operation.name else None] = entry
        if len(walker.operations) == 1:
            costs[None] = entry  # the one operation runs without operationName too
    return Measured(depth, aliases, expansions, costs)
