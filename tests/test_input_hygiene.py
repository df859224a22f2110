"""Input hygiene (issue 9, point 3): every string input is checked for valid
Unicode, NUL and other control characters, length and format before it reaches the
database; emails are normalised; no response shows a driver's text, SQL or a stack trace.

The corpus is generated from the schema: every String and ID leaf of every mutation's
input (on the valid call that tests/test_fault_injection.py builds for it) and of every
query's arguments gets each hostile value in turn. Each answer must be a refusal with its
typed code (INVALID_INPUT in a payload, BAD_USER_INPUT for a query argument), write
nothing, and leak nothing (tests/leaks.py)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from strawberry.relay import to_base64

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.models import ApiConsumer, Patient, User
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.patients.patients import register_patient
from chrgraph.schema import schema
from tests.accounts import PASSWORD, login, make_clinic
from tests.database_snapshot import BACKGROUND_STATEMENTS, BACKGROUND_TABLES
from tests.helpers import public_pem, rsa_key, unique
from tests.leaks import leaks_in
from tests.processes import chrgraph
from tests.test_fault_injection import CALLS, Call, World

MUTATIONS = sorted(schema._schema.mutation_type.fields)
QUERIES = sorted(schema._schema.query_type.fields)

HOSTILE_TEXT = {
    "NUL": "an ordinary text with a NUL\x00 inside",
    "control character": "an ordinary text with a bell\x07 inside",
    "100 000 characters": "x" * 100_000,
}
HOSTILE_IDS = {
    "NUL": "\x00\x00",
    "not a global id": "not a global id",
    "100 000 characters": "V" * 100_000,
    "a number beyond BIGINT": to_base64("User", "9" * 25),
    "a non-canonical number": to_base64("User", " 1"),
}
# Codes a field-level refusal may carry (hygiene failures are INVALID_INPUT; a
# format check may say more precisely what is wrong).
REFUSALS = {"INVALID_INPUT", "INVALID_EMAIL", "INVALID_KEY", "INVALID_TIME_ZONE", "PASSWORD_TOO_WEAK"}
# Fields whose refusal is deliberately vaguer (a re-entered password; login's single error).
VAGUE = {
    ("password",): {"PASSWORD_INVALID", "PASSWORD_TOO_WEAK", "INVALID_CREDENTIALS"},
    ("email",): {"INVALID_CREDENTIALS"},
    # Second-factor codes and login challenges: one answer, whatever is wrong with them.
    ("code",): {"INVALID_SECOND_FACTOR"},
    ("challengeToken",): {"CHALLENGE_INVALID"},
}
MUTATION_LOOKUP = "NOT_FOUND"


# --- walking the schema ---------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    path: tuple[str | int, ...]
    scalar: str  # "String" or "ID"

    @property
    def field(self) -> list[str]:
        return [str(part) for part in self.path]

    @property
    def label(self) -> str:
        return ".".join(self.field)


def _unwrap(type_):
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def leaves(type_, value: Any, prefix: tuple[str | int, ...] = ()) -> list[Leaf]:
    """String and ID leaves of an input type; nested objects only where `value` has them."""
    found = []
    for name, field in get_named_type(type_).fields.items():
        inner = _unwrap(field.type)
        listed = isinstance(inner, GraphQLList)
        named = get_named_type(inner)
        path = (*prefix, name, 0) if listed else (*prefix, name)
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            found.append(Leaf(path, named.name))
        elif isinstance(named, GraphQLInputObjectType) and isinstance(value, dict) and value.get(name):
            found.extend(leaves(named, value[name][0] if listed else value[name], path))
    return found


def with_value(base: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    target: Any = result
    for part in path[:-2]:
        target = target[part]
    head, last = path[-2] if len(path) > 1 else None, path[-1]
    if isinstance(last, int):  # a list leaf: the list holds only the hostile value
        target[head] = [value]
    else:
        (target[head] if head is not None else target)[last] = value
    return result


def selection(type_) -> str:
    named = get_named_type(type_)
    if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        return ""
    for name, field in named.fields.items():
        if not field.args and isinstance(get_named_type(field.type), (GraphQLScalarType, GraphQLEnumType)):
            return f"{{ {name} }}"
    return "{ __typename }"


# --- sending, and what every answer must be -------------------------------------------


@dataclass
class Answer:
    response: httpx.Response
    writes: list[str]

    @property
    def body(self) -> dict[str, Any]:
        return self.response.json()

    def top_level_codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.body.get("errors") or []]


async def send(client: httpx.AsyncClient, token: str | None, query: str, variables: dict | None) -> Answer:
    """One request, its writes counted, its body checked for leaks."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = {"query": query, "variables": variables}
    counter = hooks.count_statements()
    try:
        response = await client.post("/graphql", json=request, headers=headers)
    finally:
        hooks.stop_counting(counter)
    assert response.status_code < 500, response.text[:500]
    assert not leaks_in(response.text, json.dumps(request)), response.text[:2000]
    # A session's or consumer's last use is stored beside a request, not by it.
    aside = (*BACKGROUND_TABLES, *BACKGROUND_STATEMENTS)
    writes = [s for s in counter.statements if hooks.is_write(s) and not any(part in s for part in aside)]
    return Answer(response, writes)


def mutation_document(name: str) -> str:
    type_name = name[0].upper() + name[1:] + "Input"
    selection = "{ errors { code field message } }"
    return f"mutation Run($input: {type_name}!) {{ {name}(input: $input) {selection} }}"


def assert_refused_at(answer: Answer, name: str, leaf: Leaf, what: str) -> None:
    where = f"{name}(input.{leaf.label} = {what})"
    assert answer.response.status_code == 200, f"{where}: {answer.response.text[:300]}"
    assert "INTERNAL_SERVER_ERROR" not in answer.top_level_codes(), f"{where}: {answer.body}"
    assert answer.writes == [], f"{where} wrote {answer.writes}"
    payload = (answer.body.get("data") or {}).get(name)
    if leaf.scalar == "ID" and answer.top_level_codes():
        assert answer.top_level_codes() == ["BAD_USER_INPUT"], f"{where}: {answer.body}"
        return
    assert payload is not None and payload["errors"], f"{where} was accepted: {answer.body}"
    if leaf.scalar == "ID":
        # The error names the id, or the input field that holds it (a list, a handover).
        refusals = [e for e in payload["errors"] if e["code"] == MUTATION_LOOKUP]
        assert any(e["field"] and leaf.field[: len(e["field"])] == e["field"] for e in refusals), (
            f"{where}: expected NOT_FOUND at {leaf.field} or a field holding it, got {payload['errors']}"
        )
        return
    elif (leaf.path[-1],) in VAGUE and any(e["code"] in VAGUE[(leaf.path[-1],)] for e in payload["errors"]):
        return
    else:
        allowed, field = REFUSALS, leaf.field
    assert any(e["code"] in allowed and e["field"] == field for e in payload["errors"]), (
        f"{where}: expected one of {sorted(allowed)} at {field}, got {payload['errors']}"
    )


@pytest.fixture(scope="module")
async def world(client) -> World:
    return World(client, await make_clinic(client))


# --- every mutation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", MUTATIONS)
async def test_every_string_and_id_of_a_mutation_is_checked_before_the_database(world, name):
    build = CALLS.get(name)
    assert build is not None, f"add `{name}` to CALLS in tests/test_fault_injection.py"
    call: Call = await build(world)
    if call.input is None or call.upload is not None:
        pytest.skip(f"{name} takes no text (no input, or a file)")
    input_type = schema._schema.mutation_type.fields[name].args["input"].type
    found = leaves(input_type, call.input)
    assert found or not any(
        isinstance(get_named_type(f.type), GraphQLScalarType) and get_named_type(f.type).name in ("String", "ID")
        for f in get_named_type(input_type).fields.values()
    ), f"{name}: its String and ID inputs were not found"
    if not found:
        pytest.skip(f"{name} has no String or ID input")
    for leaf in found:
        for what, value in (HOSTILE_TEXT if leaf.scalar == "String" else HOSTILE_IDS).items():
            answer = await send(
                world.client,
                call.token,
                mutation_document(name),
                {"input": with_value(call.input, leaf.path, value)},
            )
            assert_refused_at(answer, name, leaf, what)
    clean = await send(world.client, call.token, mutation_document(name), {"input": call.input})
    payload = clean.body["data"][name]
    assert payload is not None and payload["errors"] == [], f"the valid call of {name} stopped working: {clean.body}"


# --- every query ----------------------------------------------------------------------


def query_leaves(name: str) -> list[tuple[str, Leaf, Any]]:
    """(argument, leaf inside it, the argument's type) for every String/ID leaf."""
    found = []
    for argument, arg in schema._schema.query_type.fields[name].args.items():
        inner = _unwrap(arg.type)
        named = get_named_type(inner)
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            found.append((argument, Leaf((0,) if isinstance(inner, GraphQLList) else (), named.name), arg.type))
        elif isinstance(named, GraphQLInputObjectType):
            for leaf in _all_leaves(named):
                found.append((argument, leaf, arg.type))
    return found


def _all_leaves(type_, prefix: tuple[str | int, ...] = ()) -> list[Leaf]:
    result = []
    for name, field in type_.fields.items():
        inner = _unwrap(field.type)
        named = get_named_type(inner)
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            result.append(Leaf((*prefix, name), named.name))
        elif isinstance(named, GraphQLInputObjectType):
            result.extend(_all_leaves(named, (*prefix, name)))
    return result


def argument_value(type_, leaf: Leaf, value: Any, valid_id: str) -> Any:
    """The argument holding `value` at the leaf, with required siblings filled in."""
    named = get_named_type(type_)
    if not isinstance(named, GraphQLInputObjectType):
        return [value] if leaf.path == (0,) else value
    result: dict[str, Any] = {}
    target, current = result, named
    for part in leaf.path[:-1]:
        target[part] = {}
        current = get_named_type(current.fields[part].type)
        _fill_required(target, current, leaf, valid_id)
        target = target[part]
    _fill_required(target, current, leaf, valid_id)
    target[leaf.path[-1]] = value
    return result


def _fill_required(target: dict, type_, leaf: Leaf, valid_id: str) -> None:
    for name, field in type_.fields.items():
        if isinstance(field.type, GraphQLNonNull) and name not in target and name != leaf.path[-1]:
            named = get_named_type(field.type)
            target[name] = valid_id if named.name == "ID" else "x"


def required_arguments(name: str, skip: str, owner_id: str) -> list[str]:
    """Literal values for the other required arguments of a query."""
    uses = []
    for argument, arg in schema._schema.query_type.fields[name].args.items():
        if argument == skip or not isinstance(arg.type, GraphQLNonNull):
            continue
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLEnumType):
            uses.append(f"{argument}: {next(iter(named.values))}")
        else:
            literal = {
                "ID": f'"{owner_id}"',
                "Boolean": "true",
                "Int": "30",
                "DateTime": '"2030-01-07T14:00:00Z"',
                "Date": '"2030-01-07"',
            }.get(named.name, '"2026-01"')
            uses.append(f"{argument}: {literal}")
    return uses


@pytest.mark.parametrize("name", QUERIES)
async def test_every_string_and_id_argument_of_a_query_is_checked(world, name):
    rule = schema._schema.query_type.fields[name].extensions["strawberry-definition"].permission_classes[0]
    token = world.support if rule.support and not rule.permission and not rule.owner else world.owner
    found = query_leaves(name)
    if not found:
        pytest.skip(f"{name} takes no String or ID argument")
    field_type = schema._schema.query_type.fields[name].type
    for argument, leaf, type_ in found:
        uses = required_arguments(name, argument, world.clinic.owner.user_id)
        arguments = ", ".join([f"{argument}: $value", *uses])
        document = f"query Ask($value: {type_}) {{ {name}({arguments}) {selection(field_type)} }}"
        for what, value in (HOSTILE_TEXT if leaf.scalar == "String" else HOSTILE_IDS).items():
            variables = {"value": argument_value(type_, leaf, value, world.clinic.owner.user_id)}
            answer = await send(world.client, token, document, variables)
            where = f"{name}({argument}.{leaf.label} = {what})"
            assert answer.writes == [], f"{where} wrote {answer.writes}"
            assert answer.response.status_code == 200, f"{where}: {answer.response.text[:300]}"
            codes = answer.top_level_codes()
            if leaf.scalar == "String":
                assert codes == ["BAD_USER_INPUT"], f"{where} was not refused as BAD_USER_INPUT: {answer.body}"
            else:  # an id that names nothing is null, or BAD_USER_INPUT when it is not an id
                assert set(codes) <= {"BAD_USER_INPUT"}, f"{where}: {answer.body}"


# --- what JSON and the GraphQL lexer refuse: lone surrogates ----------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { errors { code } } }",'
        b' "variables": {"i": {"firstName": "\\ud800", "lastName": "B", "dateOfBirth": "1990-01-01"}}}',
        b'{"query": "mutation { registerPatient(input: {firstName: \\"\xed\xa0\x80\\", lastName: \\"B\\",'
        b' dateOfBirth: \\"1990-01-01\\"}) { errors { code } } }"}',
    ],
    ids=["json-escape", "cesu-8-bytes"],
)
async def test_a_lone_surrogate_in_json_is_refused_before_anything_runs(world, body):
    counter = hooks.count_statements()
    try:
        response = await world.client.post(
            "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {world.owner}", "Content-Type": "application/json"},
        )
    finally:
        hooks.stop_counting(counter)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert not [s for s in counter.statements if hooks.is_write(s)]


async def test_a_lone_surrogate_escape_in_a_document_does_not_parse(world):
    document = (
        'mutation { registerPatient(input: {firstName: "\\uD800", lastName: "B", '
        'dateOfBirth: "1990-01-01"}) { errors { code } } }'
    )
    answer = await send(world.client, world.owner, document, None)
    assert answer.response.status_code == 400
    assert answer.top_level_codes() == ["GRAPHQL_PARSE_FAILED"]
    assert answer.writes == []


async def test_operations_refuse_lone_surrogates_that_only_the_cli_can_carry(world):
    """Python turns undecodable command-line bytes into lone surrogates: the operations
    themselves refuse them, whoever calls."""
    actor = support_cli_actor(world.org_id)
    with pytest.raises(OperationFailed) as refused:
        await create_api_consumer(actor, name="vendor \udced", public_key=public_pem(rsa_key(0)))
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.INVALID_INPUT, ("name",))]
    with pytest.raises(OperationFailed) as refused:
        await register_patient(
            actor,
            {
                "first_name": "\ud800",
                "last_name": "B",
                "date_of_birth": None,
                "email": None,
                "phone": None,
                "health_card_number": None,
            },
            [],
        )
    assert (ErrorCode.INVALID_INPUT, ("firstName",)) in [(e.code, e.field) for e in refused.value.errors]


async def test_the_cli_refuses_undecodable_arguments_without_a_traceback(world, tmp_path):
    name = b"vendor-\xed\xa0\x80".decode("utf-8", "surrogateescape")
    key_file = tmp_path / "vendor.pem"
    key_file.write_text(public_pem(rsa_key(0)))
    before = await ApiConsumer.all().count()
    result = await chrgraph(
        "consumers", "create", "--org", world.clinic.domain, "--name", name, "--public-key", str(key_file)
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert await ApiConsumer.all().count() == before


# --- formats and normalisation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "field", "value", "code"),
    [
        ("inviteUser", "email", "no-at-sign.example.com", "INVALID_EMAIL"),
        ("inviteUser", "email", "two@@example.com", "INVALID_EMAIL"),
        ("inviteUser", "email", "spaces in@example.com", "INVALID_EMAIL"),
        ("inviteUser", "email", "victim@example.com\r\nBcc: all@example.com", "INVALID_EMAIL"),
        ("inviteUser", "email", "a@-leading-hyphen.com", "INVALID_EMAIL"),
        ("createServiceAccount", "email", "robot@", "INVALID_EMAIL"),
        ("registerPatient", "email", "patient@localhost", "INVALID_EMAIL"),
        ("registerPatient", "phone", "call me maybe", "INVALID_INPUT"),
        ("registerPatient", "phone", "+0 123", "INVALID_INPUT"),
        ("registerPatient", "healthCardNumber", "12", "INVALID_INPUT"),
        ("registerPatient", "healthCardNumber", "1234'; --", "INVALID_INPUT"),
        ("updateOrganization", "province", "XX", "INVALID_INPUT"),
        ("updateOrganization", "timeZone", "../../etc/passwd", "INVALID_TIME_ZONE"),
        ("updateOrganization", "timeZone", "Mars/Olympus_Mons", "INVALID_TIME_ZONE"),
        (
            "createApiConsumer",
            "publicKey",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "INVALID_KEY",
        ),
    ],
)
async def test_values_of_the_wrong_format_are_refused_at_their_field(world, name, field, value, code):
    call = await CALLS[name](world)
    answer = await send(world.client, call.token, mutation_document(name), {"input": {**call.input, field: value}})
    payload = answer.body["data"][name]
    assert [e["code"] for e in payload["errors"] if e["field"] == [field]] == [code], payload
    assert answer.writes == []


async def test_emails_are_trimmed_and_lowercased_everywhere(world):
    local = unique("Zoe.Q+Tag")
    shouted = f"  {local.upper()}@Example.COM "
    invite = await CALLS["inviteUser"](world)
    answer = await send(
        world.client,
        world.owner,
        mutation_document("inviteUser"),
        {"input": {**invite.input, "email": shouted}},
    )
    assert answer.body["data"]["inviteUser"]["errors"] == []
    user = await User.get(login_email=f"{local.lower()}@example.com")
    assert user.email == f"{local.lower()}@example.com"

    again = await send(
        world.client,
        world.owner,
        mutation_document("inviteUser"),
        {"input": {**invite.input, "email": f"{local.lower()}@example.com"}},
    )
    assert [e["code"] for e in again.body["data"]["inviteUser"]["errors"]] == ["EMAIL_TAKEN"]

    patient = await CALLS["registerPatient"](world)
    await send(
        world.client,
        world.owner,
        mutation_document("registerPatient"),
        {"input": {**patient.input, "email": " Pat.Ient@Clinic.EXAMPLE "}},
    )
    assert await Patient.filter(last_name=patient.input["lastName"], email="pat.ient@clinic.example").exists()


async def test_login_accepts_the_email_in_any_case_and_surrounding_spaces(world):
    result = await login(world.client, f"  {world.clinic.owner.email.upper()} ", PASSWORD)
    assert result["errors"] == [] and result["token"]


async def test_a_password_login_would_refuse_is_refused_when_chosen(world):
    call = await CALLS["acceptInvitation"](world)
    answer = await send(
        world.client,
        None,
        mutation_document("acceptInvitation"),
        {"input": {**call.input, "password": "correct horse\x00battery staple"}},
    )
    assert [e["field"] for e in answer.body["data"]["acceptInvitation"]["errors"]] == [["password"]]
    assert answer.writes == []
