"""GraphQL only: thin types that call operations in `chrgraph.resolvers`."""

from __future__ import annotations

import strawberry

from chrgraph.schema.audit.types import AuditEvent
from chrgraph.schema.consumers.types import ApiConsumer
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.query import Query

schema = strawberry.Schema(query=Query, types=[Organization, ApiConsumer, AuditEvent])
