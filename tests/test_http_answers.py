"""The HTTP checks in order (with anonymous requests and the GraphQL limits): which HTTP answer a request gets,
and which check wins when a request fails several."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

VIEWER = "{ viewer { kind organization { domain } } }"
TYPENAME = "{ __typename }"
INTROSPECTION = "{ __schema { queryType { name } types { name } } }"
LOGIN = """
mutation {
  login(input: {email: "nobody@example.com", password: "a long passphrase"}) { token errors { code } }
}
"""
ACCEPT_INVITATION = """
mutation {
  acceptInvitation(input: {token: "x", password: "a long passphrase", firstName: "A", lastName: "B"}) {
    user { id } errors { code }
  }
}
"""
REQUEST_PASSWORD_RESET = """
mutation { requestPasswordReset(input: {email: "nobody@example.com"}) { errors { code } } }
"""
RESET_PASSWORD = """
mutation { resetPassword(input: {token: "rst_x", newPassword: "a long passphrase"}) { email errors { code } } }
"""
LOGIN_TWICE = """
mutation {
  a: login(input: {email: "a@example.com", password: "a long passphrase"}) { token }
  b: login(input: {email: "b@example.com", password: "a long passphrase"}) { token }
}
"""
LOGIN_BESIDE_A_QUERY = "query Peek { __typename } " + LOGIN.replace("mutation {", "mutation SignIn {")
UNPARSEABLE = "{ viewer { kind }"
MISSPELLED = [
    "{ viewr { kind } }",
    "{ viewer { knd } }",
    "{ viewer { ... on Viewr { kind } } }",
    '{ node(idd: "x") { id } }',
]

MIB = 1024 * 1024
BAD_TOKEN = "Bearer not-a-valid-token"


def _locum_chain(length: int) -> tuple[str, str]:
    """`length` alternating single-object fields (a locum's practitioner's locum …): deep
    but cheap, and the leaf that ends it."""
    names = ["locum" if level % 2 == 0 else "practitioner" for level in range(length)]
    return " ".join(f"{name} {{" for name in names), "startDate" if names[-1] == "locum" else "id"


def depth_chain(depth: int) -> str:
    """A selection exactly `depth` fields deep (introspection's own nesting does not count)."""
    opening, leaf = _locum_chain(depth - 2)
    return f'{{ node(id: "VXNlcjox") {{ ... on User {{ {opening} {leaf}' + " }" * (depth - 2) + " } } }"


def depth_through_fragments(depth: int) -> str:
    """The same depth, most of it hidden in nested fragments."""
    opening, leaf = _locum_chain(depth - 4)
    return (
        'query Deep { node(id: "VXNlcjox") { ...Person } } '
        "fragment Person on User { locum { ...Cover } } "
        f"fragment Cover on LocumDetails {{ practitioner {{ {opening} {leaf}" + " }" * (depth - 4) + " } }"
    )


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def document_of_tokens(count: int) -> str:
    """A valid document of exactly `count` lexical tokens (a skipped field carries them)."""
    strings = " ".join('"x"' for _ in range(count - 20))
    return f"{{ nodes(ids: [{strings}]) @skip(if: true) {{ __typename }} __typename }}"


def json_body(query: str, padding: int = 0) -> bytes:
    """A GraphQL request object followed by `padding` bytes of JSON whitespace."""
    return json.dumps({"query": query}).encode() + b" " * padding


def padded_to(size: int) -> bytes:
    body = json_body(TYPENAME)
    return json_body(TYPENAME, size - len(body))


async def post_raw(
    client: httpx.AsyncClient,
    content: Any,
    *,
    content_type: str | None = "application/json",
    authorization: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    if authorization is not None:
        sent["Authorization"] = authorization
    return await client.post("/graphql", content=content, headers=sent)


def bearer(vendor) -> str:
    return f"Bearer {vendor.token()}"


def assert_error(response: httpx.Response, status: int, code: str) -> list[dict[str, Any]]:
    """The status, and a single JSON object of errors that all carry `code`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["errors"], body
    assert body["errors"], body
    for error in body["errors"]:
        assert isinstance(error["message"], str) and error["message"]
        assert error["extensions"]["code"] == code, body
    return body["errors"]


def assert_missing_credentials(response: httpx.Response) -> None:
    errors = assert_error(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"
    assert [e["extensions"]["reason"] for e in errors] == ["MISSING_CREDENTIALS"]


def assert_invalid_token(response: httpx.Response, reason: str = "MALFORMED_TOKEN") -> None:
    errors = assert_error(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert [e["extensions"]["reason"] for e in errors] == [reason]


def assert_data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


# --- 1. body and headers over their limits ------------------------------------------


async def test_json_body_over_1_mib_is_413(vendor):
    response = await post_raw(vendor.client, padded_to(MIB + 1), authorization=bearer(vendor))
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_json_body_of_exactly_1_mib_is_served(vendor):
    body = padded_to(MIB)
    assert len(body) == MIB
    assert assert_data(await post_raw(vendor.client, body, authorization=bearer(vendor))) == {"__typename": "Query"}


async def test_json_body_streamed_without_a_length_is_cut_off_at_1_mib(vendor):
    async def chunks():
        for _ in range(17):
            yield b" " * (64 * 1024)

    response = await post_raw(vendor.client, chunks(), authorization=bearer(vendor))
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_oversized_body_is_413_even_with_invalid_credentials(client):
    response = await post_raw(client, padded_to(MIB + 1), authorization=BAD_TOKEN)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_oversized_body_is_413_even_without_credentials(client):
    assert_error(await post_raw(client, padded_to(MIB + 1)), 413, "PAYLOAD_TOO_LARGE")


async def test_oversized_body_is_413_even_with_an_unsupported_content_type(vendor):
    response = await post_raw(
        vendor.client, padded_to(MIB + 1), content_type="text/plain", authorization=bearer(vendor)
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_multipart_body_may_exceed_the_json_limit(vendor):
    # Multipart has its own, larger limit (6 MiB): 2 MiB is not a 413, it is refused later.
    response = await vendor.client.post(
        "/graphql", headers={"Authorization": bearer(vendor)}, files={"file": ("big.bin", b"x" * (2 * MIB))}
    )
    assert_error(response, 400, "BAD_REQUEST")


async def test_multipart_body_over_6_mib_is_413(vendor):
    response = await vendor.client.post(
        "/graphql",
        headers={"Authorization": bearer(vendor)},
        files={"file": ("big.bin", b"x" * (6 * MIB + 1))},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_headers_over_16_kib_are_431(vendor):
    response = await vendor.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": bearer(vendor), "X-Padding": "a" * 17000},
    )
    assert_error(response, 431, "HEADERS_TOO_LARGE")


async def test_headers_over_16_kib_are_431_even_with_invalid_credentials(client):
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": BAD_TOKEN, "X-Padding": "a" * 17000}
    )
    assert_error(response, 431, "HEADERS_TOO_LARGE")


async def test_headers_just_under_16_kib_are_served(vendor):
    response = await vendor.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": bearer(vendor), "X-Padding": "a" * 15000},
    )
    assert assert_data(response)["viewer"]["kind"] == "CONSUMER"


# --- 2. content type -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/graphql", None],
)
async def test_body_that_is_neither_json_nor_multipart_is_415(vendor, content_type):
    response = await post_raw(vendor.client, json_body(VIEWER), content_type=content_type, authorization=bearer(vendor))
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_unsupported_content_type_is_415_even_with_invalid_credentials(client, content_type):
    response = await post_raw(client, json_body(VIEWER), content_type=content_type, authorization=BAD_TOKEN)
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_unsupported_content_type_is_415_even_without_credentials(client):
    assert_error(await post_raw(client, json_body(VIEWER), content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_content_type_with_parameters_or_other_case_is_served(vendor, content_type):
    response = await post_raw(vendor.client, json_body(VIEWER), content_type=content_type, authorization=bearer(vendor))
    assert assert_data(response)["viewer"]["kind"] == "CONSUMER"


# --- 3. credentials sent and invalid ----------------------------------------------------


async def test_invalid_credentials_are_401_before_the_body_is_read_as_json(client):
    assert_invalid_token(await post_raw(client, b"{not json", authorization=BAD_TOKEN))


async def test_invalid_credentials_are_401_even_for_a_public_mutation(client):
    response = await client.post("/graphql", json={"query": LOGIN}, headers={"Authorization": BAD_TOKEN})
    assert_invalid_token(response)


async def test_invalid_credentials_are_401_on_get(client):
    response = await client.get("/graphql", params={"query": TYPENAME}, headers={"Authorization": BAD_TOKEN})
    assert_invalid_token(response)


# --- 4. not JSON, or not a GraphQL request --------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b'"just a string"',
        b"42",
        b"null",
        b'{"variables": {}}',
        b'{"query": 42}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'{"query": "{ __typename }", "operationName": 7}',
        b"[]",
        b"[1, 2]",
        b'[{"query": "{ __typename }"}, "x"]',
        b"\xff\xfe{}",
    ],
    ids=[
        "broken",
        "empty",
        "string",
        "number",
        "null",
        "no-query",
        "query-not-string",
        "variables-list",
        "operation-name-number",
        "empty-batch",
        "batch-of-numbers",
        "batch-with-a-string",
        "not-utf8",
    ],
)
async def test_body_that_is_not_a_graphql_request_is_400(vendor, content):
    response = await post_raw(vendor.client, content, authorization=bearer(vendor))
    assert_error(response, 400, "BAD_REQUEST")


async def test_body_that_is_not_json_is_400_before_the_anonymous_rule(client):
    assert_error(await post_raw(client, b"{not json"), 400, "BAD_REQUEST")


async def test_multipart_that_is_not_a_graphql_upload_is_400(vendor):
    response = await vendor.client.post(
        "/graphql",
        headers={"Authorization": bearer(vendor)},
        data={"query": VIEWER},
        files={"file": ("a.txt", b"hello")},
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert_error(response, 400, "BAD_REQUEST")


# --- 5. anonymous requests -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        TYPENAME,
        INTROSPECTION,
        VIEWER,
        ACCEPT_INVITATION.replace("mutation", "query"),
        LOGIN_TWICE,
        UNPARSEABLE,
        "mutation { viewer { kind } }",
    ],
    ids=[
        "typename",
        "introspection",
        "query",
        "query-named-like-a-mutation",
        "two-logins",
        "unparseable",
        "other-mutation",
    ],
)
async def test_anonymous_request_other_than_a_public_mutation_is_401(client, query):
    assert_missing_credentials(await client.post("/graphql", json={"query": query}))


async def test_anonymous_batch_is_401_even_of_public_mutations(client):
    response = await client.post("/graphql", json=[{"query": LOGIN}])
    assert_missing_credentials(response)
    response = await client.post("/graphql", json=[{"query": RESET_PASSWORD}])
    assert_missing_credentials(response)
    response = await client.post("/graphql", json=[{"query": TYPENAME}, {"query": TYPENAME}])
    assert_missing_credentials(response)


async def test_anonymous_document_running_a_query_beside_a_login_is_401(client):
    response = await client.post("/graphql", json={"query": LOGIN_BESIDE_A_QUERY, "operationName": "Peek"})
    assert_missing_credentials(response)


async def test_anonymous_get_is_401(client):
    assert_missing_credentials(await client.get("/graphql", params={"query": TYPENAME}))


@pytest.mark.parametrize(
    "query",
    [LOGIN, ACCEPT_INVITATION, LOGIN.replace("login(", "signIn: login("), REQUEST_PASSWORD_RESET, RESET_PASSWORD],
    ids=["login", "accept-invitation", "aliased-login", "request-password-reset", "reset-password"],
)
async def test_anonymous_public_mutation_is_not_refused_for_lack_of_credentials(client, query):
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code != 401, response.text
    assert "UNAUTHENTICATED" not in response.text


async def test_anonymous_login_named_by_operation_name_is_not_refused_for_lack_of_credentials(client):
    response = await client.post("/graphql", json={"query": LOGIN_BESIDE_A_QUERY, "operationName": "SignIn"})
    assert response.status_code != 401, response.text


# --- 7. documents that do not parse, validate or fit the limits ----------------------


async def test_document_that_does_not_parse_is_400_graphql_parse_failed(vendor):
    errors = assert_error(await vendor.post(UNPARSEABLE), 400, "GRAPHQL_PARSE_FAILED")
    assert len(errors) == 1


@pytest.mark.parametrize("query", MISSPELLED)
async def test_document_that_fails_validation_is_400_without_suggestions(vendor, query):
    errors = assert_error(await vendor.post(query), 400, "GRAPHQL_VALIDATION_FAILED")
    for error in errors:
        assert "Did you mean" not in error["message"]


@pytest.mark.parametrize("build", [depth_chain, depth_through_fragments], ids=["inline", "fragments"])
async def test_query_deeper_than_12_is_400_query_too_complex(vendor, build):
    assert_error(await vendor.post(build(13)), 400, "QUERY_TOO_COMPLEX")


@pytest.mark.parametrize("build", [depth_chain, depth_through_fragments], ids=["inline", "fragments"])
async def test_query_12_deep_is_served(vendor, build):
    assert "node" in assert_data(await vendor.post(build(12)))


async def test_query_with_more_than_30_aliases_is_400_query_too_complex(vendor):
    assert_error(await vendor.post(aliased(31)), 400, "QUERY_TOO_COMPLEX")


async def test_aliases_repeated_through_a_fragment_count_each_time(vendor):
    fragment = "fragment Names on Query { " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"
    assert_error(
        await vendor.post("{ ...Names viewer { kind } ... on Query { ...Names } } " + fragment),
        400,
        "QUERY_TOO_COMPLEX",
    )


async def test_query_with_30_aliases_is_served(vendor):
    assert len(assert_data(await vendor.post(aliased(30)))) == 30


async def test_document_of_more_than_5000_tokens_is_400_query_too_complex(vendor):
    errors = assert_error(await vendor.post(document_of_tokens(5001)), 400, "QUERY_TOO_COMPLEX")
    assert all(len(e["message"]) < 500 for e in errors)  # the document is not echoed back


async def test_document_of_5000_tokens_is_served(vendor):
    assert assert_data(await vendor.post(document_of_tokens(5000))) == {"__typename": "Query"}


async def test_batch_of_more_than_10_operations_is_one_400_object(vendor):
    response = await vendor.client.post(
        "/graphql", json=[{"query": TYPENAME}] * 11, headers={"Authorization": bearer(vendor)}
    )
    assert_error(response, 400, "BAD_REQUEST")


async def test_batch_holding_an_invalid_document_is_refused_as_one_object(vendor):
    response = await vendor.client.post(
        "/graphql",
        json=[{"query": TYPENAME}, {"query": MISSPELLED[0]}],
        headers={"Authorization": bearer(vendor)},
    )
    assert_error(response, 400, "GRAPHQL_VALIDATION_FAILED")


async def test_batch_of_10_queries_is_a_list_of_10_results(vendor):
    response = await vendor.client.post(
        "/graphql", json=[{"query": TYPENAME}] * 10, headers={"Authorization": bearer(vendor)}
    )
    assert response.status_code == 200, response.text
    assert [{"data": r["data"]} for r in response.json()] == [{"data": {"__typename": "Query"}}] * 10


async def test_batch_of_2_queries_answers_each_in_order(vendor):
    response = await vendor.client.post(
        "/graphql",
        json=[{"query": VIEWER}, {"query": "query Who { viewer { consumer { issuer } } }"}],
        headers={"Authorization": bearer(vendor)},
    )
    assert response.status_code == 200, response.text
    first, second = ({"data": r["data"]} for r in response.json())
    assert first == {"data": {"viewer": {"kind": "CONSUMER", "organization": {"domain": vendor.organization.domain}}}}
    assert second == {"data": {"viewer": {"consumer": {"issuer": vendor.consumer.issuer}}}}


# --- 8. served ----------------------------------------------------------------------


async def test_authenticated_query_is_200_with_data(vendor):
    response = await vendor.post(VIEWER)
    assert response.headers["content-type"].startswith("application/json")
    assert assert_data(response) == {
        "viewer": {"kind": "CONSUMER", "organization": {"domain": vendor.organization.domain}}
    }


async def test_get_with_a_query_parameter_runs_the_query(vendor):
    response = await vendor.client.get("/graphql", params={"query": VIEWER}, headers={"Authorization": bearer(vendor)})
    assert assert_data(response)["viewer"]["organization"]["domain"] == vendor.organization.domain


async def test_get_with_variables_and_operation_name_runs_that_operation(vendor):
    query = "query A { __typename } query B($first: Int) { auditEvents(first: $first) { totalCount } }"
    response = await vendor.client.get(
        "/graphql",
        params={"query": query, "operationName": "B", "variables": json.dumps({"first": 1})},
        headers={"Authorization": bearer(vendor)},
    )
    assert set(assert_data(response)) == {"auditEvents"}


async def test_browser_get_shows_graphiql_without_credentials(client):
    response = await client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_health_endpoints_need_no_credentials(client, path):
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["status"] in {"ok", "ready"}


# --- every answer is no-store ------------------------------------------------------------

GET_MUTATION = "/graphql?query=" + "mutation%20%7B%20logout%20%7B%20errors%20%7B%20code%20%7D%20%7D%20%7D"
ANSWERS: list[Any] = [
    pytest.param(
        lambda v: v.client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": bearer(v)}),
        200,
        id="200-query",
    ),
    pytest.param(
        lambda v: v.client.post("/graphql", json=[{"query": TYPENAME}] * 2, headers={"Authorization": bearer(v)}),
        200,
        id="200-batch",
    ),
    pytest.param(
        lambda v: v.client.get("/graphql?query=%7B__typename%7D", headers={"Authorization": bearer(v)}),
        200,
        id="200-get",
    ),
    pytest.param(lambda v: v.client.get("/graphql", headers={"Accept": "text/html"}), 200, id="200-graphiql-page"),
    pytest.param(lambda v: post_raw(v.client, json_body(UNPARSEABLE), authorization=bearer(v)), 400, id="400-parse"),
    pytest.param(lambda v: post_raw(v.client, b"{not json", authorization=bearer(v)), 400, id="400-not-json"),
    pytest.param(
        lambda v: post_raw(v.client, json_body(aliased(31)), authorization=bearer(v)), 400, id="400-too-complex"
    ),
    pytest.param(lambda v: post_raw(v.client, json_body(TYPENAME)), 401, id="401-anonymous"),
    pytest.param(lambda v: post_raw(v.client, json_body(TYPENAME), authorization=BAD_TOKEN), 401, id="401-bad-token"),
    pytest.param(lambda v: v.client.put("/graphql", json={"query": TYPENAME}), 405, id="405-put"),
    pytest.param(
        lambda v: v.client.get(GET_MUTATION, headers={"Authorization": bearer(v)}), 405, id="405-mutation-over-get"
    ),
    pytest.param(lambda v: post_raw(v.client, padded_to(MIB + 1), authorization=bearer(v)), 413, id="413"),
    pytest.param(
        lambda v: post_raw(v.client, b"{}", content_type="text/plain", authorization=bearer(v)), 415, id="415"
    ),
    pytest.param(
        lambda v: post_raw(v.client, json_body(TYPENAME), authorization=bearer(v), headers={"X-Pad": "p" * 17_000}),
        431,
        id="431",
    ),
]


def assert_no_store(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers


@pytest.mark.parametrize(("send", "status"), ANSWERS)
async def test_every_graphql_answer_is_no_store(vendor, send, status):
    assert_no_store(await send(vendor), status)


async def test_an_unexpected_error_answer_is_no_store(vendor, monkeypatch):
    from chrgraph.http import graphql as view

    def broken_loaders():
        raise RuntimeError("a bug")

    monkeypatch.setattr(view, "make_loaders", broken_loaders)
    assert_no_store(await vendor.post(VIEWER), 500)


async def test_an_answer_replaced_late_by_a_500_is_no_store(vendor):
    """The API log replaces the whole answer, headers included, when its row cannot be
    written: the header is added outside it."""
    from chrgraph.db.hooks import FaultPlan, arm_fault, disarm_fault

    plan = FaultPlan(fail_at=1, match="api_log")
    arm_fault(plan)
    try:
        response = await vendor.post(VIEWER)
    finally:
        disarm_fault()
    assert plan.fired
    assert_no_store(response, 500)


async def test_routes_beside_graphql_keep_their_own_caching(client):
    assert "no-store" not in (await client.get("/healthz")).headers.get("cache-control", "")


# --- headers that are not what they claim -------------------------------------------------


@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb2", b"1e3", b"-1", b" 12 ", b"\xd9\xa1"])
async def test_a_content_length_that_is_not_ascii_digits_is_not_a_server_error(vendor, declared):
    """`"²".isdigit()` is true, and int() refuses it: such a length is ignored, the body
    read as it comes (uvicorn refuses these before the app; an ASGI server might not)."""
    response = await vendor.client.post(
        "/graphql",
        content=json_body(TYPENAME),
        headers=[
            (b"content-type", b"application/json"),
            (b"content-length", declared),
            (b"authorization", bearer(vendor).encode()),
        ],
    )
    assert_data(response)


@pytest.mark.parametrize(
    "token", ["x" * 65, "x" * 5000, "a%00b", "%ED%A0%80", "%C3%A9t%C3%A9", "a%20b"], ids=lambda t: t[:12]
)
async def test_a_portal_image_url_that_no_image_can_have_is_not_found(client, token):
    response = await client.get("/portal/background/" + token)
    assert response.status_code == 404, response.text[:300]
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
