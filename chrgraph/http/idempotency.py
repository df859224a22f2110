"""Safe retries: the `Idempotency-Key` header of a mutation.

The first request under a key claims it and runs; its mutation's own transaction marks
the key committed, with the global ids it wrote (chrgraph/db/idempotency.py), and its
answer is stored before it is sent. A repeat under the same key, from the same API
consumer or user, within 24 hours:

- with the same request (SHA-256 of the canonical JSON of query, operation name and
  variables) and a stored answer: that answer again, same status and body, with
  `Idempotent-Replayed: true`; nothing runs, nothing changes, no audit event;
- with another request: 422 `IDEMPOTENCY_KEY_REUSED`;
- while the first still runs (its claim is under 60 seconds old): 409
  `IDEMPOTENCY_KEY_IN_USE`;
- after the first committed but its answer was never stored (the process died between
  the two): 409 `IDEMPOTENCY_KEY_COMPLETED`, with the ids it wrote;
- after the first changed nothing (refused, invalid input): it runs afresh, as the
  first released its claim; so does a repeat after a claim lapsed without a commit.

A key on a query is ignored (reading twice acts on nothing); a key on a batch or on an
anonymous mutation is refused (400): there is nobody, or no single operation, to hold it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Scope

from chrgraph import clock
from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.db import idempotency
from chrgraph.db.idempotency import CLAIM_LAPSES, KEPT, Claim

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
# Visible ASCII only (no space, no control character), 1 to 255 of them.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# What a client asked to wait is told to wait before it asks again (the first request
# usually ends within a second).
IN_USE_RETRY_AFTER_SECONDS = 1

# Tests hold a request here, after it claimed its key and before it runs (to send a
# repeat while the first still runs). Empty in a server.
after_claim: list[Callable[[], Awaitable[None]]] = []


class KeyRefused(Exception):
    """What a key's request is answered instead of running: status, code, message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        extensions: dict[str, Any] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.extensions, self.headers = extensions or {}, headers


def _bad(message: str) -> KeyRefused:
    return KeyRefused(400, "BAD_REQUEST", message)


def key_of(scope: Scope) -> str | None:
    """The request's key (None without the header); a malformed key, or two headers, are
    400 whatever the operation."""
    values = [value for name, value in scope.get("headers", ()) if name == HEADER]
    if not values:
        return None
    if len(values) > 1:
        raise _bad("Send one Idempotency-Key header, not several.")
    text = values[0].decode("latin-1")
    if not _KEY.fullmatch(text):
        raise _bad("An Idempotency-Key is 1 to 255 visible ASCII characters (no spaces); a UUID is a good choice.")
    return text


def check_use(principal: Principal | None, batched: bool) -> None:
    """A key needs one mutation of a known caller: a batch, or an anonymous mutation
    (`login`, `acceptInvitation`), cannot carry one."""
    if batched:
        raise _bad("An Idempotency-Key goes with one mutation; a batch (queries only) cannot carry one.")
    if principal is None or owner_of(principal) is None:
        raise _bad("An Idempotency-Key belongs to an API consumer or a user: send it with your credentials.")


def owner_of(principal: Principal) -> str | None:
    """Whose key it is: the API consumer, or the user (every session of one user shares
    its keys)."""
    if principal.kind is PrincipalKind.CONSUMER and principal.consumer_id is not None:
        return f"consumer:{principal.consumer_id}"
    if principal.kind is not PrincipalKind.CONSUMER and principal.user_id is not None:
        return f"user:{principal.user_id}"
    return None


def request_digest(query: Any, operation_name: Any, variables: Any) -> str:
    """SHA-256 (hex) of the canonical JSON (keys sorted, no spaces) of the request as sent
    (an uploaded file counts by its name, type, size and SHA-256)."""
    canonical = orjson.dumps(
        {"operationName": operation_name, "query": query, "variables": variables}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first request."""

    status: int
    body: bytes


async def begin(principal: Principal, key: str, digest: str) -> Claim | Replay:
    """Claim the key for this request, or say what a repeat gets (`Replay`, or raise
    `KeyRefused`: 422 another request, 409 still running or answer lost)."""
    owner = owner_of(principal)
    assert owner is not None  # check_use refused the rest
    for _ in range(3):  # a row that vanishes or is taken over between two looks: look again
        found = await idempotency.claim(principal.organization_id, owner, key, digest)
        if isinstance(found, Claim):
            for hook in after_claim:
                await hook()
            return found
        if found is None:
            continue
        now = clock.now()
        if found.created_at <= now - KEPT:  # expired but not yet purged: a new key
            taken = await idempotency.take_over(found, digest, expired=True)
        elif found.request_hash != digest:
            raise KeyRefused(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used with another request (query, operation name or variables "
                "differ) in the last 24 hours: use a new key for a new request.",
            )
        elif found.status is not None:
            return Replay(found.status, idempotency.answer_of(found))
        elif found.claimed_at > now - CLAIM_LAPSES:
            raise in_use()
        elif found.committed_at is not None:
            raise KeyRefused(
                409,
                "IDEMPOTENCY_KEY_COMPLETED",
                "The request under this Idempotency-Key was carried out, but its answer was lost; it will not "
                "run again. `writtenIds` lists the records it wrote: read them to continue.",
                {"writtenIds": list(found.written_ids or []), "committedAt": found.committed_at.isoformat()},
            )
        else:  # the first request neither committed nor answered within the claim's time
            taken = await idempotency.take_over(found, digest, expired=False)
        if taken is not None:
            for hook in after_claim:
                await hook()
            return taken
    raise in_use()


def in_use() -> KeyRefused:
    return KeyRefused(
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still running: wait for its answer, or send this one again "
        "in a moment.",
        headers=[(b"retry-after", str(IN_USE_RETRY_AFTER_SECONDS).encode())],
    )
