"""GraphQL attacks (issue 9, point 2): one test per attack. Each is refused with the
HTTP code its check gives before any resolver runs: graphql-core's `execute` is never called, and the
only SQL sent is the caller's authentication and API-log row (tests/refusal_proof.py).
tests/test_http_answers.py covers the HTTP answers themselves in more variants."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.helpers import Vendor
from tests.refusal_proof import observed, refused_before_resolvers

USERS = "{ users { totalCount } }"
INTROSPECTION = """
query IntrospectionQuery {
  __schema { queryType { name } mutationType { name } types { name kind fields { name } } }
}
"""
REGISTER_PATIENT = """
mutation Register {
  registerPatient(input: {firstName: "Eve", lastName: "Attacker", dateOfBirth: "1990-01-01"}) {
    patient { id } errors { code }
  }
}
"""
LOGIN = """
mutation SignIn {
  login(input: {email: "nobody@example.com", password: "a long passphrase"}) { token errors { code } }
}
"""
LOGIN_WITH_MISSPELLED_INPUT = """
mutation SignIn {
  login(input: {email: "nobody@example.com", password: "a long passphrase", passwrd: "x"}) { token }
}
"""
LOGIN_WITH_MISSPELLED_SELECTION = """
mutation SignIn {
  login(input: {email: "nobody@example.com", password: "a long passphrase"}) { tokn errros { code } }
}
"""
LOGIN_WITH_VARIABLES = "mutation SignIn($input: LoginInput!) { login(input: $input) { token } }"
CIRCULAR_FRAGMENTS = """
query Loop { ...Users }
fragment Users on Query { users { totalCount } ...Roles }
fragment Roles on Query { roles { name } ...Users }
"""
SELF_SPREADING_FRAGMENT = """
query Loop { ...Again }
fragment Again on Query { users { totalCount } ...Again }
"""
MIB = 1024 * 1024


def nested(depth: int) -> str:
    """`roles { members { roles { members … } } }`, exactly `depth` fields deep."""
    names = ["roles" if level % 2 == 0 else "members" for level in range(depth - 1)]
    return "{ " + " ".join(f"{name} {{" for name in names) + " id" + " }" * len(names) + " }"


def aliased_users(count: int) -> str:
    return "{ " + " ".join(f"u{i}: users {{ totalCount }}" for i in range(count)) + " }"


def bearer(vendor: Vendor) -> dict[str, str]:
    return {"Authorization": f"Bearer {vendor.token()}"}


async def warmed(vendor: Vendor) -> Vendor:
    """A vendor whose consumer the server has already loaded (its cache is warm)."""
    assert (await vendor.post("{ viewer { kind } }")).status_code == 200
    return vendor


def assert_refused(response: httpx.Response, status: int, code: str) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["errors"], body
    assert body["errors"] and all(e["extensions"]["code"] == code for e in body["errors"]), body
    return body["errors"]


def assert_no_suggestions(errors: list[dict[str, Any]], *real_names: str) -> None:
    """No "Did you mean", and no real name offered (the caller's own value, after "Found:",
    may of course be echoed)."""
    for error in errors:
        assert "Did you mean" not in error["message"], error
        own_words = error["message"].split("ound: ")[0]
        for name in real_names:
            assert f"'{name}'" not in own_words, error


# --- introspection ------------------------------------------------------------------


async def test_introspection_is_refused_to_anonymous_callers_before_anything_runs(client, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await client.post("/graphql", json={"query": INTROSPECTION})
    assert_refused(response, 401, "UNAUTHENTICATED")


async def test_introspection_smuggled_beside_a_login_is_refused_to_anonymous_callers(client, monkeypatch):
    smuggled = LOGIN.replace("{ token errors { code } }", "{ token }") + " query Peek { __schema { types { name } } }"
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        by_name = await client.post("/graphql", json={"query": smuggled, "operationName": "Peek"})
        inline = await client.post("/graphql", json={"query": "mutation { __schema: __typename }"})
    assert_refused(by_name, 401, "UNAUTHENTICATED")
    assert_refused(inline, 401, "UNAUTHENTICATED")


async def test_introspection_is_served_to_an_authenticated_consumer(vendor):
    data = await vendor.gql(INTROSPECTION)
    assert data["__schema"]["mutationType"] == {"name": "Mutation"}


# --- field suggestions ----------------------------------------------------------------


async def test_anonymous_callers_get_no_field_suggestions_from_validation(client, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        misspelled_input = await client.post("/graphql", json={"query": LOGIN_WITH_MISSPELLED_INPUT})
        misspelled_selection = await client.post("/graphql", json={"query": LOGIN_WITH_MISSPELLED_SELECTION})
    assert_no_suggestions(assert_refused(misspelled_input, 400, "GRAPHQL_VALIDATION_FAILED"), "password")
    assert_no_suggestions(assert_refused(misspelled_selection, 400, "GRAPHQL_VALIDATION_FAILED"), "token", "errors")


async def test_anonymous_callers_get_no_field_suggestions_from_variables(client, monkeypatch):
    variables = {"input": {"email": "nobody@example.com", "password": "a long passphrase", "passwrd": "x"}}
    with observed(monkeypatch) as observation:
        response = await client.post("/graphql", json={"query": LOGIN_WITH_VARIABLES, "variables": variables})
    assert observation.statements == [], "the login resolver ran"
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert_no_suggestions(body["errors"], "password")


async def test_anonymous_callers_get_no_suggestions_for_a_misspelled_operation(client, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await client.post("/graphql", json={"query": LOGIN.replace("login(", "logn(")})
    assert_no_suggestions(assert_refused(response, 401, "UNAUTHENTICATED"), "login")


# --- alias overloading, field duplication, directive overloading ----------------------


async def test_alias_overloading_is_refused_as_too_complex(vendor, monkeypatch):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(aliased_users(31))
        flood = await vendor.post(aliased_users(1000))
    assert_refused(response, 400, "QUERY_TOO_COMPLEX")
    assert_refused(flood, 400, "QUERY_TOO_COMPLEX")


async def test_alias_overloading_of_login_is_refused_to_anonymous_callers(client, monkeypatch):
    logins = " ".join(
        f'a{i}: login(input: {{email: "a{i}@x.test", password: "guess number {i}"}}) {{ token }}' for i in range(50)
    )
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await client.post("/graphql", json={"query": f"mutation Guess {{ {logins} }}"})
    assert_refused(response, 401, "UNAUTHENTICATED")


async def test_field_duplication_is_refused_as_too_complex(vendor, monkeypatch):
    await warmed(vendor)
    duplicated = "{ " + "users { totalCount } " * 1240 + "}"
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(duplicated)
    assert_refused(response, 400, "QUERY_TOO_COMPLEX")


async def test_directive_overloading_is_refused(vendor, monkeypatch):
    await warmed(vendor)
    repeated = "{ users " + "@include(if: true) " * 50 + "{ totalCount } }"
    flooded = "{ users " + "@include(if: true) " * 1000 + "{ totalCount } }"
    unknown = "{ users " + " ".join(f"@d{i}" for i in range(200)) + " { totalCount } }"
    with refused_before_resolvers(monkeypatch):
        answers = [await vendor.post(document) for document in (repeated, flooded, unknown)]
    assert_refused(answers[0], 400, "GRAPHQL_VALIDATION_FAILED")
    assert_refused(answers[1], 400, "QUERY_TOO_COMPLEX")
    assert_refused(answers[2], 400, "QUERY_TOO_COMPLEX")  # over the directive limit, not validated


# --- circular fragments, deep nesting, token floods -----------------------------------


@pytest.mark.parametrize("document", [CIRCULAR_FRAGMENTS, SELF_SPREADING_FRAGMENT], ids=["pair", "self"])
async def test_circular_fragments_are_refused_by_validation(vendor, monkeypatch, document):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(document)
    assert_refused(response, 400, "GRAPHQL_VALIDATION_FAILED")


@pytest.mark.parametrize("depth", [13, 60, 199, 2000])
async def test_deep_nesting_is_refused_as_too_complex(vendor, monkeypatch, depth):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(nested(depth))
    assert_refused(response, 400, "QUERY_TOO_COMPLEX")


async def test_nesting_at_the_limit_is_served(vendor):
    """12 levels of single objects (a locum's practitioner's locum …): deep but cheap."""
    names = ["locum" if level % 2 == 0 else "practitioner" for level in range(9)]
    document = "{ viewer { user { " + " ".join(f"{n} {{" for n in names) + " startDate" + " }" * 9 + " } } }"
    data = await vendor.gql(document)
    assert data["viewer"] == {"user": None}


async def test_deeply_nested_argument_values_are_refused(vendor, monkeypatch):
    await warmed(vendor)
    document = "{ nodes(ids: " + "[" * 400 + "]" * 400 + ") { id } }"
    with refused_before_resolvers(monkeypatch):
        response = await vendor.post(document)
    assert_refused(response, 400, "QUERY_TOO_COMPLEX")


async def test_token_floods_are_refused_quickly_as_too_complex(vendor, monkeypatch):
    await warmed(vendor)
    strings = " ".join('"x"' for _ in range(5000))
    flood = f'{{ users(filter: {{search: "x"}}) {{ totalCount }} nodes(ids: [{strings}]) {{ id }} }}'
    megabyte_of_fields = "{ " + "__typename " * ((MIB - 100) // 11) + "}"
    started = time.perf_counter()
    with refused_before_resolvers(monkeypatch):
        answers = [await vendor.post(flood), await vendor.post(megabyte_of_fields)]
    assert time.perf_counter() - started < 5
    for response in answers:
        errors = assert_refused(response, 400, "QUERY_TOO_COMPLEX")
        assert all(len(e["message"]) < 200 for e in errors), "the document is not echoed back"


# --- batches --------------------------------------------------------------------------


async def test_batch_floods_are_refused_as_one_object(vendor, monkeypatch):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        eleven = await vendor.client.post("/graphql", json=[{"query": USERS}] * 11, headers=bearer(vendor))
        thousand = await vendor.client.post("/graphql", json=[{"query": USERS}] * 1000, headers=bearer(vendor))
    assert_refused(eleven, 400, "BAD_REQUEST")
    assert_refused(thousand, 400, "BAD_REQUEST")


async def test_a_mutation_inside_a_batch_refuses_the_whole_batch(vendor, monkeypatch):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        response = await vendor.client.post(
            "/graphql", json=[{"query": USERS}, {"query": REGISTER_PATIENT}], headers=bearer(vendor)
        )
    assert_refused(response, 400, "BAD_REQUEST")


async def test_a_batch_of_public_mutations_is_refused_to_anonymous_callers(client, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await client.post("/graphql", json=[{"query": LOGIN}] * 5)
    assert_refused(response, 401, "UNAUTHENTICATED")


# --- transport --------------------------------------------------------------------------


async def test_a_mutation_over_get_is_405(vendor, monkeypatch):
    await warmed(vendor)
    mixed = "query Look { users { totalCount } } " + REGISTER_PATIENT
    with refused_before_resolvers(monkeypatch):
        plain = await vendor.client.get("/graphql", params={"query": REGISTER_PATIENT}, headers=bearer(vendor))
        chosen = await vendor.client.get(
            "/graphql", params={"query": mixed, "operationName": "Register"}, headers=bearer(vendor)
        )
    for response in (plain, chosen):
        assert_refused(response, 405, "METHOD_NOT_ALLOWED")
        assert "POST" in response.headers["allow"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded"]
)
async def test_simple_cross_site_posts_are_415(vendor, monkeypatch, content_type):
    """The content types a browser sends cross-site without a preflight."""
    body = json.dumps({"query": REGISTER_PATIENT}).encode()
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await vendor.client.post(
            "/graphql", content=body, headers={**bearer(vendor), "Content-Type": content_type}
        )
    assert_refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_urlencoded_form_fields_are_415(vendor, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await vendor.client.post("/graphql", data={"query": REGISTER_PATIENT}, headers=bearer(vendor))
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert_refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    "parts",
    [
        {"data": {"query": REGISTER_PATIENT}, "files": {"file": ("a.txt", b"hello", "text/plain")}},
        {"data": {"operations": json.dumps({"query": REGISTER_PATIENT})}, "files": {"0": ("a.png", b"x")}},
        {
            "data": {
                "operations": json.dumps({"query": REGISTER_PATIENT}),
                "map": json.dumps({"0": ["query"]}),
            },
            "files": {"0": ("a.png", b"x")},
        },
        {"data": {"operations": "[not json", "map": "{}"}, "files": {"0": ("a.png", b"x")}},
        {
            "data": {
                "operations": json.dumps([{"query": USERS}] * 3),
                "map": json.dumps({"0": ["variables.x"]}),
            },
            "files": {"0": ("a.png", b"x")},
        },
    ],
    ids=["form-with-a-query", "no-map", "map-outside-variables", "operations-not-json", "batched-operations"],
)
async def test_multipart_that_is_not_a_graphql_upload_is_400(vendor, monkeypatch, parts):
    await warmed(vendor)
    with refused_before_resolvers(monkeypatch):
        response = await vendor.client.post("/graphql", headers=bearer(vendor), **parts)
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert_refused(response, 400, "BAD_REQUEST")


async def test_oversized_bodies_are_413(vendor, monkeypatch):
    padded = json.dumps({"query": REGISTER_PATIENT}).encode() + b" " * MIB

    async def streamed():
        yield json.dumps({"query": REGISTER_PATIENT}).encode()
        for _ in range(20):
            yield b" " * (64 * 1024)

    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        declared = await vendor.client.post(
            "/graphql", content=padded, headers={**bearer(vendor), "Content-Type": "application/json"}
        )
        chunked = await vendor.client.post(
            "/graphql", content=streamed(), headers={**bearer(vendor), "Content-Type": "application/json"}
        )
        multipart = await vendor.client.post(
            "/graphql", headers=bearer(vendor), files={"0": ("big.png", b"x" * (6 * MIB + 1))}
        )
    for response in (declared, chunked, multipart):
        assert_refused(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Padding": "a" * 17000},
        {f"X-Header-{i}": "b" * 100 for i in range(200)},
    ],
    ids=["one-large-header", "many-headers"],
)
async def test_oversized_headers_are_431(vendor, monkeypatch, headers):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await vendor.client.post(
            "/graphql", json={"query": REGISTER_PATIENT}, headers={**bearer(vendor), **headers}
        )
    assert_refused(response, 431, "HEADERS_TOO_LARGE")


async def test_an_oversized_authorization_header_is_431_before_it_is_decoded(client, monkeypatch):
    with refused_before_resolvers(monkeypatch, sql_allowed=False):
        response = await client.post(
            "/graphql", json={"query": USERS}, headers={"Authorization": "Bearer " + "a" * 20000}
        )
    assert_refused(response, 431, "HEADERS_TOO_LARGE")


# --- the proof itself -------------------------------------------------------------------


async def test_the_proof_notices_a_resolver_that_ran(vendor, monkeypatch):
    await warmed(vendor)
    with pytest.raises(AssertionError, match="executed"):
        with refused_before_resolvers(monkeypatch):
            assert (await vendor.post(USERS)).status_code == 200


async def test_the_proof_notices_sql_outside_authentication(vendor, monkeypatch):
    await warmed(vendor)
    with observed(monkeypatch) as observation:
        assert (await vendor.post(USERS)).status_code == 200
    assert observation.executions == 1
    assert "user" in observation.tables
