"""Hostile transport input, generated: whatever a client puts in the multipart fields of
an upload, in a token's header and claims, in the request headers or in the request
object around the document, the real app answers with a typed 4xx (or a 200), never a
500 and never a masked internal error.

Hypothesis drives the app in this process (the same ASGI app uvicorn serves), with real
sessions and RS512 tokens signed by a registered key. Runs are derandomized: the same
examples every time, so a failure is reproducible; the strategies lean on the inputs that
broke the server before (paths past a list, lone surrogates, NUL, deep nesting)."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.accounts import Clinic, make_clinic
from tests.helpers import b64, claims
from tests.test_jwt_rules import rs512_signed

UPLOAD = """mutation($i: UploadPortalBackgroundImageInput!) { uploadPortalBackgroundImage(input: $i) {
  image { width } errors { code field } } }"""
TYPENAME_WITH_VARIABLES = "query Probe($a: String, $b: [Int]) { __typename }"
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every character, lone surrogates included (Hypothesis leaves those out by default).
ANY_CHAR = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    st.sampled_from(["\ud800", "a\x00b", "\x00", "line\r\n", "\t", "\x85", "\u202e", "", "9" * 30, "-1", "0"]),
)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), HOSTILE_TEXT)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)),
    max_leaves=8,
)


def json_bytes(value: Any) -> bytes:
    """JSON as a client would send it: a lone surrogate travels as its escape."""
    return json.dumps(value, ensure_ascii=True).encode()


def assert_typed_answer(response: httpx.Response) -> None:
    """Below 500, JSON, and every error carries a code that is not the masked one."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    body = response.json()
    errors = (
        body.get("errors") or [] if isinstance(body, dict) else [e for item in body for e in item.get("errors", [])]
    )
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    assert None not in codes and "INTERNAL_SERVER_ERROR" not in codes, response.text[:1000]


@pytest.fixture(scope="module")
async def fuzz_clinic(client) -> Clinic:
    return await make_clinic(client)


def callers(clinic: Clinic) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "owner": {"Authorization": f"Bearer {clinic.owner.token}"},
        "consumer": {"Authorization": f"Bearer {clinic.vendor.token()}"},
    }


# --- multipart uploads ------------------------------------------------------------------

PATH_STEPS = st.one_of(
    st.sampled_from(["variables", "i", "file", "list", "text", "0", "1", "7", "-1", "00", "", "\u0661"]),
    HOSTILE_TEXT,
)
KNOWN_STEPS = st.sampled_from(["i", "file", "list", "text", "missing", "0", "1", "2", "-1"])
PATHS = st.one_of(
    st.lists(KNOWN_STEPS, min_size=1, max_size=3).map(lambda steps: ".".join(["variables", *steps])),
    st.lists(KNOWN_STEPS, min_size=1, max_size=3).map(lambda steps: ".".join(["variables", *steps])),
    st.lists(PATH_STEPS, min_size=1, max_size=5).map(".".join),
    st.lists(PATH_STEPS, min_size=0, max_size=3).map(lambda steps: ".".join(["variables", *steps])),
    JSON_VALUES,
)
MAPS = st.one_of(
    st.dictionaries(
        st.sampled_from(["0", "1", "operations", "map", "x"]), st.one_of(st.lists(PATHS, max_size=3), PATHS)
    ),
    JSON_VALUES,
)
VARIABLES = st.one_of(
    st.just({"i": {"file": None}, "list": [None, None], "text": "a string"}),
    st.dictionaries(st.sampled_from(["i", "list", "text", "file"]), JSON_VALUES, max_size=3),
    JSON_VALUES,
)
OPERATIONS = st.one_of(
    st.builds(lambda variables: {"query": UPLOAD, "variables": variables}, VARIABLES),
    st.builds(lambda variables: {"query": UPLOAD, "variables": variables}, VARIABLES),
    st.builds(
        lambda query, name, variables: {"query": query, "operationName": name, "variables": variables},
        st.one_of(st.just(UPLOAD), HOSTILE_TEXT),
        JSON_VALUES,
        VARIABLES,
    ),
    JSON_VALUES,
)
FIELD_BYTES = st.one_of(st.binary(max_size=40), HOSTILE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))


def mostly(draw, usual, other, in_ten: int = 8):
    """Draw from `usual` `in_ten` times in ten, else from `other`: well-formed envelopes
    carry the faults deeper (into the map's paths) than noise would."""
    return draw(usual) if draw(st.integers(0, 9)) < in_ten else draw(other)


@st.composite
def multipart_parts(draw) -> list[tuple[bytes, bytes | None, bytes]]:
    """(field name, filename or None for a plain field, content) in the order sent."""
    operations = mostly(draw, OPERATIONS.map(json_bytes), FIELD_BYTES)
    mapping = mostly(
        draw, st.lists(PATHS, min_size=1, max_size=3).map(lambda p: json_bytes({"0": p})), MAPS.map(json_bytes)
    )
    as_file = mostly(draw, st.none(), st.sampled_from(["operations", "map"]), in_ten=9)
    parts = [
        (b"operations", b"o.json" if as_file == "operations" else None, operations),
        (b"map", b"m.json" if as_file == "map" else None, mapping),
    ]
    if mostly(draw, st.just(True), st.just(False)):
        parts.append((b"0", b"background.png", draw(st.binary(max_size=64))))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.one_of(st.sampled_from([b"0", b"1", b"operations", b"map"]), FIELD_BYTES))
        filename = draw(st.one_of(st.none(), st.just(b"a.png"), FIELD_BYTES))
        parts.append((name, filename, draw(st.binary(max_size=64))))
    if draw(st.integers(0, 9)) == 0:
        parts.reverse()  # the file before `operations`: out of the multipart request spec's order
    return parts


def multipart_body(parts: list[tuple[bytes, bytes | None, bytes]], boundary: bytes) -> bytes:
    """Raw bytes, so names and values may be anything a client can send (invalid UTF-8 too)."""
    chunks = []
    for name, filename, content in parts:
        disposition = b'form-data; name="' + name.replace(b'"', b"%22") + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename.replace(b'"', b"%22") + b'"'
        chunks.append(
            b"--" + boundary + b"\r\nContent-Disposition: " + disposition.replace(b"\r", b"").replace(b"\n", b"")
        )
        if filename is not None:
            chunks.append(b"\r\nContent-Type: application/octet-stream")
        chunks.append(b"\r\n\r\n" + content + b"\r\n")
    chunks.append(b"--" + boundary + b"--\r\n")
    return b"".join(chunks)


@FUZZ
@given(parts=multipart_parts(), caller=st.sampled_from(["anonymous", "owner", "consumer"]))
async def test_no_multipart_upload_gets_a_server_error(fuzz_clinic, parts, caller):
    boundary = b"fuzz" + secrets.token_hex(8).encode()
    response = await fuzz_clinic.client.post(
        "/graphql",
        content=multipart_body(parts, boundary),
        headers={**callers(fuzz_clinic)[caller], "Content-Type": "multipart/form-data; boundary=" + boundary.decode()},
    )
    assert_typed_answer(response)


# --- tokens ------------------------------------------------------------------------------

IDENTIFIERS = st.one_of(st.text(ANY_CHAR, max_size=300), JSON_VALUES)


@st.composite
def token_parts(draw, issuer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header: dict[str, Any] = {"alg": draw(st.sampled_from(["RS512", "RS512", "none", "HS512"]))}
    if draw(st.booleans()):
        header["kid"] = draw(st.one_of(st.just("k1"), IDENTIFIERS))
    if draw(st.booleans()):
        header["typ"] = draw(st.one_of(st.just("JWT"), IDENTIFIERS))
    payload: dict[str, Any] = claims(issuer)
    if draw(st.booleans()):
        payload["iss"] = draw(IDENTIFIERS)
    for name in ("exp", "nbf", "iat", "sub", "aud"):
        if draw(st.integers(0, 4)) == 0:
            payload[name] = draw(JSON_VALUES)
    return header, payload


@FUZZ
@given(data=st.data(), signed=st.booleans())
async def test_no_token_gets_a_server_error(fuzz_clinic, data, signed):
    header, payload = data.draw(token_parts(fuzz_clinic.vendor.consumer.issuer))
    header_bytes, payload_bytes = json_bytes(header), json_bytes(payload)
    depth = data.draw(st.sampled_from([0, 0, 0, 0, 2500]))
    if depth:  # a member nested deeper than any JSON parser recurses (inside the 8 KiB)
        nested = b', "nested": ' + b"[" * depth + b"]" * depth + b"}"
        if data.draw(st.booleans()):
            header_bytes = header_bytes[:-1] + nested
        else:
            payload_bytes = payload_bytes[:-1] + nested
    if signed:
        token = rs512_signed(header_bytes, payload_bytes, fuzz_clinic.vendor.key)
    else:
        token = f"{b64(header_bytes)}.{b64(payload_bytes)}.{b64(b'not a signature')}"
    response = await fuzz_clinic.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_typed_answer(response)
    assert response.status_code in (200, 401), response.text
    if _certainly_malformed(header, payload):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["reason"] == "MALFORMED_TOKEN"


def _certainly_malformed(header: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether `kid` or `iss` is not a clean string: not a string, over 256 characters,
    a control character or a lone surrogate."""
    for part, name in ((header, "kid"), (payload, "iss")):
        if name not in part:
            continue
        value = part[name]
        if not isinstance(value, str) or len(value) > 256:
            return True
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
            return True
    return False


@FUZZ
@given(segments=st.lists(st.binary(max_size=64), min_size=3, max_size=3))
async def test_no_token_of_arbitrary_bytes_gets_a_server_error(fuzz_clinic, segments):
    token = ".".join(b64(segment) for segment in segments)
    response = await fuzz_clinic.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_typed_answer(response)
    assert response.status_code == 401


# --- request headers ---------------------------------------------------------------------

HEADER_VALUES = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"\xb2", b"\xff\xfe", b"abcdefgh\x85", b"1" * 40, b"-1", b"chs_" + b"A" * 43 + b"\xa0"]),
)


@FUZZ
@given(
    request_id=HEADER_VALUES,
    forwarded_for=HEADER_VALUES,
    content_type=st.one_of(st.just(b"application/json"), HEADER_VALUES),
    content_length=st.one_of(st.none(), st.sampled_from([b"\xb2", b"\xd9\xa1", b"-1", b"1e3", b" 7"]), HEADER_VALUES),
    accept=HEADER_VALUES,
    authorization=st.one_of(st.none(), HEADER_VALUES.map(lambda v: b"Bearer " + v), HEADER_VALUES),
    caller=st.sampled_from(["anonymous", "owner", "consumer"]),
)
async def test_no_request_header_gets_a_server_error(
    fuzz_clinic, request_id, forwarded_for, content_type, content_length, accept, authorization, caller
):
    headers: list[tuple[bytes, bytes]] = [
        (b"x-request-id", request_id),
        (b"x-forwarded-for", forwarded_for),
        (b"content-type", content_type),
        (b"accept", accept),
    ]
    if content_length is not None:
        headers.append((b"content-length", content_length))
    if authorization is not None:
        headers.append((b"authorization", authorization))
    else:
        headers.extend((k.lower().encode(), v.encode()) for k, v in callers(fuzz_clinic)[caller].items())
    response = await fuzz_clinic.client.post(
        "/graphql", content=json_bytes({"query": "{ __typename }"}), headers=headers
    )
    if response.headers.get("content-type", "").startswith("application/json"):
        assert_typed_answer(response)
    assert response.status_code < 500, response.text[:500]
    echoed = response.headers["x-request-id"]
    assert echoed.isascii() and echoed.replace("-", "").replace("_", "").isalnum() and 8 <= len(echoed) <= 64


# --- the request object around the document ----------------------------------------------


@FUZZ
@given(
    operation_name=JSON_VALUES,
    variables=st.one_of(st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=4), JSON_VALUES),
    extra=st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=2),
    caller=st.sampled_from(["anonymous", "owner", "consumer"]),
    method=st.sampled_from(["POST", "GET"]),
)
async def test_no_operation_name_or_variables_get_a_server_error(
    fuzz_clinic, operation_name, variables, extra, caller, method
):
    request = {**extra, "query": TYPENAME_WITH_VARIABLES, "operationName": operation_name, "variables": variables}
    headers = callers(fuzz_clinic)[caller]
    if method == "GET":
        params = {
            "query": TYPENAME_WITH_VARIABLES,
            "operationName": operation_name if isinstance(operation_name, str) else json.dumps(operation_name),
            "variables": json.dumps(variables),
        }
        # Percent-encoded by hand: a lone surrogate goes as the bytes a client would send.
        query = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items())
        response = await fuzz_clinic.client.get("/graphql?" + query, headers=headers)
    else:
        response = await fuzz_clinic.client.post(
            "/graphql", content=json_bytes(request), headers={**headers, "Content-Type": "application/json"}
        )
    assert_typed_answer(response)
