"""The schema as a published contract: every element described, the SDL served to anyone,
and no breaking change against the last released SDL (`docs/schema/<version>.graphql`)
unless what changed was deprecated in that release first."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    BreakingChange,
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    find_breaking_changes,
    get_named_type,
    specified_directives,
)
from graphql.type.introspection import introspection_types
from graphql.type.scalars import specified_scalar_types

import chrgraph
from chrgraph.schema import schema

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "docs" / "schema"
BUILT_IN = {*introspection_types, *specified_scalar_types}


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field, enum value and directive of our own
    that carries no description (graphql-core's built-ins excepted)."""
    missing: list[str] = []
    for name, named in graphql_schema.type_map.items():
        if name in BUILT_IN:
            continue
        if not named.description:
            missing.append(f"type {name}")
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"field {name}.{field_name}")
                missing += [
                    f"argument {name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if not arg.description
                ]
        elif isinstance(named, GraphQLInputObjectType):
            missing += [f"input field {name}.{f}" for f, field in named.fields.items() if not field.description]
        elif isinstance(named, GraphQLEnumType):
            missing += [f"enum value {name}.{v}" for v, value in named.values.items() if not value.description]
    for directive in graphql_schema.directives:
        if directive in specified_directives:
            continue
        if not directive.description:
            missing.append(f"directive @{directive.name}")
        missing += [f"argument @{directive.name}({a})" for a, arg in directive.args.items() if not arg.description]
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description():
    missing = undescribed(schema._schema)

    assert missing == [], "describe these in plain words (shape, units, errors, where a rule comes from):\n" + (
        "\n".join(missing)
    )


def test_the_description_check_sees_what_is_missing():
    bare = build_schema('"A root." type Query { "Described." a(x: Int): Int b: E } "An enum." enum E { ONE }')

    assert sorted(undescribed(bare)) == ["argument Query.a(x)", "enum value E.ONE", "field Query.b"]


def test_every_error_code_says_what_it_means():
    error_code = schema._schema.type_map["ErrorCode"]
    assert isinstance(error_code, GraphQLEnumType)

    vague = [name for name, value in error_code.values.items() if len((value.description or "").split()) < 4]

    assert vague == [], f"error codes without a meaning a client can act on: {vague}"


# --- the SDL served to anyone ---------------------------------------------------------


async def test_the_sdl_is_served_without_credentials(client):
    response = await client.get("/graphql/schema.graphql")

    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (ROOT / "schema.graphql").read_text()


async def test_the_sdl_route_runs_no_graphql_and_takes_no_body(client):
    response = await client.post("/graphql/schema.graphql", json={"query": "{ __typename }"})

    assert response.status_code == 405


# --- releases ---------------------------------------------------------------------------


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.split("."))


def released_sdls() -> list[Path]:
    """The committed SDL of every release, oldest first."""
    return sorted(
        (p for p in RELEASES.glob("*.graphql") if re.fullmatch(r"\d+\.\d+\.\d+", p.stem)),
        key=_version_key,
    )


def test_the_first_release_has_its_sdl_and_changelog_entry():
    versions = [p.stem for p in released_sdls()]
    changelog = (ROOT / "CHANGELOG.md").read_text()

    assert versions and versions[0] == "0.2.0"
    assert all(f"## [{v}]" in changelog for v in versions), "every released SDL has its CHANGELOG entry"
    assert f"## [{chrgraph.__version__}]" in changelog


def _deprecated_field(old: GraphQLSchema, type_name: str, field_name: str) -> bool:
    named = old.type_map.get(type_name)
    fields = getattr(named, "fields", {})
    field = fields.get(field_name)
    return field is not None and bool(getattr(field, "deprecation_reason", None))


def _deprecated_argument(old: GraphQLSchema, type_name: str, field_name: str, arg_name: str) -> bool:
    named = old.type_map.get(type_name)
    field = getattr(named, "fields", {}).get(field_name)
    if field is None:
        return False
    arg = field.args.get(arg_name)
    return arg is not None and bool(arg.deprecation_reason or field.deprecation_reason)


def _deprecated_value(old: GraphQLSchema, enum_name: str, value_name: str) -> bool:
    named = old.type_map.get(enum_name)
    value = named.values.get(value_name) if isinstance(named, GraphQLEnumType) else None
    return value is not None and bool(value.deprecation_reason)


def _only_reached_through_deprecated(old: GraphQLSchema, type_name: str) -> bool:
    """A removed type is fine when every field, argument and input field that named it in
    the release was deprecated (so removing those took the type away with them)."""
    references = 0
    for named in old.type_map.values():
        if named.name in BUILT_IN:
            continue
        if isinstance(named, GraphQLUnionType) and any(t.name == type_name for t in named.types):
            return False
        for field in getattr(named, "fields", {}).values():
            if get_named_type(field.type).name == type_name:
                references += 1
                if not getattr(field, "deprecation_reason", None):
                    return False
            for arg in getattr(field, "args", {}).values():
                if get_named_type(arg.type).name == type_name:
                    references += 1
                    if not (arg.deprecation_reason or getattr(field, "deprecation_reason", None)):
                        return False
    return references > 0


# How graphql-core 3.3 words the changes (a field of an object, interface or input type).
FIELD = re.compile(r"^Field (\w+)\.(\w+) (?:was removed|changed type)")
ARGUMENT = re.compile(r"^Argument (\w+)\.(\w+)\((\w+):\) (?:was removed|has changed type)")
ENUM_VALUE = re.compile(r"^Enum value (\w+)\.(\w+) was removed\.")
TYPE = re.compile(r"^(\w+) was removed\.")


def deprecated_first(old: GraphQLSchema, change: BreakingChange) -> bool:
    """Whether the element a breaking change removed or changed was deprecated in `old`."""
    kind, text = change.type, change.description
    if kind in (BreakingChangeType.FIELD_REMOVED, BreakingChangeType.FIELD_CHANGED_KIND):
        match = FIELD.match(text)
        return bool(match) and _deprecated_field(old, *match.groups())
    if kind in (BreakingChangeType.ARG_REMOVED, BreakingChangeType.ARG_CHANGED_KIND):
        match = ARGUMENT.match(text)
        return bool(match) and _deprecated_argument(old, *match.groups())
    if kind == BreakingChangeType.VALUE_REMOVED_FROM_ENUM:
        match = ENUM_VALUE.match(text)
        return bool(match) and _deprecated_value(old, *match.groups())
    if kind == BreakingChangeType.TYPE_REMOVED:
        match = TYPE.match(text)
        return bool(match) and _only_reached_through_deprecated(old, match.group(1))
    return False  # a required argument or input field added, a type changing kind, …


def breaking_changes_not_deprecated_first(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    return [
        f"{change.type.name}: {change.description}"
        for change in find_breaking_changes(old, new)
        if not deprecated_first(old, change)
    ]


def test_no_breaking_change_against_the_last_release_that_was_not_deprecated_first():
    last = released_sdls()[-1]
    released = build_schema(last.read_text())

    breaking = breaking_changes_not_deprecated_first(released, schema._schema)

    assert breaking == [], (
        f"breaking changes against {last.name}: deprecate the element with a reason in a release "
        "first (@deprecated), remove or change it in a later one:\n" + "\n".join(breaking)
    )


RELEASED = """
type Query {
  kept: Int
  gone: Int @deprecated(reason: "Use kept.")
  dropped: Int
  old(a: Int @deprecated(reason: "Unused."), b: Int): Int
  colour: Colour
  legacy: Legacy @deprecated(reason: "Use kept.")
}
enum Colour { RED GREEN @deprecated(reason: "Use RED.") BLUE }
type Legacy { x: Int }
"""

NEXT = """
type Query {
  kept: Int
  old: Int
  colour: Colour
}
enum Colour { RED }
"""


def test_the_breaking_change_check_spares_only_what_was_deprecated():
    breaking = breaking_changes_not_deprecated_first(build_schema(RELEASED), build_schema(NEXT))

    assert sorted(breaking) == [
        "ARG_REMOVED: Argument Query.old(b:) was removed.",
        "FIELD_REMOVED: Field Query.dropped was removed.",
        "VALUE_REMOVED_FROM_ENUM: Enum value Colour.BLUE was removed.",
    ]


def test_release_schema_writes_the_sdl_of_this_version(tmp_path):
    from chrgraph.schema.export import release

    written = release(tmp_path / "schema")

    assert written.name == f"{chrgraph.__version__}.graphql"
    assert written.read_text() == (ROOT / "schema.graphql").read_text()
