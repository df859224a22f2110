"""Credentials the way clients get them: a vendor signs a short-lived RS512 JWT with its
own private key (minted afresh for each load run: tokens live at most 15 minutes), and
the admin client logs in with the `login` mutation for a session token."""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from bench.seed import ISSUER, KID, OWNER_EMAIL, PASSWORD

LOGIN = """mutation Login($input: LoginInput!) { login(input: $input) { token errors { code message } } }"""


class Vendor:
    def __init__(self, private_key_pem: str) -> None:
        self.key = RSAKey.import_key(private_key_pem)  # ~30 ms: once

    def token(self, ttl: int = 600) -> str:
        now = int(time.time())
        return jwt.encode(
            {"alg": "RS512", "kid": KID},
            {"iss": ISSUER, "iat": now, "exp": now + ttl},
            self.key,
            algorithms=["RS512"],
        )


async def login(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": OWNER_EMAIL, "password": PASSWORD}}},
    )
    response.raise_for_status()
    result = response.json()["data"]["login"]
    if result["errors"]:
        raise RuntimeError(f"login failed: {result['errors']}")
    return result["token"]
