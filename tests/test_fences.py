"""The fences around library internals: the fast paths switch off with CHRGRAPH_FAST_PATHS
or a library version they were not written for (one warning), both paths answer the
same, an extension the endpoint would skip fails at start, and no module outside a fence
reaches into another library's internals."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest
import strawberry
from strawberry.extensions import MaskErrors, SchemaExtension

from chrgraph import fast_paths, graphql_engine
from chrgraph.app import create_app
from chrgraph.db import engine_sqlite, raw
from chrgraph.http.graphql import GraphQLEndpoint
from chrgraph.schema import schema
from chrgraph.settings import get_settings
from tests.accounts import make_clinic
from tests.scheduling_helpers import practitioner
from tests.test_list_rows import USER_FIELDS, USER_NODE, USERS

VIEWER = "query { viewer { kind user { id email type status permissions roles { name } } } }"
ROLES = "query { roles { id name permissions } }"


@pytest.fixture
def restore_fast_paths():
    yield
    fast_paths.install(get_settings(), schema)


def _settings(on: bool):
    return dataclasses.replace(get_settings(), fast_paths=on)


async def test_a_library_version_other_than_the_fence_names_turns_its_fast_paths_off_with_one_warning(
    app, monkeypatch, caplog, restore_fast_paths
):
    monkeypatch.setattr(graphql_engine, "WRITTEN_FOR", {"graphql-core": "0.0.1", "strawberry-graphql": "0.0.2"})
    with caplog.at_level(logging.WARNING, logger="chrgraph"):
        create_app(_settings(True))

    assert not graphql_engine.fast(schema)
    [line] = [r for r in caplog.records if "fast paths off" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert "graphql-core" in line.getMessage() and "written for 0.0.1" in line.getMessage()
    assert raw._fast == engine_sqlite._fast  # the other fences' versions match: on, or off by setting


async def test_the_setting_turns_every_fast_path_off_without_a_warning(app, caplog, restore_fast_paths):
    with caplog.at_level(logging.WARNING, logger="chrgraph"):
        state = fast_paths.install(_settings(False), schema)

    assert state == {"sqlite": False, "tortoise": False, "opentelemetry": False, "graphql": False}
    assert not graphql_engine.fast(schema)
    assert not [r for r in caplog.records if "fast paths" in r.getMessage()]


async def test_the_stock_paths_answer_exactly_as_the_fast_paths(client, restore_fast_paths):
    clinic = await make_clinic(client)
    await practitioner(clinic.organization.id)
    await practitioner(clinic.organization.id, accept=False)

    async def answers() -> list[dict]:
        listed = await clinic.owner.gql(USERS)
        first = listed["users"]["edges"][0]["node"]["id"]
        return [
            listed,
            await clinic.owner.gql(USER_NODE, {"id": first}),
            await clinic.owner.gql(VIEWER),
            await clinic.owner.gql(ROLES),
        ]

    fast_paths.install(_settings(True), schema)
    fast = await answers()
    fast_paths.install(_settings(False), schema)
    stock = await answers()

    assert stock == fast
    assert len(fast[0]["users"]["edges"]) >= 3 and "permissions" in USER_FIELDS


class Counting(SchemaExtension):
    def on_execute(self):
        yield


@strawberry.type
class Query:
    hello: str = "world"


@pytest.mark.parametrize("extension", [MaskErrors, Counting])
def test_a_schema_extension_the_endpoint_would_skip_fails_at_start(extension):
    extended = strawberry.Schema(query=Query, extensions=[extension])

    with pytest.raises(graphql_engine.UnsupportedExtension, match=extension.__name__):
        GraphQLEndpoint(get_settings(), extended)


def test_the_served_schema_has_no_extension_the_endpoint_would_skip():
    GraphQLEndpoint(get_settings(), schema)  # raises otherwise


# What reaches into another library's internals: private modules, private attributes of
# objects other than our own (`self`/`cls`), Tortoise's backends, strawberry's schema
# converter, graphql-core's executor internals.
_INTERNALS = re.compile(
    r"from strawberry\S*\._|import strawberry\S*\._|from tortoise\.backends\.(?!base\.config_generator)"
    r"|strawberry\.schema\.schema_converter|_enable_global_fallback|\b(?!self\b|cls\b)[A-Za-z]\w*\._[A-Za-z]\w*"
    r"|getattr\(\w+, \"_(?!_)"
)
_FENCES = ("graphql_engine/", "db/engine_sqlite/", "db/engine_asyncpg/", "db/raw.py", "otel_engine.py")
# Public despite the underscore: namedtuple's `_replace`, Enum's `_value_`.
_PUBLIC = re.compile(r"\._replace\(|\._value_\b")


def test_only_the_fences_reach_into_library_internals():
    package = Path(__file__).resolve().parent.parent / "chrgraph"
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(_FENCES) or relative.startswith("db/migrations/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if _INTERNALS.search(_PUBLIC.sub("", code)) and not code.lstrip().startswith(('"', "'")):
                found.append(f"chrgraph/{relative}:{number}: {line.strip()}")
    assert found == []
