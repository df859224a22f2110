"""Which API-consumer JWTs are accepted, and why every other one is refused.

Every token here is a real one: signed with RSA keys the tests generate (key 0 is the
vendor's registered key, the others are "wrong" or rotated keys), or forged by hand
byte for byte where a well-behaved library would refuse to produce it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

import chrgraph.auth.consumers
from chrgraph.auth.principals import support_cli_actor
from chrgraph.resolvers.consumers.manage import (
    add_api_consumer_key,
    create_api_consumer,
    revoke_api_consumer_key,
    set_api_consumer_active,
)
from chrgraph.resolvers.organizations.update_organization import update_organization
from tests.helpers import (
    Vendor,
    b64,
    claims,
    make_organization,
    make_vendor,
    public_pem,
    raw_token,
    rsa_key,
    sign,
    unique,
)

VIEWER = "{ viewer { kind consumer { issuer } } }"

INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'
WRONG_KEY = 1
ROTATED_KEY = 2


# --- building tokens -------------------------------------------------------------


def issuer(vendor: Vendor) -> str:
    return vendor.consumer.issuer


def now() -> int:
    """Whole seconds, rounded down: never later than the server's clock."""
    return int(time.time())


def rs512_signed(header: dict[str, Any] | bytes, payload: bytes, key: RSAKey) -> str:
    """A correctly RS512-signed token over exactly these bytes, whatever they hold."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{b64(header_bytes)}.{b64(payload)}"
    signature = key.get_op_key("sign").sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA512())
    return f"{signing_input}.{b64(signature)}"


def hs512_keyed_with_public_pem(vendor: Vendor) -> str:
    """The classic algorithm-confusion forgery: HMAC with the public key as the secret."""
    header = {"alg": "HS512", "kid": "k1"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims(issuer(vendor))).encode())}"
    mac = hmac.new(public_pem(vendor.key).encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64(mac)}"


def vendor_token(vendor: Vendor, key: RSAKey | None = None, *, kid: str | None = "k1", **overrides: Any) -> str:
    """A token of the vendor's issuer; `overrides` replace claims (None removes one)."""
    payload = {**claims(issuer(vendor)), **overrides}
    payload = {name: value for name, value in payload.items() if value is not None}
    return sign(payload, key or vendor.key, kid=kid)


def org_actor(vendor: Vendor):
    return support_cli_actor(vendor.organization.id)


# --- calling and checking ----------------------------------------------------------


async def call(client: httpx.AsyncClient, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.post("/graphql", json={"query": VIEWER}, headers=headers)


async def call_with(vendor: Vendor, token: str) -> httpx.Response:
    return await call(vendor.client, f"Bearer {token}")


def assert_accepted(response: httpx.Response, vendor: Vendor) -> None:
    assert response.status_code == 200, response.text
    viewer = {"kind": "CONSUMER", "consumer": {"issuer": issuer(vendor)}}
    body = response.json()
    assert body["data"] == {"viewer": viewer} and "errors" not in body, body


def key_material(key: RSAKey) -> list[str]:
    """Strings that would betray a key: its PEM bodies and JWK members."""
    pems = [key.as_pem(private=False).decode(), key.as_pem(private=True).decode()]
    lines = [line for pem in pems for line in pem.splitlines() if line and not line.startswith("-----")]
    jwk = key.as_dict(private=True)
    return lines + [str(jwk[name]) for name in ("n", "d", "p", "q")]


def assert_refused(
    response: httpx.Response, reason: str, token: str | None = None, keys: tuple[RSAKey, ...] = ()
) -> None:
    """401, the RFC 6750 challenge, the UNAUTHENTICATED body with its reason, and nothing secret echoed."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert set(error) == {"message", "extensions"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}, error
    if token:
        assert token not in response.text
        for segment in token.split("."):
            if len(segment) >= 8:
                assert segment not in response.text
    for key in (rsa_key(0), *keys):
        for secret in key_material(key):
            assert secret not in response.text


async def assert_token_refused(vendor: Vendor, token: str, reason: str, keys: tuple[RSAKey, ...] = ()) -> None:
    assert_refused(await call_with(vendor, token), reason, token, keys)


# --- the accepted token ----------------------------------------------------------


async def test_token_signed_with_rs512_and_the_registered_key_is_accepted(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)


async def test_token_without_kid_is_verified_with_the_consumers_keys(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor, kid=None)), vendor)


async def test_bearer_scheme_is_case_insensitive(vendor):
    assert_accepted(await call(vendor.client, f"bearer {vendor_token(vendor)}"), vendor)


# --- alg is exactly RS512 ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsecured_token_with_alg_none_is_refused(vendor, alg):
    # RFC 7519, section 6.1: an unsecured JWT has an empty signature part.
    token = raw_token({"alg": alg, "kid": "k1"}, claims(issuer(vendor)))
    assert token.endswith(".")
    await assert_token_refused(vendor, token, "ALGORITHM_NOT_ALLOWED")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_token_carrying_a_real_rs512_signature_is_refused(vendor, alg):
    genuine = vendor_token(vendor)
    token = raw_token({"alg": alg, "kid": "k1"}, claims(issuer(vendor))).rstrip(".")
    token += "." + genuine.rsplit(".", 1)[1]
    await assert_token_refused(vendor, token, "ALGORITHM_NOT_ALLOWED")


async def test_token_signed_with_hs512_and_the_public_pem_is_refused(vendor):
    await assert_token_refused(vendor, hs512_keyed_with_public_pem(vendor), "ALGORITHM_NOT_ALLOWED")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "PS512", "PS256"])
async def test_token_signed_with_another_rsa_algorithm_is_refused(vendor, alg):
    token = sign(claims(issuer(vendor)), vendor.key, alg=alg)
    await assert_token_refused(vendor, token, "ALGORITHM_NOT_ALLOWED")


async def test_token_signed_with_es512_is_refused(vendor):
    token = jwt.encode(
        {"alg": "ES512", "kid": "k1"},
        claims(issuer(vendor)),
        ECKey.generate_key("P-521"),
        algorithms=["ES512"],
    )
    await assert_token_refused(vendor, token, "ALGORITHM_NOT_ALLOWED")


# --- the signature verifies with a key of the issuer ------------------------------


@pytest.mark.parametrize("kid", ["k1", None])
async def test_token_signed_with_a_key_the_consumer_does_not_hold_is_refused(vendor, kid):
    token = vendor_token(vendor, rsa_key(WRONG_KEY), kid=kid)
    await assert_token_refused(vendor, token, "BAD_SIGNATURE", keys=(rsa_key(WRONG_KEY),))


async def test_token_whose_claims_were_changed_after_signing_is_refused(vendor):
    header, _, signature = vendor_token(vendor).split(".")
    stretched = b64(json.dumps(claims(issuer(vendor), ttl=600)).encode())
    await assert_token_refused(vendor, f"{header}.{stretched}.{signature}", "BAD_SIGNATURE")


@pytest.mark.parametrize("cut", ["stripped", "truncated", "one-char"])
async def test_rs512_token_whose_signature_was_cut_is_refused(vendor, cut):
    header, payload, signature = vendor_token(vendor).split(".")
    signature = {"stripped": "", "truncated": signature[:-10], "one-char": "A"}[cut]
    await assert_token_refused(vendor, f"{header}.{payload}.{signature}", "BAD_SIGNATURE")


# --- iss names an active consumer of an organization with the API on -------------


async def test_token_without_iss_is_refused(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, iss=None), "UNKNOWN_OR_INACTIVE_ISSUER")


@pytest.mark.parametrize(
    "iss", ["nobody-we-know", "", "i" * 256], ids=["unknown", "empty", "longer-than-any-stored-issuer"]
)
async def test_token_from_an_unknown_issuer_is_refused(vendor, iss):
    await assert_token_refused(vendor, vendor_token(vendor, iss=iss), "UNKNOWN_OR_INACTIVE_ISSUER")


async def test_token_of_a_deactivated_consumer_is_refused(vendor):
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    await assert_token_refused(vendor, vendor_token(vendor), "UNKNOWN_OR_INACTIVE_ISSUER")


async def test_token_of_a_reactivated_consumer_is_accepted_again(vendor):
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), True)
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)


async def test_token_of_an_organization_with_the_enterprise_api_off_is_refused(vendor):
    await update_organization(org_actor(vendor), enterprise_api_enabled=False)
    await assert_token_refused(vendor, vendor_token(vendor), "UNKNOWN_OR_INACTIVE_ISSUER")


async def test_token_of_an_organization_created_with_the_enterprise_api_off_is_refused(client):
    vendor = await make_vendor(client, enterprise_api_enabled=False)
    await assert_token_refused(vendor, vendor_token(vendor), "UNKNOWN_OR_INACTIVE_ISSUER")


# --- exp, nbf and iat ------------------------------------------------------------


async def test_token_without_exp_is_malformed(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, exp=None), "MALFORMED_TOKEN")


@pytest.mark.parametrize("exp", ["9999999999", True, False, [1], {"at": 1}], ids=repr)
async def test_token_with_a_non_numeric_exp_is_malformed(vendor, exp):
    await assert_token_refused(vendor, vendor_token(vendor, exp=exp), "MALFORMED_TOKEN")


async def test_token_with_a_null_exp_is_malformed(vendor):
    payload = {**claims(issuer(vendor)), "exp": None}
    await assert_token_refused(vendor, sign(payload, vendor.key), "MALFORMED_TOKEN")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize("value", ["1700000000", True, None, [1]], ids=repr)
async def test_token_with_a_non_numeric_nbf_or_iat_is_malformed(vendor, claim, value):
    payload = {**claims(issuer(vendor)), claim: value}
    await assert_token_refused(vendor, sign(payload, vendor.key), "MALFORMED_TOKEN")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_signed_token_with_a_time_claim_that_is_not_a_json_number_is_malformed(vendor, claim, literal):
    # Python's json reads these; JSON has no such values. A NaN exp would never expire.
    text = json.dumps({**claims(issuer(vendor)), claim: "@"}).replace('"@"', literal)
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, text.encode(), vendor.key), "MALFORMED_TOKEN"
    )


async def test_token_with_an_astronomically_distant_exp_is_too_long_lived(vendor):
    text = json.dumps({**claims(issuer(vendor)), "exp": "@"}).replace('"@"', "1e400")
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, text.encode(), vendor.key), "LIFETIME_TOO_LONG"
    )


async def test_token_that_expired_is_refused(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, iat=now() - 120, exp=now() - 60), "TOKEN_EXPIRED")


async def test_token_expiring_this_very_second_is_refused(vendor):
    # exp == now counts as expired; the server's clock can only be at or past this second.
    await assert_token_refused(vendor, vendor_token(vendor, iat=now() - 60, exp=now()), "TOKEN_EXPIRED")


async def test_token_valid_for_more_than_fifteen_minutes_is_refused_not_trimmed(vendor):
    # 100 s of margin: the server's clock would have to run 100 s behind ours to accept.
    await assert_token_refused(vendor, vendor_token(vendor, exp=now() + 1000), "LIFETIME_TOO_LONG")


async def test_token_valid_for_a_day_is_refused(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, exp=now() + 86400), "LIFETIME_TOO_LONG")


async def test_token_valid_for_exactly_fifteen_minutes_is_accepted(vendor):
    # now() is rounded down, so exp is at most 900 s after the server's clock.
    assert_accepted(await call_with(vendor, vendor_token(vendor, exp=now() + 900)), vendor)


async def test_token_with_a_fractional_exp_is_accepted(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor, exp=time.time() + 300.5)), vendor)


async def test_token_not_valid_before_a_future_instant_is_refused(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, nbf=now() + 60), "NOT_YET_VALID")


async def test_token_issued_in_the_future_is_refused(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, iat=now() + 60), "NOT_YET_VALID")


async def test_token_with_nbf_and_iat_of_this_second_is_accepted(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor, nbf=now(), iat=now())), vendor)


async def test_token_without_nbf_and_iat_is_accepted(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor, iat=None)), vendor)


# --- kid, rotation and revocation ----------------------------------------------------


async def rotate(vendor: Vendor) -> RSAKey:
    """Register a second key, `k2`, as a vendor rotating its keys would."""
    rotated = rsa_key(ROTATED_KEY)
    await add_api_consumer_key(org_actor(vendor), issuer(vendor), public_pem(rotated), "k2")
    return rotated


async def test_token_naming_a_rotated_key_by_kid_is_accepted_and_the_old_key_still_works(vendor):
    rotated = await rotate(vendor)
    assert_accepted(await call_with(vendor, vendor_token(vendor, rotated, kid="k2")), vendor)
    assert_accepted(await call_with(vendor, vendor_token(vendor, kid="k1")), vendor)
    assert_accepted(await call_with(vendor, vendor_token(vendor, rotated, kid=None)), vendor)


async def test_kid_selects_the_key_that_must_verify(vendor):
    rotated = await rotate(vendor)
    await assert_token_refused(vendor, vendor_token(vendor, kid="k2"), "BAD_SIGNATURE", keys=(rotated,))
    await assert_token_refused(vendor, vendor_token(vendor, rotated, kid="k1"), "BAD_SIGNATURE", keys=(rotated,))


async def test_token_with_an_unknown_kid_is_refused_even_when_its_signature_would_verify(vendor):
    await assert_token_refused(vendor, vendor_token(vendor, kid="k9"), "BAD_SIGNATURE")


async def test_token_signed_with_a_revoked_key_is_refused(vendor):
    rotated = await rotate(vendor)
    await revoke_api_consumer_key(org_actor(vendor), issuer(vendor), "k1")
    await assert_token_refused(vendor, vendor_token(vendor, kid="k1"), "BAD_SIGNATURE", keys=(rotated,))
    await assert_token_refused(vendor, vendor_token(vendor, kid=None), "BAD_SIGNATURE", keys=(rotated,))
    assert_accepted(await call_with(vendor, vendor_token(vendor, rotated, kid="k2")), vendor)


# --- malformed credentials ---------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Basic", "Token", "JWT", "Bearer:"])
async def test_credentials_in_another_scheme_are_malformed(vendor, scheme):
    token = vendor_token(vendor)
    assert_refused(await call(vendor.client, f"{scheme} {token}"), "MALFORMED_TOKEN", token)


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "bogus"])
async def test_authorization_without_a_bearer_value_is_malformed(client, authorization):
    assert_refused(await call(client, authorization), "MALFORMED_TOKEN")


async def test_bearer_value_with_a_space_inside_is_malformed(vendor):
    header, payload, signature = vendor_token(vendor).split(".")
    token = f"{header}.{payload} .{signature}"
    assert_refused(await call(vendor.client, f"Bearer {token}"), "MALFORMED_TOKEN", token)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "not-a-token-at-all",
        "a.b",
        "aaaa.bbbb.cccc.dddd",
        "!!!!.@@@@.####",
        "..",
        "chs_short",
        "eyJhbGciOiJSUzUxMiJ9",
    ],
)
async def test_garbage_token_is_malformed(client, token):
    assert_refused(await call(client, f"Bearer {token}"), "MALFORMED_TOKEN", token)


async def test_token_of_two_segments_is_malformed(vendor):
    header, payload, _ = vendor_token(vendor).split(".")
    await assert_token_refused(vendor, f"{header}.{payload}", "MALFORMED_TOKEN")


@pytest.mark.parametrize("segment", [0, 1])
async def test_token_with_a_segment_that_is_not_base64url_is_malformed(vendor, segment):
    parts = vendor_token(vendor).split(".")
    while len(parts[segment]) % 4 != 1:  # no base64 text has such a length
        parts[segment] += "A"
    await assert_token_refused(vendor, ".".join(parts), "MALFORMED_TOKEN")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2, 3]", b'"a string"', b"42", b"null", b""],
    ids=["text", "array", "string", "number", "null", "empty"],
)
async def test_signed_token_whose_payload_is_not_a_json_object_is_malformed(vendor, payload):
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, payload, vendor.key), "MALFORMED_TOKEN"
    )


async def test_signed_token_whose_payload_is_a_json_array_of_claims_is_malformed(vendor):
    payload = json.dumps([claims(issuer(vendor))]).encode()
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, payload, vendor.key), "MALFORMED_TOKEN"
    )


async def test_signed_token_whose_header_is_not_a_json_object_is_malformed(vendor):
    payload = json.dumps(claims(issuer(vendor))).encode()
    await assert_token_refused(vendor, rs512_signed(b'["RS512"]', payload, vendor.key), "MALFORMED_TOKEN")


@pytest.mark.parametrize("claim", ["exp", "iss"])
async def test_signed_token_with_a_duplicated_claim_is_malformed(vendor, claim):
    # joserfc would let the last value win; we refuse to guess which one was meant.
    good = claims(issuer(vendor))
    second = {"exp": now() + 86400, "iss": "someone-else"}[claim]
    text = json.dumps(good)[:-1] + f", {json.dumps(claim)}: {json.dumps(second)}}}"
    assert json.loads(text)[claim] == second
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, text.encode(), vendor.key), "MALFORMED_TOKEN"
    )


async def test_signed_token_with_a_duplicated_header_member_is_malformed(vendor):
    header = b'{"alg": "none", "kid": "k1", "alg": "RS512"}'
    payload = json.dumps(claims(issuer(vendor))).encode()
    await assert_token_refused(vendor, rs512_signed(header, payload, vendor.key), "MALFORMED_TOKEN")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
async def test_signed_token_whose_payload_is_not_utf8_is_malformed(vendor, encoding):
    payload = json.dumps(claims(issuer(vendor))).encode(encoding)
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, payload, vendor.key), "MALFORMED_TOKEN"
    )


async def test_signed_token_with_a_latin1_payload_is_malformed(vendor):
    payload = json.dumps({**claims(issuer(vendor)), "sub": "Hélène"}, ensure_ascii=False).encode("latin-1")
    await assert_token_refused(
        vendor, rs512_signed({"alg": "RS512", "kid": "k1"}, payload, vendor.key), "MALFORMED_TOKEN"
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.invalid/jwks.json"},
        {"x5u": "https://attacker.invalid/cert.pem"},
        {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
        {"crit": ["exp"]},
        {"zip": "DEF"},
    ],
    ids=["jku", "x5u", "jwk", "crit", "zip"],
)
async def test_signed_token_with_an_unknown_header_parameter_is_malformed(vendor, extra):
    header = {"alg": "RS512", "kid": "k1", **extra}
    payload = json.dumps(claims(issuer(vendor))).encode()
    await assert_token_refused(vendor, rs512_signed(header, payload, vendor.key), "MALFORMED_TOKEN")


async def test_signed_token_with_a_typ_header_is_accepted(vendor):
    token = sign(claims(issuer(vendor)), vendor.key, header={"typ": "JWT"})
    assert_accepted(await call_with(vendor, token), vendor)


# --- iss and kid are clean strings, checked before any database is asked ---------------

UNCLEAN_IDENTIFIERS = [
    pytest.param("\ud800", id="lone-high-surrogate"),
    pytest.param("vendor-\udfff", id="lone-low-surrogate"),
    pytest.param("ven\x00dor", id="nul"),
    pytest.param("\x00", id="only-nul"),
    pytest.param("vendor\n", id="trailing-newline"),
    pytest.param("ven\tdor", id="tab"),
    pytest.param("ven\rdor", id="carriage-return"),
    pytest.param("\x1b[31mvendor", id="escape"),
    pytest.param("vendor\x7f", id="delete"),
    pytest.param("vendor\x85", id="c1-next-line"),
    pytest.param("i" * 257, id="over-256-characters"),
    pytest.param(42, id="number"),
    pytest.param(["vendor"], id="list"),
    pytest.param({"name": "vendor"}, id="object"),
    pytest.param(None, id="null"),
    pytest.param(True, id="boolean"),
]


def signed_with(vendor: Vendor, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A genuine RS512 signature over exactly this JSON (ensure_ascii: a lone surrogate
    travels as its `\\ud800` escape, as a hostile client would send it)."""
    return rs512_signed(header, json.dumps(payload).encode(), vendor.key)


async def statements_while(action) -> list[str]:
    """The SQL statements sent while `action` runs (not the auth-epoch poll, on a clock)."""
    from chrgraph.db import hooks

    counter = hooks.count_statements()
    try:
        await action()
    finally:
        hooks.stop_counting(counter)
    return [s for s in counter.statements if "auth_epoch" not in s]


@pytest.mark.parametrize("iss", UNCLEAN_IDENTIFIERS)
async def test_token_whose_iss_is_not_a_clean_string_is_malformed_before_any_query(vendor, iss):
    token = signed_with(vendor, {"alg": "RS512", "kid": "k1"}, {**claims(issuer(vendor)), "iss": iss})
    statements = await statements_while(lambda: assert_token_refused(vendor, token, "MALFORMED_TOKEN"))
    assert statements == []


@pytest.mark.parametrize("kid", UNCLEAN_IDENTIFIERS)
async def test_token_whose_kid_is_not_a_clean_string_is_malformed_before_any_query(vendor, kid):
    token = signed_with(vendor, {"alg": "RS512", "kid": kid}, claims(issuer(vendor)))
    statements = await statements_while(lambda: assert_token_refused(vendor, token, "MALFORMED_TOKEN"))
    assert statements == []


@pytest.mark.parametrize("iss", ["\ud800", "a\x00b"], ids=["lone-surrogate", "nul"])
async def test_an_unclean_iss_is_malformed_even_with_a_forbidden_algorithm(vendor, iss):
    """MALFORMED_TOKEN comes before ALGORITHM_NOT_ALLOWED."""
    token = raw_token({"alg": "none", "kid": "k1"}, {**claims(issuer(vendor)), "iss": iss})
    await assert_token_refused(vendor, token, "MALFORMED_TOKEN")


@pytest.mark.parametrize("iss", ["\ud800", "a\x00b", "x" * 300])
async def test_an_unclean_iss_is_malformed_without_a_signature_or_key(client, iss):
    """No consumer, no key, no signature: the token is refused for its shape alone."""
    token = raw_token({"alg": "RS512"}, {**claims("whoever"), "iss": iss}, b"not-a-signature")
    assert_refused(await call(client, f"Bearer {token}"), "MALFORMED_TOKEN", token)


async def test_an_issuer_of_exactly_256_characters_is_just_unknown(vendor):
    token = vendor_token(vendor, iss="i" * 256)
    statements = await statements_while(lambda: assert_token_refused(vendor, token, "UNKNOWN_OR_INACTIVE_ISSUER"))
    assert statements == []  # no stored issuer is that long: nothing to ask


@pytest.mark.parametrize(
    "iss", ["vendor-élodie", "vendör 🏥", "\u202eevil"], ids=["accents", "emoji-and-space", "bidi-control"]
)
async def test_an_issuer_with_other_unicode_is_a_clean_string_and_simply_unknown(vendor, iss):
    await assert_token_refused(vendor, vendor_token(vendor, iss=iss), "UNKNOWN_OR_INACTIVE_ISSUER")


@pytest.mark.parametrize("where", ["header", "payload"])
async def test_a_token_nested_thousands_deep_is_malformed(client, where):
    deep = "[" * 3000 + "]" * 3000
    header = '{"alg": "RS512", "kid": %s}' % (deep if where == "header" else '"k1"')
    payload = '{"iss": "x", "exp": 1, "nested": %s}' % (deep if where == "payload" else "0")
    token = f"{b64(header.encode())}.{b64(payload.encode())}.{b64(b'signature')}"
    assert_refused(await call(client, f"Bearer {token}"), "MALFORMED_TOKEN", token)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\x85", "\xa0"], ids=["lf", "crlf", "nel", "nbsp"])
def test_a_token_followed_by_a_line_break_is_not_taken_for_a_token(suffix):
    """A shape is the whole value: `$` in a pattern also matches before a final newline."""
    from chrgraph.auth.consumers import looks_like_jwt
    from chrgraph.auth.sessions import looks_like_session

    assert not looks_like_jwt("aaaa.bbbb.cccc" + suffix)
    assert not looks_like_session("chs_" + "A" * 43 + suffix)


def token_of_length(vendor: Vendor, length: int) -> str:
    """A genuine token padded with a claim to exactly `length` characters."""
    for header in ({}, {"typ": "J"}, {"typ": "JW"}):  # base64 skips some lengths: shift the header
        base = len(sign({**claims(issuer(vendor)), "pad": ""}, vendor.key, header=header))
        estimate = (length - base) * 3 // 4
        for pad in range(max(estimate - 4, 0), estimate + 5):
            token = sign({**claims(issuer(vendor)), "pad": "x" * pad}, vendor.key, header=header)
            if len(token) == length:
                return token
    raise AssertionError(f"no token of {length} characters")


async def test_token_of_8_kib_is_accepted(vendor):
    assert_accepted(await call_with(vendor, token_of_length(vendor, 8192)), vendor)


async def test_token_over_8_kib_is_malformed_even_when_its_signature_verifies(vendor):
    await assert_token_refused(vendor, token_of_length(vendor, 8193), "MALFORMED_TOKEN")


# --- no credentials at all -----------------------------------------------------------


async def test_request_without_credentials_gets_the_plain_bearer_challenge(client):
    response = await call(client, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    assert set(body["errors"][0]) == {"message", "extensions"}
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "MISSING_CREDENTIALS"}


async def test_session_shaped_token_is_never_tried_as_a_jwt(client):
    token = "chs_" + "A" * 43
    assert_refused(await call(client, f"Bearer {token}"), "INVALID_SESSION", token)


async def test_a_refusal_is_logged_with_its_reason_and_without_the_token(vendor, caplog):
    token = vendor_token(vendor, rsa_key(WRONG_KEY))
    with caplog.at_level(logging.INFO):
        await assert_token_refused(vendor, token, "BAD_SIGNATURE", keys=(rsa_key(WRONG_KEY),))
    messages = [record.getMessage() for record in caplog.records]
    assert any("BAD_SIGNATURE" in message for message in messages), messages
    for message in messages:
        for segment in token.split("."):
            assert segment not in message


# --- the first reason that applies wins --------------------------------------------

TokenFactory = Callable[[Vendor], str]


def alg_none(vendor: Vendor, **overrides: Any) -> str:
    payload = {**claims(issuer(vendor)), **overrides}
    return raw_token({"alg": "none", "kid": "k1"}, {k: v for k, v in payload.items() if v is not None})


ORDER: list[Any] = [
    pytest.param(lambda v: alg_none(v, exp=None), "MALFORMED_TOKEN", id="no-exp-and-alg-none"),
    pytest.param(
        lambda v: vendor_token(v, iss="unknown-issuer", exp="soon"),
        "MALFORMED_TOKEN",
        id="malformed-exp-and-unknown-iss",
    ),
    pytest.param(
        lambda v: sign(claims(issuer(v), exp="soon"), v.key, alg="RS256"),
        "MALFORMED_TOKEN",
        id="malformed-exp-and-rs256",
    ),
    pytest.param(
        lambda v: rs512_signed(
            {"alg": "none", "jku": "https://a.invalid"}, json.dumps(claims(issuer(v))).encode(), v.key
        ),
        "MALFORMED_TOKEN",
        id="unknown-header-and-alg-none",
    ),
    pytest.param(
        lambda v: alg_none(v, iat=now() - 120, exp=now() - 60),
        "ALGORITHM_NOT_ALLOWED",
        id="alg-none-and-expired",
    ),
    pytest.param(
        lambda v: sign(claims("unknown-issuer"), rsa_key(WRONG_KEY), alg="RS256"),
        "ALGORITHM_NOT_ALLOWED",
        id="rs256-and-unknown-iss-and-wrong-key",
    ),
    pytest.param(
        lambda v: vendor_token(v, rsa_key(WRONG_KEY), iss="unknown-issuer"),
        "UNKNOWN_OR_INACTIVE_ISSUER",
        id="unknown-iss-and-wrong-key",
    ),
    pytest.param(
        lambda v: vendor_token(v, iss=None, exp=now() - 60),
        "UNKNOWN_OR_INACTIVE_ISSUER",
        id="no-iss-and-expired",
    ),
    pytest.param(
        lambda v: vendor_token(v, rsa_key(WRONG_KEY), iat=now() - 120, exp=now() - 60),
        "BAD_SIGNATURE",
        id="wrong-key-and-expired",
    ),
    pytest.param(
        lambda v: vendor_token(v, kid="k9", exp=now() + 86400),
        "BAD_SIGNATURE",
        id="unknown-kid-and-lifetime-too-long",
    ),
    pytest.param(
        lambda v: vendor_token(v, iat=now() - 120, exp=now() - 60, nbf=now() + 60),
        "TOKEN_EXPIRED",
        id="expired-and-not-yet-valid",
    ),
    pytest.param(
        lambda v: vendor_token(v, exp=now() + 86400, nbf=now() + 60, iat=now() + 60),
        "LIFETIME_TOO_LONG",
        id="lifetime-too-long-and-not-yet-valid",
    ),
]


@pytest.mark.parametrize(("make_token", "reason"), ORDER)
async def test_the_first_applicable_reason_is_given(vendor, make_token: TokenFactory, reason):
    await assert_token_refused(vendor, make_token(vendor), reason, keys=(rsa_key(WRONG_KEY),))


async def test_a_deactivated_consumer_is_refused_as_inactive_before_its_signature_is_checked(vendor):
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    await assert_token_refused(
        vendor,
        vendor_token(vendor, rsa_key(WRONG_KEY)),
        "UNKNOWN_OR_INACTIVE_ISSUER",
        keys=(rsa_key(WRONG_KEY),),
    )


async def test_an_unknown_issuer_and_an_inactive_one_are_indistinguishable(vendor):
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    inactive = await call_with(vendor, vendor_token(vendor))
    unknown = await call_with(vendor, vendor_token(vendor, iss=unique("nobody")))
    assert inactive.status_code == unknown.status_code == 401
    assert inactive.json() == unknown.json()
    assert inactive.headers["www-authenticate"] == unknown.headers["www-authenticate"]


# --- caching, and revocation within this process ----------------------------------------


async def test_a_consumers_key_is_parsed_once_and_then_reused(vendor, monkeypatch):
    imports: list[object] = []
    real_import = RSAKey.import_key

    def counting_import(*args: Any, **kwargs: Any) -> RSAKey:
        imports.append(args[0] if args else kwargs)
        return real_import(*args, **kwargs)

    monkeypatch.setattr(chrgraph.auth.consumers.RSAKey, "import_key", counting_import)
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)
    assert len(imports) == 1
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)
    assert_accepted(await call_with(vendor, vendor_token(vendor, kid=None)), vendor)
    assert len(imports) == 1


async def test_deactivation_is_refused_on_the_very_next_request_of_this_process(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    await assert_token_refused(vendor, vendor_token(vendor), "UNKNOWN_OR_INACTIVE_ISSUER")


async def test_key_revocation_is_refused_on_the_very_next_request_of_this_process(vendor):
    rotated = await rotate(vendor)
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)
    await revoke_api_consumer_key(org_actor(vendor), issuer(vendor), "k1")
    await assert_token_refused(vendor, vendor_token(vendor), "BAD_SIGNATURE", keys=(rotated,))


async def test_switching_the_api_off_is_refused_on_the_very_next_request_of_this_process(vendor):
    assert_accepted(await call_with(vendor, vendor_token(vendor)), vendor)
    await update_organization(org_actor(vendor), enterprise_api_enabled=False)
    await assert_token_refused(vendor, vendor_token(vendor), "UNKNOWN_OR_INACTIVE_ISSUER")


async def test_a_consumer_created_after_its_issuer_was_refused_is_accepted_at_once(client):
    """A refused unknown issuer may be remembered, but not past the consumer's creation."""
    org = await make_organization()
    name = unique("late-vendor")
    token = sign(claims(name), rsa_key(0))
    assert_refused(await call(client, f"Bearer {token}"), "UNKNOWN_OR_INACTIVE_ISSUER", token)
    consumer = await create_api_consumer(
        support_cli_actor(org.id), name=name, public_key=public_pem(rsa_key(0)), kid="k1"
    )
    vendor = Vendor(org, consumer, rsa_key(0), client)
    assert_accepted(await call_with(vendor, token), vendor)


# --- a token sent again (verified-token cache, docs/performance.md) ---------------------


class _Clock:
    """`time` as chrgraph.auth.consumers sees it, moved forward by the test."""

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead

    def time(self) -> float:
        return time.time() + self.ahead


async def test_a_token_sent_again_is_not_verified_again(vendor, monkeypatch):
    decodes: list[str] = []
    real_decode = chrgraph.auth.consumers.jwt.decode

    def counting_decode(value, *args, **kwargs):
        decodes.append(value)
        return real_decode(value, *args, **kwargs)

    monkeypatch.setattr(chrgraph.auth.consumers.jwt, "decode", counting_decode)
    token = vendor_token(vendor, jti=unique("once"))
    for _ in range(3):
        assert_accepted(await call_with(vendor, token), vendor)
    assert decodes == [token]


async def test_a_token_sent_again_is_refused_once_it_expired(vendor, monkeypatch):
    token = vendor_token(vendor, iat=now(), exp=now() + 60)
    assert_accepted(await call_with(vendor, token), vendor)
    monkeypatch.setattr(chrgraph.auth.consumers, "time", _Clock(61))
    await assert_token_refused(vendor, token, "TOKEN_EXPIRED")


async def test_a_token_refused_as_not_yet_valid_is_accepted_when_its_time_comes(vendor, monkeypatch):
    token = vendor_token(vendor, nbf=now() + 30)
    await assert_token_refused(vendor, token, "NOT_YET_VALID")
    monkeypatch.setattr(chrgraph.auth.consumers, "time", _Clock(31))
    assert_accepted(await call_with(vendor, token), vendor)


async def test_the_same_token_is_refused_right_after_its_key_is_revoked(vendor):
    token = vendor_token(vendor)
    assert_accepted(await call_with(vendor, token), vendor)
    await revoke_api_consumer_key(org_actor(vendor), issuer(vendor), "k1")
    await assert_token_refused(vendor, token, "BAD_SIGNATURE")


async def test_the_same_token_is_refused_right_after_its_consumer_is_deactivated(vendor):
    token = vendor_token(vendor)
    assert_accepted(await call_with(vendor, token), vendor)
    await set_api_consumer_active(org_actor(vendor), issuer(vendor), False)
    await assert_token_refused(vendor, token, "UNKNOWN_OR_INACTIVE_ISSUER")
