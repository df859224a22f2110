"""The executor's fast paths: graphql-core's executor on strawberry's schema, with fast
paths for what lists are made of (docs/decisions.md, docs/performance.md). They reach
into both libraries' internals (graphql-core's `Executor` methods, strawberry's field
and resolver objects), so they are installed explicitly (`chrgraph.graphql_engine`)
and only for the versions named there.

A page of 100 items resolves a few hundred fields, and both libraries pay for each one:
strawberry wraps every field in its resolver machinery (an `Info`, argument conversion,
an extension chain) and graphql-core completes every value through `complete_value`.
The fast paths below take the successful common case only:

- a *plain field* (no resolver, no permission class, no extension, no argument) of a
  scalar or enum type is read with `getattr` and serialized by its GraphQL type right
  where graphql-core would have started resolving it;
- a list of scalars or enums (`permissions`) is serialized item by item by its type;
- a resolver field without permission classes, extensions or arguments is called
  directly with a strawberry `Info`, as strawberry itself would call it.

Anything else, and any value the fast path does not recognize (null in a non-null
position, an awaitable, an invalid enum value, a serializer that raises or returns
nothing), goes back to graphql-core's own path, which resolves or completes the same
value again and so reports errors exactly as before. Serializers are pure functions and
plain fields are attributes, so doing the work twice on the error path changes nothing
but its cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    MiddlewareManager,
    Undefined,
)
from strawberry.relay import GlobalID, Node
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from chrgraph.telemetry import tracer


class _Fallback(Exception):
    """Leave the fast path: graphql-core's own path takes the value."""


def _root_field_spans(next_, root, info, **kwargs):
    """A child span per root field (argument values are never recorded)."""
    return _root_field_span(next_, root, info, kwargs)


def root_spans_only(next_, root, info, **kwargs):
    """The same spans as graphql-core middleware on every field (the stock path): a
    field below the root goes straight to its resolver."""
    if info.path.prev is not None:
        return next_(root, info, **kwargs)
    return _root_field_span(next_, root, info, kwargs)


async def _root_field_span(next_, root, info, kwargs):
    with tracer.start_as_current_span(f"resolve {info.parent_type.name}.{info.field_name}"):
        result = next_(root, info, **kwargs)
        return await result if hasattr(result, "__await__") else result


# Only root fields go through middleware (their span): graphql-core would otherwise
# wrap every field of every list item. One manager for the process: it keeps each root
# field's wrapped resolver.
_ROOT_MIDDLEWARE = MiddlewareManager(_root_field_spans)

# parent type -> field name -> (read the value from the source, serializer, non-null)
_PLAIN_LEAVES: dict[GraphQLObjectType, dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], bool]]] = {}
# id(field type) -> (item serializer, item non-null); the types live as long as the
# schema, so their ids stay theirs.
_LEAF_LISTS: dict[int, tuple[Callable[[Any], Any], bool]] = {}
# id(type) -> object type, for an object type and its non-null wrapper, when the type
# has no `is_type_of` or strawberry's own (which never awaits).
_OBJECTS: dict[int, GraphQLObjectType] = {}


# A long answer gives the event loop a turn this often (checked every 8,192 completed
# values), so that it notices a client that went away and the query can be stopped
# (the endpoint cancels it); completing values is otherwise synchronous for seconds.
_TURN_EVERY = 8191  # above a page of 100 ordinary rows: its DataLoader batches stay whole
_TURN_SECONDS = 0.05


class Turns:
    """Completing values gives the event loop a turn every `_TURN_SECONDS`.

    A value completed later (an awaitable) does not stop the synchronous work: graphql-core
    goes on completing its siblings, and their subtrees, and awaits the awaitables only
    when the whole synchronous part is done; and a list's items resumed at once (their
    DataLoader answered) are each a task the loop runs, thousands in one of its turns. So
    once a turn is due, every value waits for it, not only the one that noticed: the
    synchronous work and the loop's pending tasks unwind at once, the loop runs (I/O, a
    cancellation lands), and the waiting values go on. Mixed into both paths'
    executors (fast or stock)."""

    _completed = 0
    _last_turn = 0.0
    _turn: asyncio.Future | None = None  # the turn the values wait for, when one is due

    def complete_value(self, *args: Any) -> Any:
        if self._turn is not None:
            return self._after_a_turn(*args)
        turn = self._completed = self._completed + 1
        if not turn & _TURN_EVERY:
            now = time.monotonic()
            if not self._last_turn:
                self._last_turn = now
            elif now - self._last_turn > _TURN_SECONDS:
                loop = asyncio.get_running_loop()
                self._turn = loop.create_future()
                loop.call_soon(self._turn_taken, self._turn)  # the loop's next turn, after its I/O
                return self._after_a_turn(*args)
        return self.complete_now(*args)

    def complete_now(self, *args: Any) -> Any:
        """graphql-core's own completion of a value (the fast path's, in `Executor`)."""
        return super().complete_value(*args)  # type: ignore[misc]  # a mixin: the executor's

    def _turn_taken(self, turn: asyncio.Future) -> None:
        if self._turn is turn:
            self._turn = None
            self._last_turn = time.monotonic()
        if not turn.done():
            turn.set_result(None)

    async def _after_a_turn(self, *args: Any) -> Any:
        while (turn := self._turn) is not None:
            try:
                await turn
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # this value's own task was cancelled (the query is stopped)
                break  # another waiting task was cancelled, and with it the shared future
        completed = self.complete_value(*args)
        return await completed if self.is_awaitable(completed) else completed  # type: ignore[attr-defined]


_STOCK_WITH_TURNS: dict[type, type] = {}


def with_turns(execution_context_class: type) -> type:
    """The stock path's executor: `execution_context_class` giving the loop its turns."""
    made = _STOCK_WITH_TURNS.get(execution_context_class)
    if made is None:
        name = f"{execution_context_class.__name__}WithTurns"
        made = _STOCK_WITH_TURNS[execution_context_class] = type(name, (Turns, execution_context_class), {})
    return made


class Executor(Turns, StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor (as strawberry configures it) with the fast paths above."""

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        if path.prev is None:  # a root field: its span, through the middleware
            previous, self.middleware_manager = self.middleware_manager, _ROOT_MIDDLEWARE
            try:
                return super().execute_field(parent_type, source, field_details_list, path, position_context)
            finally:
                self.middleware_manager = previous
        plans = _PLAIN_LEAVES.get(parent_type)
        if plans is not None:
            plan = plans.get(field_details_list[0].node.name.value)
            if plan is not None:
                read, serialize, non_null = plan
                try:
                    value = read(source)
                    if value is None:
                        if not non_null:
                            return None
                    elif not self.is_awaitable(value):
                        serialized = serialize(value)
                        if serialized is not None and serialized is not Undefined:
                            return serialized
                except Exception:  # noqa: BLE001, S110 - graphql-core's path reports it
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_now(self, return_type, field_details_list, info, path, result, position_context):
        object_type = _OBJECTS.get(id(return_type))
        if object_type is not None and result is not None and position_context is None:
            # graphql-core's complete_value → complete_object_value → collect and execute
            # the subfields, in one step; errors raised by the subfields propagate to the
            # caller exactly as they did through those layers.
            is_type_of = object_type.is_type_of
            if not isinstance(result, Exception) and (is_type_of is None or is_type_of(result, info) is True):
                grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
                if not new_defer_usages:
                    return self.execute_fields(object_type, result, path, grouped_field_set, None)
        plan = _LEAF_LISTS.get(id(return_type))
        if plan is not None and type(result) is list:
            # The same list object (a role's permissions, shared by every user holding the
            # role) is serialized once per request: same list, same type, same answer.
            memo = self.__dict__.setdefault("_leaf_lists", {})
            key = (id(result), id(return_type))
            seen = memo.get(key)
            if seen is not None and seen[0] is result and seen[1] == len(result):
                return seen[2]
            try:
                completed = _serialize_list(result, plan[0], plan[1], self.is_awaitable)
            except Exception:  # noqa: BLE001, S110 - graphql-core's path reports it
                pass
            else:
                memo[key] = (result, len(result), completed)  # holds `result`: its id stays its own
                return completed
        return super().complete_now(return_type, field_details_list, info, path, result, position_context)


def _serialize_list(items: list, serialize: Callable[[Any], Any], non_null: bool, is_awaitable) -> list:
    completed: list[Any] = []
    append = completed.append
    for item in items:
        if item is None:
            if non_null:
                raise _Fallback
            append(None)
            continue
        if is_awaitable(item):
            raise _Fallback
        serialized = serialize(item)
        if serialized is None or serialized is Undefined:
            raise _Fallback
        append(serialized)
    return completed


def _leaf(type_: Any) -> tuple[GraphQLScalarType | GraphQLEnumType | None, bool]:
    """The scalar or enum type behind at most one non-null wrapper, and the wrapper."""
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if non_null else type_
    return (inner if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)) else None), non_null


def _fast_resolver(field: StrawberryField, info_class: type) -> Callable[..., Any] | None:
    """A direct call of a resolver that needs no argument conversion, permission check
    or extension: what strawberry's wrapper ends up calling, without the wrapper."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or field.arguments or not callable(resolver.wrapped_func):
        return None
    function = resolver.wrapped_func
    takes_self = resolver.self_parameter is not None
    source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    if takes_self and not source_names and info_name is not None:

        def resolve_self_info(source, info):
            return function(source, **{info_name: info_class(_raw_info=info, _field=field)})

        return resolve_self_info

    def resolve(source, info):
        kwargs = {name: source for name in source_names}
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **kwargs) if takes_self else function(**kwargs)

    return resolve


_NODE_ID = Node.__dict__["_id"].__func__  # strawberry's `Node.id` resolver


def _node_id(origin: object, parent_name: str) -> Callable[[Any], Any] | None:
    """The relay `id` of a type whose `resolve_id`/`resolve_typename` are strawberry's:
    `GlobalID(<type name>, str(<NodeID attribute>))`, as `Node._id` makes it."""
    if not (isinstance(origin, type) and issubclass(origin, Node)):
        return None
    if origin.resolve_id.__func__ is not Node.resolve_id.__func__:  # type: ignore[attr-defined]  # classmethods
        return None
    if origin.resolve_typename.__func__ is not Node.resolve_typename.__func__:  # type: ignore[attr-defined]  # classmethods
        return None
    attribute = origin.resolve_id_attr()

    def read(source):
        if type(source) is not origin:
            raise _Fallback
        key = getattr(source, attribute)
        if key is None or hasattr(key, "__await__"):
            raise _Fallback
        return GlobalID(type_name=parent_name, node_id=str(key))

    return read


def _attribute(name: str) -> Callable[..., Any]:
    def resolve(source, info):
        return getattr(source, name)

    return resolve


_STRAWBERRY_IS_TYPE_OF = "_get_is_type_of.<locals>.is_type_of"  # isinstance checks, never awaitable


def _register_objects(type_: Any) -> None:
    """Every wrapper level of a field's type that completes as an object."""
    while True:
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLObjectType):
            if (
                inner.is_type_of is None
                or inner.is_type_of.__qualname__.endswith(_STRAWBERRY_IS_TYPE_OF)
                or getattr(inner.is_type_of, "plain_is_type_of", False)  # ours, never awaitable
            ):
                _OBJECTS[id(type_)] = inner
                _OBJECTS[id(inner)] = inner
            return
        if not isinstance(inner, GraphQLList):
            return
        type_ = inner.of_type


# id(graphql-core schema) -> the resolvers replaced, to put back (`uninstall`)
_REPLACED: dict[int, list[tuple[Any, str, Any]]] = {}


def install(schema: Schema) -> None:
    """Find the plain fields, direct resolvers and leaf lists of the schema once."""
    core = schema._schema
    if id(core) in _REPLACED:
        return
    replaced = _REPLACED[id(core)] = []
    if schema.exception_handlers or schema.config.default_resolver is not getattr:
        return  # strawberry would wrap resolvers in handlers, or read attributes its own way
    info_class = schema.config.info_class
    streams = core.get_directive("stream") is not None  # a streamed list needs graphql-core's path
    root_types = {core.query_type, core.mutation_type, core.subscription_type}
    for type_ in core.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__") or type_ in root_types:
            continue
        for name, field_def in type_.fields.items():
            # A field guarded by its type's read rule (schema/reads.py) keeps its guard: the
            # fast resolver goes inside it (`inner`), never in its place.
            holder = field_def.resolve if hasattr(field_def.resolve, "read_rule") else field_def
            field = schema.get_field_for_type(name, type_.name)
            if field is None or field_def.args or type(field).get_result is not StrawberryField.get_result:
                continue
            leaf, non_null = _leaf(field_def.type)
            if field.is_basic_field:
                _replace(replaced, holder, _attribute(field.python_name))
                if leaf is not None:
                    _PLAIN_LEAVES.setdefault(type_, {})[name] = (
                        attrgetter(field.python_name),
                        leaf.coerce_output_value,
                        non_null,
                    )
            elif (
                leaf is not None
                and field.base_resolver is not None  # always: not a basic field
                and getattr(field.base_resolver.wrapped_func, "__func__", None) is _NODE_ID
            ):
                definition = schema.get_type_by_name(type_.name)
                if (read := _node_id(getattr(definition, "origin", None), type_.name)) is not None:
                    _PLAIN_LEAVES.setdefault(type_, {})[name] = (read, leaf.coerce_output_value, non_null)
            elif (fast := _fast_resolver(field, info_class)) is not None:
                _replace(replaced, holder, fast)
            _register_objects(field_def.type)
            list_type = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
            if isinstance(list_type, GraphQLList) and not streams:
                item, item_non_null = _leaf(list_type.of_type)
                if item is not None:
                    _LEAF_LISTS[id(field_def.type)] = (item.coerce_output_value, item_non_null)


def _replace(replaced: list[tuple[Any, str, Any]], holder: Any, resolve: Any) -> None:
    """Set `holder`'s resolver (a field's `resolve`, or a guard's `inner`), remembering the old one."""
    attribute = "resolve" if isinstance(holder, GraphQLField) else "inner"
    replaced.append((holder, attribute, getattr(holder, attribute)))
    setattr(holder, attribute, resolve)


def uninstall(schema: Schema) -> None:
    """Put strawberry's own resolvers back: the schema answers through the stock path."""
    for holder, attribute, resolve in reversed(_REPLACED.pop(id(schema._schema), [])):
        setattr(holder, attribute, resolve)
