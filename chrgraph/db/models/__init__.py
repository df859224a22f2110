from chrgraph.db.models.audit import ApiLog, AuditChainHead, AuditCheckpoint, AuditEvent
from chrgraph.db.models.consumer import ApiConsumer, ApiConsumerKey
from chrgraph.db.models.enums import ActorKind, Contract
from chrgraph.db.models.organization import AuthEpoch, Organization

__all__ = [
    "ActorKind",
    "ApiConsumer",
    "ApiConsumerKey",
    "ApiLog",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthEpoch",
    "Contract",
    "Organization",
]
