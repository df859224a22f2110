"""Enumerations stored in the database; the GraphQL enums wrap these."""

from enum import Enum


class Contract(str, Enum):
    STANDARD = "STANDARD"
    CUSTOM = "CUSTOM"


class ActorKind(str, Enum):
    CONSUMER = "CONSUMER"
    USER = "USER"
    SUPPORT = "SUPPORT"
    SYSTEM = "SYSTEM"
