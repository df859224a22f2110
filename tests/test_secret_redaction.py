"""Secrets never reach an API-log row: the schema declares them (`@secret` on arguments,
input fields and output fields), and the log follows the parsed document with the
schema's types. Every declared secret is sent in every position a caller can put it —
inline (string and block string), through a variable of any name, inside an input
object passed as a variable, as a variable's default value (alone and inside an input
object), and returned under an alias — and is looked for in the raw `api_log` table and
through `apiLogs`."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)

from chrgraph.audit.redact import REDACTED
from chrgraph.db.models import ApiConsumerKey, ApiLog
from chrgraph.graphql_engine import core_schema
from chrgraph.schema import schema as app_schema
from chrgraph.schema.secrets import is_secret
from tests.accounts import PASSWORD, make_clinic
from tests.helpers import unique

pytestmark = pytest.mark.usefixtures("app")

SCHEMA = core_schema(app_schema)

# Fields and arguments named like a secret that are not secrets, each with its reason.
NOT_SECRET = {
    "PostalAddress.postalCode": "a patient's postal code: part of the address, not a credential",
    "PostalAddressInput.postalCode": "a patient's postal code: part of the address, not a credential",
    "PatientFilter.postalCode": "a postal code searched for, not a credential",
    "AddApiConsumerKeyInput.publicKey": "a public key: what the consumer publishes",
    "CreateApiConsumerInput.publicKey": "a public key: what the consumer publishes",
    "AddApiConsumerKeyPayload.key": "the public key just added (kid, fingerprint, size)",
    "RevokeApiConsumerKeyPayload.key": "the public key just revoked",
    "ApiConsumer.keys": "the consumer's public keys",
    "Mutation.addApiConsumerKey": "a mutation's name, not a value",
    "Mutation.revokeApiConsumerKey": "a mutation's name, not a value",
    "ApiLog.keyId": "the kid a token named: an identifier, sent in the clear in every JWT header",
    "ApiLog.keyFingerprint": "the hash of a public key",
    "AuditEvent.actorKeyFingerprint": "the hash of a public key",
    "UserError.code": "an error code (ErrorCode enum)",
    "Mutation.changePassword": "a mutation's name, not a value",
    "Mutation.requestPasswordReset": "a mutation's name, not a value",
    "Mutation.resetPassword": "a mutation's name, not a value",
    "Mutation.rotateWebhookSecret": "a mutation's name, not a value",
    "WebhookSubscription.previousSecretValidUntil": "a time: until when the previous secret signs",
}
SECRET_LIKE = re.compile(r"password|token|secret|code|key", re.I)


def _named_like_secrets() -> Iterator[tuple[str, Any]]:
    """Every argument, input field and output field of the schema: (name, definition)."""
    for name, named in SCHEMA.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in named.fields.items():
                yield f"{name}.{field_name}", field
                for arg_name, arg in field.args.items():
                    yield f"{name}.{field_name}({arg_name})", arg
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                yield f"{name}.{field_name}", field


def _member(name: str) -> str:
    """`Type.field` -> field; `Type.field(argument)` -> argument."""
    return name[name.index("(") + 1 : -1] if "(" in name else name.rsplit(".", 1)[-1]


def test_every_field_named_like_a_secret_is_declared_secret_or_listed_with_a_reason():
    undecided = [
        name
        for name, definition in _named_like_secrets()
        if SECRET_LIKE.search(_member(name)) and not is_secret(definition) and name not in NOT_SECRET
    ]
    assert undecided == [], "declare these @secret, or list them in NOT_SECRET with a reason"
    every = {name for name, _ in _named_like_secrets()}
    assert sorted(set(NOT_SECRET) - every) == [], "NOT_SECRET names fields the schema no longer has"
    assert all(reason for reason in NOT_SECRET.values())


def test_the_schema_declares_the_known_secrets():
    declared = {name for name, definition in _named_like_secrets() if is_secret(definition)}
    assert {"LoginInput.password", "AcceptInvitationInput.token", "LoginPayload.token"} <= declared
    assert {
        "ChangePasswordInput.password",
        "ChangePasswordInput.newPassword",
        "ResetPasswordInput.token",
        "ResetPasswordInput.newPassword",
    } <= declared
    assert "directive @secret" in open("schema.graphql").read()


# --- building documents that put a secret in each position --------------------------------


def _literal(type_: Any) -> str:
    """A valid literal of a type (required input members only)."""
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return "[]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return "{" + ", ".join(f"{n}: {_literal(f.type)}" for n, f in _required(type_)) + "}"
    return json.dumps(_value(type_))


def _value(type_: Any) -> Any:
    """The same as JSON, for variables."""
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type)
    if isinstance(type_, GraphQLList):
        return []
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {n: _value(f.type) for n, f in _required(type_)}
    assert isinstance(type_, GraphQLScalarType)
    return {
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Date": "2020-01-01",
        "DateTime": "2020-01-01T00:00:00Z",
    }.get(type_.name, "x")


def _required(input_type: GraphQLInputObjectType) -> list[tuple[str, Any]]:
    return [
        (n, f)
        for n, f in input_type.fields.items()
        if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
    ]


@dataclass(frozen=True)
class Case:
    secret: str  # the declared secret
    position: str
    query: str
    variables: dict[str, Any]
    values: tuple[str, ...]  # the secret values sent


def _root_taking(input_type: GraphQLInputObjectType) -> tuple[str, str, str, Any]:
    """A root field with an argument of this input type: (operation, field, argument, type)."""
    for operation, root in (("mutation", SCHEMA.mutation_type), ("query", SCHEMA.query_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                if get_named_type(arg.type) is input_type:
                    return operation, field_name, arg_name, arg.type
    raise AssertionError(f"no root field takes {input_type.name}: extend the test")


def _input_cases(type_name: str, member: str) -> Iterator[Case]:
    input_type = SCHEMA.type_map[type_name]
    assert isinstance(input_type, GraphQLInputObjectType)
    member_type = input_type.fields[member].type
    nullable = member_type.of_type if isinstance(member_type, GraphQLNonNull) else member_type
    operation, field, arg, arg_type = _root_taking(input_type)
    wrap = "[{}]" if isinstance(get_nullable(arg_type), GraphQLList) else "{}"
    others = [(n, f) for n, f in _required(input_type) if n != member]

    def obj(value: str) -> str:
        return wrap.format(
            "{" + ", ".join([f"{member}: {value}", *(f"{n}: {_literal(f.type)}" for n, f in others)]) + "}"
        )

    def as_json(value: Any) -> dict[str, Any]:
        return {member: value, **{n: _value(f.type) for n, f in others}}

    name = f"{type_name}.{member}"
    select = "{ __typename }"
    s = [f"s3cr3t-{unique(p)}" for p in ("inline", "block", "var", "object", "default", "objdefault")]
    yield Case(name, "inline", f"{operation} {{ {field}({arg}: {obj(json.dumps(s[0]))}) {select} }}", {}, (s[0],))
    block = '"""' + s[1] + '"""'
    yield Case(name, "block string", f"{operation} {{ {field}({arg}: {obj(block)}) {select} }}", {}, (s[1],))
    yield Case(
        name,
        "variable of any name",
        f"{operation} Anything($q9: {nullable}!) {{ {field}({arg}: {obj('$q9')}) {select} }}",
        {"q9": s[2]},
        (s[2],),
    )
    yield Case(
        name,
        "inside an input object variable",
        f"{operation} Whole($z: {arg_type}) {{ {field}({arg}: $z) {select} }}",
        {"z": [as_json(s[3])] if wrap == "[{}]" else as_json(s[3])},
        (s[3],),
    )
    yield Case(
        name,
        "variable default",
        f'{operation} Defaulted($d: {nullable} = "{s[4]}") {{ {field}({arg}: {obj("$d")}) {select} }}',
        {},
        (s[4],),
    )
    yield Case(
        name,
        "input object default",
        f"{operation} ObjectDefault($o: {get_nullable(arg_type)} = {obj(json.dumps(s[5]))})"
        f" {{ {field}({arg}: $o) {select} }}",
        {},
        (s[5],),
    )


def get_nullable(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _declared() -> list[tuple[str, str, Any]]:
    """(kind, name, definition) of every declared secret."""
    found = []
    for name, definition in _named_like_secrets():
        if not is_secret(definition):
            continue
        owner = SCHEMA.type_map[name.split(".")[0]]
        kind = "argument" if "(" in name else ("input" if isinstance(owner, GraphQLInputObjectType) else "output")
        found.append((kind, name, definition))
    return found


INPUT_CASES = [case for kind, name, _ in _declared() if kind == "input" for case in _input_cases(*name.split("."))]


def test_no_secret_argument_is_left_without_cases():
    # Secret arguments (none yet) would need cases like the input fields': add them here.
    assert [name for kind, name, _ in _declared() if kind == "argument"] == []


async def _sent_and_logged(client, clinic, query: str, variables: dict[str, Any]) -> tuple[Any, ApiLog]:
    rid = unique("redaction")
    response = await clinic.vendor.post(query, variables, headers={"X-Request-Id": rid})
    row = await ApiLog.get(client_request_id=rid)
    return response, row


def _assert_hidden(values: tuple[str, ...], *texts: Any) -> None:
    stored = "\n".join(t if isinstance(t, str) else json.dumps(t) for t in texts)
    for value in values:
        assert value not in stored


async def _through_api_logs(clinic, values: tuple[str, ...], row: ApiLog) -> None:
    shown = await clinic.owner.gql(
        "{ apiLogs(first: 100) { edges { node { requestId clientRequestId query responseBody } } } }"
    )
    nodes = [e["node"] for e in shown["apiLogs"]["edges"]]
    [node] = [n for n in nodes if n["requestId"] == row.request_id]
    assert node["clientRequestId"] == row.client_request_id
    _assert_hidden(values, json.dumps(shown))


@pytest.mark.parametrize("case", INPUT_CASES, ids=lambda c: f"{c.secret}-{c.position}")
async def test_a_secret_input_is_redacted_in_every_position(client, case: Case):
    clinic = await make_clinic(client)

    response, row = await _sent_and_logged(client, clinic, case.query, case.variables)

    # The document validated: the plan did the redaction, not the fallback for bad documents.
    assert response.status_code == 200, response.text
    _assert_hidden(case.values, row.query, row.variables, row.response_body)
    assert REDACTED in (row.query or "") + json.dumps(row.variables)
    await _through_api_logs(clinic, case.values, row)


# Output secrets need a request that returns a real value: one recipe each.
OUTPUT_RECIPES = {
    "LoginPayload.token": lambda clinic: (
        "mutation Enter($e: String!, $p: String!) {"
        " first: login(input: {email: $e, password: $p}) { t: token }"
        " ...on Mutation { again: login(input: {email: $e, password: $p}) { token } } }",
        {"e": clinic.owner.email, "p": PASSWORD},
        lambda body: [body["data"]["first"]["t"], body["data"]["again"]["token"]],
    ),
    "CreateWebhookSubscriptionPayload.secret": lambda clinic: (
        "mutation Hook($u: String!) { made: createWebhookSubscription(input: {url: $u, events: [USER_UPDATED]})"
        " { s: secret } }",
        {"u": "http://127.0.0.1:9/hooks"},
        lambda body: [body["data"]["made"]["s"]],
    ),
    "RotateWebhookSecretPayload.secret": lambda clinic: _rotation(clinic),
}


async def _enrolled_owner(clinic) -> list[str]:
    """Turn a second factor on for the clinic's owner (through the operations, with a real
    code); its recovery codes."""
    import pyotp

    from chrgraph import clock
    from chrgraph.auth.principals import Actor, Principal, PrincipalKind
    from chrgraph.db.models import User
    from chrgraph.resolvers.users import two_factor

    owner = await User.get(login_email=clinic.owner.email)
    actor = Actor(
        Principal(PrincipalKind.USER, owner.organization_id, user_id=owner.id, user_public_id=owner.public_id)
    )
    enrollment = await two_factor.start_two_factor_enrollment(actor)
    return await two_factor.confirm_two_factor_enrollment(actor, pyotp.TOTP(enrollment.secret).at(clock.now()))


async def _challenge_recipe(clinic):
    await _enrolled_owner(clinic)
    return (
        "mutation Enter($e: String!, $p: String!) {"
        " first: login(input: {email: $e, password: $p}) { c: challengeToken } }",
        {"e": clinic.owner.email, "p": PASSWORD},
        lambda body: [body["data"]["first"]["c"]],
    )


async def _verify_recipe(clinic):
    from chrgraph.resolvers.users.login import login

    codes = await _enrolled_owner(clinic)
    challenge = (await login(clinic.owner.email, PASSWORD)).challenge_token
    return (
        "mutation Second($c: String!, $r: String!) {"
        " s: verifySecondFactor(input: {challengeToken: $c, code: $r}) { t: token } }",
        {"c": challenge, "r": codes[0]},
        lambda body: [body["data"]["s"]["t"]],
    )


OUTPUT_RECIPES.update(
    {
        "LoginPayload.challengeToken": _challenge_recipe,
        "VerifySecondFactorPayload.token": _verify_recipe,
    }
)

# Secret outputs only a user's own session receives (consumers are refused these
# mutations, and sessions' requests are not API-logged): declared all the same.
SESSION_ONLY_OUTPUTS = {
    "StartTwoFactorEnrollmentPayload.secret": "enrolment is a session's own",
    "StartTwoFactorEnrollmentPayload.otpauthUri": "enrolment is a session's own",
    "StartTwoFactorEnrollmentPayload.qrCodeSvg": "enrolment is a session's own",
    "ConfirmTwoFactorEnrollmentPayload.recoveryCodes": "enrolment is a session's own",
}


async def _rotation(clinic) -> tuple[str, dict[str, Any], Any]:
    made = await clinic.vendor.gql(
        'mutation { createWebhookSubscription(input: {url: "http://127.0.0.1:9/hooks", events: [USER_UPDATED]})'
        " { subscription { id } } }"
    )
    return (
        "mutation Turn($i: ID!) { r: rotateWebhookSecret(input: {subscriptionId: $i}) { fresh: secret } }",
        {"i": made["createWebhookSubscription"]["subscription"]["id"]},
        lambda body: [body["data"]["r"]["fresh"]],
    )


def test_every_secret_output_has_a_recipe():
    declared = sorted(name for kind, name, _ in _declared() if kind == "output")
    assert declared == sorted({*OUTPUT_RECIPES, *SESSION_ONLY_OUTPUTS})


@pytest.mark.parametrize("secret", sorted(OUTPUT_RECIPES))
async def test_a_secret_output_is_redacted_under_any_alias(client, secret: str):
    clinic = await make_clinic(client)
    recipe = OUTPUT_RECIPES[secret](clinic)
    query, variables, pick = await recipe if inspect.isawaitable(recipe) else recipe

    response, row = await _sent_and_logged(client, clinic, query, variables)

    assert response.status_code == 200, response.text
    values = tuple(pick(response.json()))
    assert all(isinstance(v, str) and len(v) > 8 for v in values), response.text
    _assert_hidden(values, row.query, row.variables, row.response_body)
    logged = json.loads(row.response_body)["data"]
    assert pick({"data": logged}) == [REDACTED] * len(values)
    await _through_api_logs(clinic, values, row)


async def test_a_secret_of_the_wrong_type_is_not_echoed_by_the_error_message(client):
    clinic = await make_clinic(client)
    query = "mutation Enter($in: LoginInput!) { login(input: $in) { token } }"

    response, row = await _sent_and_logged(client, clinic, query, {"in": {"email": "a@b.test", "password": 73519246}})

    assert "73519246" in response.text  # graphql-core quotes the value it refused
    _assert_hidden(("73519246",), row.query, row.variables, row.response_body)


async def test_a_document_that_does_not_validate_keeps_no_literal_or_variable_value(client):
    clinic = await make_clinic(client)
    query = 'mutation { login(input: {email: "a@b.test", pasword: "typo-secret-1"}) { token } } # $x'

    response, row = await _sent_and_logged(client, clinic, query, {"x": "typo-secret-2"})

    assert response.status_code == 400
    _assert_hidden(("typo-secret-1", "typo-secret-2", "a@b.test"), row.query, row.variables, row.response_body)
    assert "login(input:" in row.query  # the document stays readable


async def test_a_document_that_does_not_parse_keeps_nothing_after_the_break(client):
    clinic = await make_clinic(client)
    query = 'mutation { login(input: {email: "a@b.test", password: "unterminated-secret'

    response, row = await _sent_and_logged(client, clinic, query, {})

    assert response.status_code == 400
    _assert_hidden(("unterminated-secret", "a@b.test"), row.query, row.response_body)


async def test_a_batch_redacts_each_document_by_its_own_plan(client):
    clinic = await make_clinic(client)
    rid = unique("batch")
    documents = [
        {
            "query": "query A($password: String)"
            " { auditEvents(first: 1, filter: {targetType: $password}) { totalCount } }",
            "variables": {"password": "not-a-secret-here"},
        },
        {
            "query": "query B { viewer { kind } }"
            ' mutation C($p: String!) { login(input: {email: "x", password: $p}) { token } }',
            "operationName": "B",
            "variables": {"p": "batched-secret"},
        },
    ]
    response = await clinic.vendor.client.post(
        "/graphql",
        json=documents,
        headers={"Authorization": f"Bearer {clinic.vendor.token()}", "X-Request-Id": rid},
    )
    assert response.status_code == 200, response.text
    row = await ApiLog.get(client_request_id=rid)
    assert row.variables == {"batch": [{"password": "not-a-secret-here"}, {"p": REDACTED}]}
    _assert_hidden(("batched-secret",), row.query, row.variables, row.response_body)


async def test_every_row_carries_the_key_fingerprint_and_the_callers_request_id(client):
    clinic = await make_clinic(client)
    key = await ApiConsumerKey.get(consumer_id=clinic.vendor.consumer.id)

    response, row = await _sent_and_logged(client, clinic, "{ viewer { kind } }", {})

    assert row.key_fingerprint == key.fingerprint and row.key_id == key.kid
    assert row.request_id == response.headers["x-request-id"] != row.client_request_id
    shown = await clinic.owner.gql(
        "{ apiLogs(first: 5) { edges { node { requestId clientRequestId keyId keyFingerprint } } } }"
    )
    [node] = [e["node"] for e in shown["apiLogs"]["edges"] if e["node"]["requestId"] == row.request_id]
    assert node == {
        "requestId": row.request_id,
        "clientRequestId": row.client_request_id,
        "keyId": key.kid,
        "keyFingerprint": key.fingerprint,
    }
