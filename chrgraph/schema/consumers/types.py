from __future__ import annotations

import datetime

import strawberry
from strawberry import relay

from chrgraph.db.models import ApiConsumer as ApiConsumerModel
from chrgraph.db.models import ApiConsumerKey as KeyModel
from chrgraph.resolvers.consumers.manage import consumer_held
from chrgraph.schema.users.types import Permission


@strawberry.type(description="A public key an API consumer signs its tokens with.")
class ApiConsumerKey:
    kid: str | None = strawberry.field(description="Key id that tokens name in their header.")
    fingerprint: str = strawberry.field(
        description="How the key is known: SHA-256 of its DER SubjectPublicKeyInfo, base64url (no padding)."
    )
    bits: int = strawberry.field(description="RSA modulus size.")
    created_at: datetime.datetime = strawberry.field(description="When it was added.")
    revoked_at: datetime.datetime | None = strawberry.field(description="When it was revoked.")

    @classmethod
    def from_model(cls, row: KeyModel) -> ApiConsumerKey:
        return cls(
            kid=row.kid,
            fingerprint=row.fingerprint,
            bits=row.bits,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(description="A vendor integration that signs its own RS512 JWTs.")
class ApiConsumer(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name.")
    issuer: str = strawberry.field(description="The `iss` claim its tokens carry (unique).")
    active: bool = strawberry.field(description="Inactive consumers are refused.")
    last_used_at: datetime.datetime | None = strawberry.field(description="Last authenticated request.")
    created_at: datetime.datetime = strawberry.field(description="When it was registered.")
    cost_budget_per_minute: int | None = strawberry.field(
        description="Objects its documents may ask for per minute, set by support; null: the server's default."
    )
    permissions: list[Permission] = strawberry.field(
        description=(
            "What it may do and grant: every permission but MANAGE_API_CONSUMERS unless support narrowed it "
            "(setApiConsumerPermissions)."
        )
    )

    @strawberry.field(description="Its public keys, revoked ones included.")
    async def keys(self, info: strawberry.Info) -> list[ApiConsumerKey]:
        rows = await info.context.loaders.api_consumer_keys_by_consumer_id.load(self.id)
        return [ApiConsumerKey.from_model(r) for r in rows]

    @classmethod
    def from_model(cls, row: ApiConsumerModel) -> ApiConsumer:
        return cls(
            id=row.id,
            public_id=row.public_id,
            name=row.name,
            issuer=row.issuer,
            active=row.active,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
            cost_budget_per_minute=row.cost_budget_per_minute,
            permissions=consumer_held(row),
        )
