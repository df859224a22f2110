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


class UserType(str, Enum):
    STAFF = "STAFF"
    PRACTITIONER = "PRACTITIONER"
    SERVICE_ACCOUNT = "SERVICE_ACCOUNT"
    SUPPORT = "SUPPORT"


class Classification(str, Enum):
    STANDARD = "STANDARD"
    LOCUM = "LOCUM"
    CLINICAL_TRAINEE = "CLINICAL_TRAINEE"


class UserStatus(str, Enum):
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


class License(str, Enum):
    STAFF = "STAFF"
    CHR_LITE = "CHR_LITE"
    CHR_LITE_VV = "CHR_LITE_VV"
    CHR_PLUS = "CHR_PLUS"
    LOCUM = "LOCUM"
    CLINICAL_TRAINEE = "CLINICAL_TRAINEE"


class Permission(str, Enum):
    VIEW_USERS = "VIEW_USERS"
    EDIT_OTHER_USERS = "EDIT_OTHER_USERS"
    EDIT_ROLES = "EDIT_ROLES"
    UPGRADE_TYPE_CLASSIFICATION = "UPGRADE_TYPE_CLASSIFICATION"
    MANAGE_PATIENTS = "MANAGE_PATIENTS"
    MANAGE_SCHEDULE = "MANAGE_SCHEDULE"
    VIEW_BILLING = "VIEW_BILLING"
    MANAGE_PORTAL = "MANAGE_PORTAL"
    VIEW_AUDIT_LOG = "VIEW_AUDIT_LOG"
    MANAGE_API_CONSUMERS = "MANAGE_API_CONSUMERS"


class AppointmentStatus(str, Enum):
    BOOKED = "BOOKED"
    CONFIRMED = "CONFIRMED"
    ARRIVED = "ARRIVED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


class AppointmentKind(str, Enum):
    IN_PERSON = "IN_PERSON"
    VIRTUAL = "VIRTUAL"


class Sex(str, Enum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class QuestionnaireKind(str, Enum):
    RECURRING = "RECURRING"
    SENT = "SENT"


class QuestionnaireStatus(str, Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    REMOVED = "REMOVED"


class NotificationLogin(str, Enum):
    OTP_AND_DATE_OF_BIRTH = "OTP_AND_DATE_OF_BIRTH"
    ID_AND_DATE_OF_BIRTH = "ID_AND_DATE_OF_BIRTH"


class LicenseChangeKind(str, Enum):
    INITIAL = "INITIAL"
    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"
    ENFORCEMENT = "ENFORCEMENT"
    SELF_UPGRADE = "SELF_UPGRADE"
    REQUEST_APPROVED = "REQUEST_APPROVED"


class UpgradeRequestStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
