"""Schemathesis in GraphQL mode (issue 9, point 1): every query and mutation of the
committed `schema.graphql`, fuzzed against a real server (`chrgraph serve` on 127.0.0.1
and the test database) as an API consumer whose RS512 token the auth hook below mints.

Seeded and bounded (a fixed seed, a few examples per operation, a request timeout).
String and ID arguments are drawn half the time from a dictionary of hostile strings:
SQL fragments, NUL, lone surrogates, bidi controls, a 1 MB string, emoji, CR/LF.

Configured expectations, each argued in docs/decisions.md:
- operations a consumer may not call answer FORBIDDEN: schemathesis counts that as a
  server error, so `not_a_server_error` is off for exactly those operations (derived from
  the schema's permission rules) and `refuses_what_a_consumer_may_not_do` checks instead that
  they answer FORBIDDEN (or a client error) and never data;
- `positive_data_acceptance` is off: schema-valid arguments that break a business rule
  (`first: 101`, a malformed global id) are BAD_USER_INPUT by contract;
- every response, of every operation, passes `answers_without_leaks_or_masked_errors`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Config
from schemathesis.graphql import nodes
from strawberry.relay import to_base64

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import ApiLog
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.schema import schema as chrgraph_schema
from tests.helpers import claims, make_organization, public_pem, rsa_key, sign, unique
from tests.leaks import leaks_in
from tests.processes import running_server

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261123
EXAMPLES_PER_OPERATION = 25
ONE_MB = "M" * 1_000_000

SQL_FRAGMENTS = [
    "' OR '1'='1",
    '\'; DROP TABLE "user"; --',
    '1 UNION SELECT password_hash FROM "user" --',
    '") OR 1=1 --',
    "%' AND pg_sleep(5) --",
    "admin'/*",
]
HOSTILE_STRINGS = [
    *SQL_FRAGMENTS,
    "\x00",
    "before\x00after",
    "\ud800",
    "lone \udfff low",
    "\u202eevil\u202c",
    "\u2066isolate\u2069",
    "\u200f\u200e",
    "\ufeffbom",
    ONE_MB,
    "👩🏽‍⚕️",
    "🏥" * 200,
    "line\r\nX-Injected: 1",
    "\r\n\r\n",
    "\t",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "../../../../etc/passwd",
    "%n%s%x",
    "Élodie Çağlar-Nguyễn",
    "李小龍",
    "محمد",
    "",
    " ",
    "9" * 400,
    "nobody@example.com",
    "UPPER.Case+tag@Example.COM",
    "2026-02-30",
    "1980-05-17",
    "2030-01-01T10:00:00Z",
    "America/Toronto",
    "ON",
    *(
        to_base64(kind, key)
        for kind in (
            "User",
            "Patient",
            "Appointment",
            "Role",
            "ApiConsumer",
            "LabIntegration",
            "IdentifierType",
            "Organization",
            "LicenseUpgradeRequest",
            "AuditEvent",
        )
        for key in (1, 2)
    ),
]
HOSTILE_INTEGERS = [0, -1, 1, 100, 101, 2147483647, -2147483648, 5, 60]
ISSUER = unique("fuzzer")
KEY = rsa_key(0)


def consumer_denied_operations() -> set[str]:
    """`Query.x` / `Mutation.y` for every root field whose permission rule refuses a consumer."""
    denied = set()
    for root in (chrgraph_schema._schema.query_type, chrgraph_schema._schema.mutation_type):
        for name, field in root.fields.items():
            rule = field.extensions["strawberry-definition"].permission_classes[0]
            if not rule.consumer:
                denied.add(f"{root.name}.{name}")
    return denied


DENIED = consumer_denied_operations()
CONFIG = Config.from_dict(
    {
        "seed": SEED,
        "request-timeout": 30,
        "suppress-health-check": ["all"],
        "dictionaries": {
            "hostile-strings": {"values": HOSTILE_STRINGS},
            "hostile-integers": {"values": HOSTILE_INTEGERS},
        },
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
            "dictionaries": {
                "string": {"dictionary": "hostile-strings", "probability": 0.5},
                "integer": {"dictionary": "hostile-integers", "probability": 0.3},
            },
        },
        "checks": {"positive_data_acceptance": {"enabled": False}},
        "operations": [{"include-name": sorted(DENIED), "checks": {"not_a_server_error": {"enabled": False}}}],
    }
)
schema = schemathesis.graphql.from_path(ROOT / "schema.graphql", config=CONFIG)
# Over JSON an upload can only be a string: the server must refuse it, not crash.
schemathesis.graphql.scalar("Upload", st.sampled_from(["0", "", "data:image/png;base64,AAAA"]).map(nodes.String))

_fuzzed: list[str] = []


@schema.auth(refresh_interval=240)
class ConsumerToken:
    """The hook that mints the consumer's token the way a vendor does: RS512, five
    minutes (within the 15 the server allows), refreshed every four."""

    def get(self, case, context) -> str:
        return sign(claims(ISSUER, ttl=300), KEY)

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
async def fuzz_server(client):
    """An organization with the fuzzing consumer, and a real server over it."""
    organization = await make_organization()
    await create_api_consumer(support_cli_actor(organization.id), name=ISSUER, public_key=public_pem(KEY), kid="k1")
    # The fuzzer sends thousands of documents a minute: a budget it never reaches, so every
    # answer is about the input (budgets have their own tests).
    async with running_server(CHRGRAPH_CONSUMER_COST_PER_MINUTE="1000000000") as server:
        yield server.base_url + "/graphql", organization


def _errors(response) -> list[dict[str, Any]]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise AssertionError(f"not JSON: {response.content[:200]!r}") from exc
    return (body.get("errors") or []) if isinstance(body, dict) else []


def answers_without_leaks_or_masked_errors(ctx, response, case) -> None:
    """Never a 5xx, never a masked internal error, never driver text or SQL."""
    assert response.status_code < 500, f"{response.status_code}: {response.content[:500]!r}"
    codes = [(e.get("extensions") or {}).get("code") for e in _errors(response)]
    assert "INTERNAL_SERVER_ERROR" not in codes, response.content[:2000]
    assert None not in codes, f"an error without a code: {response.content[:2000]!r}"
    request = response.request.body or b""
    request_text = request.decode("utf-8", "replace") if isinstance(request, bytes) else str(request)
    found = leaks_in(response.content.decode("utf-8", "replace"), request_text)
    assert not found, f"the response shows {found}: {response.content[:2000]!r}"


def refuses_what_a_consumer_may_not_do(ctx, response, case) -> None:
    """A denied operation answers FORBIDDEN, or a client error when its arguments are
    bad; it never returns data."""
    if case.operation.label not in DENIED or response.status_code != 200:
        return
    body = orjson.loads(response.content)
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    assert codes and codes <= {"FORBIDDEN", "BAD_USER_INPUT"}, f"{case.operation.label}: {body}"
    field = case.operation.label.split(".", 1)[1]
    assert (body.get("data") or {}).get(field) is None, f"{case.operation.label} returned data: {body}"


@schema.parametrize()
def test_fuzzed_operation_answers_within_the_contract(case, fuzz_server):
    base_url, _ = fuzz_server
    _fuzzed.append(case.operation.label)
    case.call_and_validate(
        base_url=base_url,
        additional_checks=[answers_without_leaks_or_masked_errors, refuses_what_a_consumer_may_not_do],
    )


def test_the_configuration_covers_every_operation_the_server_has():
    committed = {operation.label for operation in (r.ok() for r in schema.get_all_operations())}
    served = {
        f"{root.name}.{name}"
        for root in (chrgraph_schema._schema.query_type, chrgraph_schema._schema.mutation_type)
        for name in root.fields
    }
    assert committed == served, "schema.graphql drifted from the server: run the SDL export"
    assert DENIED and DENIED <= served
    assert "Mutation.updateOrganization" in DENIED and "Query.users" not in DENIED


async def test_the_fuzzer_reached_the_server_with_every_kind_of_hostile_string(fuzz_server):
    """The run above is only worth something if the hostile strings were sent: the API
    log of the fuzzing consumer holds its requests."""
    if not _fuzzed:
        pytest.skip("runs after the fuzzed operations")
    _, organization = fuzz_server
    logged = await ApiLog.filter(organization_id=organization.id)
    rows = [(row.query, row.status, row.response_body) for row in logged]  # decrypted
    queries = [q or "" for q, _, _ in rows]
    assert len(rows) >= len(set(_fuzzed)), "every fuzzed operation was logged"
    for marker in ("' OR '1'='1", "\\u0000", "\u202e", "👩🏽‍⚕️", "line\\r\\nX-Injected", "<script>"):
        assert any(marker in q for q in queries), f"no request carried {marker!r}"
    assert any(len(q) >= len(ONE_MB) for q in queries) or any(s == 413 for _, s, _ in rows), "no 1 MB string"
    assert any("not valid JSON" in (body or "") for _, _, body in rows), "no lone surrogate reached the server"
    assert {s for _, s, _ in rows} <= {200, 400, 405, 413}
