"""The executor's fast paths (chrgraph/graphql_engine/executor.py) answer exactly as graphql-core
and strawberry do, errors included: each case runs on two copies of one schema, one with
the fast paths installed and one stock, and the answers must be equal."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import execute, parse
from strawberry import relay
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from chrgraph.graphql_engine import executor as execution


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


class Other(Enum):
    GREEN = "GREEN"


@strawberry.type
class Child(relay.Node):
    key: relay.NodeID[int]
    label: str


@strawberry.type
class Item:
    name: str
    nickname: str | None
    colour: Colour
    colours: list[Colour]
    maybe_colours: list[Colour | None]
    tags: list[str]
    child: Child
    children: list[Child]

    @strawberry.field
    def computed(self, info: strawberry.Info) -> list[Colour]:
        assert info.context == {"who": "test"}
        return self.colours

    @strawberry.field
    async def later(self) -> str:
        return self.name


ROWS: list[Any] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ROWS


DOCUMENT = parse(
    "{ items { name nickname colour colours maybeColours tags computed later"
    " child { id label } children { id label } } }"
)
FAST = strawberry.Schema(query=Query)
STOCK = strawberry.Schema(query=Query)
execution.install(FAST)


def item(**changes: Any) -> Item:
    values: dict[str, Any] = {
        "name": "a",
        "nickname": None,
        "colour": Colour.RED,
        "colours": [Colour.RED, Colour.BLUE],
        "maybe_colours": [None, Colour.BLUE],
        "tags": ["x", "y"],
        "child": Child(key=1, label="one"),
        "children": [Child(key=2, label="two"), Child(key=3, label="three")],
    }
    values.update(changes)
    return Item(**values)


async def answer(schema: strawberry.Schema, executor: type) -> tuple[Any, list[dict]]:
    result = execute(
        schema._schema,
        DOCUMENT,
        context_value={"who": "test"},
        is_awaitable=optimized_is_awaitable,
        executor_class=executor,
    )
    if hasattr(result, "__await__"):
        result = await result
    return result.data, sorted((e.formatted for e in result.errors or []), key=repr)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({}, 0),
        ({"nickname": "b", "tags": ["x", 5, True]}, 0),
        ({"name": None}, 1),  # null for a non-null String
        ({"colour": "RED"}, 0),  # strawberry accepts a member's value
        ({"colour": "PURPLE"}, 1),  # not a value of the enum
        ({"colour": Other.GREEN}, 1),  # another enum's member
        ({"colours": [Colour.RED, None]}, 1),  # null in a non-null list (the item is nulled)
        ({"colours": [Colour.RED, Other.GREEN]}, 1),  # invalid enum value in a list
        ({"maybe_colours": [None, "PURPLE"]}, 1),  # nullable items: that one is null, with an error
        ({"tags": ["x", object()]}, 1),  # a String cannot represent it
        ({"tags": None}, 1),  # null for a non-null list
        ({"child": None}, 1),  # null for a non-null object
        ({"child": Other.GREEN}, 1),  # not a Child: is_type_of refuses it
        ({"child": Child(key=None, label="x")}, 1),  # a node without its id
        ({"child": Child(key="k", label=None)}, 1),  # a string id is fine; a null label is not
        ({"children": [Child(key=4, label="four"), None]}, 1),  # null in a non-null list of objects
    ],
)
async def test_fast_paths_answer_as_graphql_core_does(changes, errors):
    ROWS[:] = [item(), item(**changes), item(name="c")]
    fast = await answer(FAST, execution.Executor)
    stock = await answer(STOCK, StrawberryGraphQLCoreExecutionContext)
    assert fast == stock
    assert len(fast[1]) == errors, fast[1]


async def test_an_item_without_the_attribute_is_an_error_as_before():
    class Bare:
        colour = Colour.RED

    ROWS[:] = [item(), Bare()]
    fast = await answer(FAST, execution.Executor)
    stock = await answer(STOCK, StrawberryGraphQLCoreExecutionContext)
    assert fast == stock
    assert fast[1]


def test_the_fast_paths_are_installed_where_they_apply():
    item_type = FAST._schema.type_map["Item"]
    assert set(execution._PLAIN_LEAVES[item_type]) == {"name", "nickname", "colour"}
    assert set(execution._PLAIN_LEAVES[FAST._schema.type_map["Child"]]) == {"id", "label"}
    assert id(item_type.fields["child"].type) in execution._OBJECTS
    leaf_lists = {name for name, f in item_type.fields.items() if id(f.type) in execution._LEAF_LISTS}
    assert leaf_lists == {"colours", "maybeColours", "tags", "computed"}
    assert item_type.fields["computed"].resolve is not STOCK._schema.type_map["Item"].fields["computed"].resolve


@pytest.mark.parametrize(
    ("shared", "fails"),
    [
        ([Colour.RED, Colour.BLUE], False),
        ([Colour.RED, Other.GREEN], True),  # an invalid value
        ([Colour.BLUE, None], True),  # null in a non-null list
    ],
)
async def test_a_list_shared_by_many_items_answers_as_graphql_core_does(shared, fails):
    """One list object in several places (a role's permissions, held by many users) is
    serialized once per request; the answer and its errors are the same as without."""
    ROWS[:] = [item(colours=shared), item(colours=shared, name="b"), item(colours=shared, name="c")]
    fast = await answer(FAST, execution.Executor)
    stock = await answer(STOCK, StrawberryGraphQLCoreExecutionContext)
    assert fast == stock
    assert bool(fast[1]) is fails, fast[1]


async def test_a_shared_list_changed_between_requests_is_serialized_afresh():
    shared = [Colour.RED]
    ROWS[:] = [item(colours=shared), item(colours=shared)]
    first = await answer(FAST, execution.Executor)
    shared.append(Colour.BLUE)
    second = await answer(FAST, execution.Executor)
    assert first[0]["items"][0]["colours"] == ["RED"]
    assert second[0]["items"][1]["colours"] == ["RED", "BLUE"]
