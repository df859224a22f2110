from chrgraph.db.models.audit import ApiLog, AuditChainHead, AuditCheckpoint, AuditEvent
from chrgraph.db.models.consumer import ApiConsumer, ApiConsumerKey
from chrgraph.db.models.enums import (
    ActorKind,
    Classification,
    Contract,
    License,
    Permission,
    UserStatus,
    UserType,
)
from chrgraph.db.models.organization import AuthEpoch, Organization
from chrgraph.db.models.user import (
    Invitation,
    LoginFailure,
    OutboxMessage,
    Role,
    RolePermission,
    Session,
    User,
    UserPermission,
    UserRole,
)

__all__ = [
    "Classification",
    "Invitation",
    "License",
    "LoginFailure",
    "OutboxMessage",
    "Permission",
    "Role",
    "RolePermission",
    "Session",
    "User",
    "UserPermission",
    "UserRole",
    "UserStatus",
    "UserType",
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
