"""Registering a consumer's public key: RSA only, modulus >= 2048 bits."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from joserfc.jwk import RSAKey

from chrgraph.db.models.consumer import IDENTIFIER_MAX_LENGTH
from chrgraph.resolvers.errors import ErrorCode, fail
from chrgraph.text_rules import identifier_problem

MIN_RSA_BITS = 2048
# JWK members that belong to a private key (RFC 7518: RSA's private exponent, primes,
# CRT values and other primes; `k` of a symmetric key): a key holding any is refused,
# even without `d` (the primes alone give the private key away).
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def fingerprint(der: bytes) -> str:
    """How a key is known: SHA-256 of its DER SubjectPublicKeyInfo, base64url."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    pem: str
    fingerprint: str
    bits: int
    jwk_kid: str | None


def parse_public_key(text: str, field: str = "publicKey") -> PublicKey:
    """Accept a PEM public key or a JWK (JSON); refuse anything else with a typed error."""
    text = text.strip()
    jwk_kid = None
    key: PublicKeyTypes
    try:
        if text.startswith("{"):
            data = json.loads(text)
            # A private member first, whatever the key type: the vendor must learn that
            # it sent a secret (and should replace that key), not that RSA is required.
            if isinstance(data, dict) and any(member in data for member in PRIVATE_JWK_MEMBERS):
                raise fail(ErrorCode.INVALID_KEY, "Send the public key, never the private key.", field)
            if not isinstance(data, dict) or data.get("kty") != "RSA":
                raise fail(ErrorCode.KEY_TOO_WEAK, "Only RSA keys are accepted.", field)
            jwk_kid = data.get("kid")
            if jwk_kid is not None and (problem := identifier_problem(jwk_kid, IDENTIFIER_MAX_LENGTH)):
                raise fail(ErrorCode.INVALID_KEY, f"The key's kid: {problem}", field)
            key = RSAKey.import_key(data).get_op_key("verify")
        else:
            if "PRIVATE KEY" in text:
                raise fail(ErrorCode.INVALID_KEY, "Send the public key, never the private key.", field)
            key = serialization.load_pem_public_key(text.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, KeyError, RecursionError) as exc:
        raise fail(ErrorCode.INVALID_KEY, "The public key is neither a PEM nor a JWK RSA public key.", field) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise fail(ErrorCode.KEY_TOO_WEAK, "Only RSA keys are accepted.", field)
    if key.key_size < MIN_RSA_BITS:
        raise fail(
            ErrorCode.KEY_TOO_WEAK,
            f"RSA keys need a modulus of at least {MIN_RSA_BITS} bits.",
            field,
        )
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(pem=pem, fingerprint=fingerprint(der), bits=key.key_size, jwk_kid=jwk_kid)
