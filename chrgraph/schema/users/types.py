from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace

import strawberry
from strawberry import relay

from chrgraph.auth.permissions import ALL_BUT_SUPPORT
from chrgraph.db.models import Classification as DomainClassification
from chrgraph.db.models import License as DomainLicense
from chrgraph.db.models import LicenseChangeKind as DomainLicenseChangeKind
from chrgraph.db.models import Permission as DomainPermission
from chrgraph.db.models import Role as RoleModel
from chrgraph.db.models import User as UserModel
from chrgraph.db.models import UserStatus as DomainUserStatus
from chrgraph.db.models import UserType as DomainUserType
from chrgraph.resolvers.licensing.dates import local_date
from chrgraph.resolvers.users.queries import access_of_users
from chrgraph.schema.enum_values import describe_values

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainUserType, description="What kind of user.")
UserType = DomainUserType
strawberry.enum(DomainClassification, description="A practitioner's classification.")
Classification = DomainClassification
strawberry.enum(DomainUserStatus, description="Invited, active or deactivated.")
UserStatus = DomainUserStatus
strawberry.enum(DomainLicense, description="A user license.")
License = DomainLicense
strawberry.enum(DomainPermission, description="What a user may do.")
Permission = DomainPermission


strawberry.enum(DomainLicenseChangeKind, description="What made a license change.")
LicenseChangeKind = DomainLicenseChangeKind

describe_values(
    UserType,
    {
        UserType.STAFF: "Clinic staff who are not practitioners (front desk, billing, managers).",
        UserType.PRACTITIONER: "A practitioner who sees patients; has a classification.",
        UserType.SERVICE_ACCOUNT: "An account for an integration or a device; never logs in and holds no license.",
        UserType.SUPPORT: (
            "The organization's support account: never billed, never listed in `users`, the only holder "
            "of MANAGE_API_CONSUMERS."
        ),
    },
)
describe_values(
    Classification,
    {
        Classification.STANDARD: "A practitioner of the clinic (also assumed when a practitioner has none).",
        Classification.LOCUM: "A practitioner covering another one for a dated period; may log in only within it.",
        Classification.CLINICAL_TRAINEE: (
            "A practitioner in training: needs an expected end of training, has no billing number, and keeps "
            "access until 14 days after that date (the organization's calendar)."
        ),
    },
)
describe_values(
    UserStatus,
    {
        UserStatus.INVITED: "Invited and not yet accepted: cannot log in, billed under a license like an active user.",
        UserStatus.ACTIVE: "Accepted (or a service account): may work within its access period.",
        UserStatus.DEACTIVATED: "Deactivated: its sessions are ended and it cannot log in until reactivated.",
    },
)
describe_values(
    License,
    {
        License.STAFF: "For Staff: scheduling, records, questionnaires, messaging, eBooking, reminders, analytics.",
        License.CHR_LITE: "For standard practitioners: the Staff features plus the Connect app (rank 1).",
        License.CHR_LITE_VV: "CHR_LITE plus virtual care (rank 2).",
        License.CHR_PLUS: "CHR_LITE_VV plus labs, prescriptions and provincial billing (rank 3).",
        License.LOCUM: "For locums: the features of CHR_PLUS (rank 3).",
        License.CLINICAL_TRAINEE: (
            "For clinical trainees: CHR_LITE plus labs and prescriptions under supervision, never provincial "
            "billing (rank 1)."
        ),
    },
)
describe_values(
    Permission,
    {
        Permission.VIEW_USERS: "Read users, roles and feature access (a user always reads itself).",
        Permission.EDIT_OTHER_USERS: (
            "Invite, change, deactivate and reactivate other users, assign roles and permissions, set and "
            "decide licenses."
        ),
        Permission.EDIT_ROLES: "Create, change and delete roles.",
        Permission.UPGRADE_TYPE_CLASSIFICATION: "Upgrade one's own license without asking (upgradeOwnLicense).",
        Permission.MANAGE_PATIENTS: "Register, read and change patients, and their portal access.",
        Permission.MANAGE_SCHEDULE: (
            "Appointments, questionnaires, inboxes, lab integrations and MDBilling connections (a practitioner "
            "always reads its own)."
        ),
        Permission.VIEW_BILLING: "Read the monthly billing statement.",
        Permission.MANAGE_PORTAL: "Read and change the patient portal's settings and background image.",
        Permission.VIEW_AUDIT_LOG: "Read the audit log and who read a patient's data.",
        Permission.MANAGE_API_CONSUMERS: (
            "Manage API consumers and the organization's settings: held by the support account alone, never "
            "granted to anyone else."
        ),
    },
)
describe_values(
    LicenseChangeKind,
    {
        LicenseChangeKind.INITIAL: "The license the user was created or imported with.",
        LicenseChangeKind.MANUAL: "Set by an administrator (setUserLicense, updateUser).",
        LicenseChangeKind.AUTOMATIC: "Applied by license mapping, its proposal at or above the confidence threshold.",
        LicenseChangeKind.ENFORCEMENT: "Enforcement gave a user still without a license the highest tier that fits.",
        LicenseChangeKind.SELF_UPGRADE: "The user upgraded itself (upgradeOwnLicense).",
        LicenseChangeKind.REQUEST_APPROVED: "An administrator approved the user's upgrade request.",
    },
)


@strawberry.type(description="One dated license change.")
class LicenseChange:
    kind: LicenseChangeKind = strawberry.field(description="Manual, automatic, enforcement…")
    changed_at: datetime.datetime = strawberry.field(description="When it was made.")
    changed_by: str | None = strawberry.field(description="Actor kind and id.")
    from_license: License | None = strawberry.field(description="Before.")
    to_license: License = strawberry.field(description="After.")
    effective_on: datetime.date = strawberry.field(description="From when billing uses it.")
    access_from: datetime.date = strawberry.field(description="From when access uses it.")
    cancelled_at: datetime.datetime | None = strawberry.field(description="When a pending change was cancelled.")

    @classmethod
    def from_model(cls, row) -> LicenseChange:
        actor = getattr(row.actor_kind, "value", row.actor_kind)
        return cls(
            kind=row.kind,
            changed_at=row.changed_at,
            changed_by=f"{actor}:{row.actor_id}" if row.actor_id else actor,
            from_license=row.from_license,
            to_license=row.to_license,
            effective_on=row.effective_on,
            access_from=row.access_from,
            cancelled_at=row.cancelled_at,
        )


# What `User.from_model` reads: list pages fetch these as `values()` rows.
USER_COLUMNS = (
    "id",
    "public_id",
    "organization_id",
    "email",
    "type",
    "classification",
    "license",
    "pending_license",
    "pending_license_effective_on",
    "license_reviewed",
    "status",
    "first_name",
    "last_name",
    "display_name",
    "title",
    "position",
    "billing_number",
    "expected_end_of_training",
    "locum_for_id",
    "locum_start",
    "locum_end",
    "created_at",
    "invited_at",
    "accepted_at",
    "deactivated_at",
)


# What the owner holds, whatever its roles: every permission but the support account's.
OWNER_PERMISSIONS: list[DomainPermission] = sorted(ALL_BUT_SUPPORT)


async def organization_owner_id(info: strawberry.Info) -> int | None:
    """The caller's organization's owner: the caller itself when it is the owner (no
    statement), else the organization the request loads at most once."""
    principal = info.context.principal
    if principal.is_owner:
        return principal.user_id
    org = await info.context.loaders.organization_by_id.load(principal.organization_id)
    return org.owner_user_id if org is not None else None


@dataclass
class UserAccess:
    """Roles (with their permissions) and extra permissions of a whole page of users,
    fetched by the list resolver in one query each (`preload_access`)."""

    roles: dict[int, list[Role]] = field(default_factory=dict)
    extras: dict[int, list] = field(default_factory=dict)
    # Effective permissions per (roles, extras) combination: users holding the same roles
    # share one list, which the executor then serializes once (graphql_engine/executor.py).
    combined: dict[tuple, list] = field(default_factory=dict)
    owner_id: int | None = None

    def permissions_of(self, user_id: int) -> list:
        if user_id == self.owner_id:
            return OWNER_PERMISSIONS
        roles = self.roles.get(user_id, [])
        extras = self.extras.get(user_id, [])
        key = (tuple(role.id for role in roles), tuple(extras))
        found = self.combined.get(key)
        if found is None:
            held = {p for role in roles for p in role.preloaded_permissions or []}
            found = self.combined[key] = sorted(held | set(extras))
        return found


async def preload_access(users: list[User], owner_id: int | None) -> None:
    ids = [u.id for u in users]
    if not ids:
        return
    rows = await access_of_users(ids)
    roles = {}
    for row in rows.roles:
        role = Role.from_model(row)
        role.preloaded_permissions = sorted(rows.permissions_of_roles.get(row.id, []))
        roles[row.id] = role
    access = UserAccess(owner_id=owner_id)
    for user_id, role_id in rows.links:
        access.roles.setdefault(user_id, []).append(roles[role_id])
    for user_id, permission in rows.extras:
        access.extras.setdefault(user_id, []).append(permission)
    for user in users:
        user.preloaded = access


@strawberry.type(description="A locum's cover: whom and when.")
class LocumDetails:
    practitioner_id: strawberry.Private[int | None]
    start_date: datetime.date | None = strawberry.field(description="First day of cover.")
    end_date: datetime.date | None = strawberry.field(description="Last day of cover.")

    @strawberry.field(description="The practitioner covered.")
    async def practitioner(self, info: strawberry.Info) -> User | None:
        if self.practitioner_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.practitioner_id)
        return User.from_model(row) if row else None


@strawberry.type(description="A named set of permissions.")
class Role(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    name: str = strawberry.field(description="Unique within the organization.")
    description: str | None = strawberry.field(description="What the role is for.")
    builtin: bool = strawberry.field(description="Built-in roles keep their defaults.")

    preloaded_permissions: strawberry.Private[list | None] = None

    @strawberry.field(description="The permissions the role gives.")
    def permissions(self, info: strawberry.Info) -> list[Permission]:
        if self.preloaded_permissions is not None:
            return self.preloaded_permissions
        return self._load_permissions(info)  # type: ignore[return-value]  # an awaitable: graphql-core awaits it

    async def _load_permissions(self, info: strawberry.Info) -> list[Permission]:
        return sorted(await info.context.loaders.permissions_by_role_id.load(self.id))

    @strawberry.field(description="Invited and active users holding the role (null without VIEW_USERS).")
    async def members(self, info: strawberry.Info) -> list[User] | None:
        return [User.from_model(u) for u in await info.context.loaders.members_by_role_id.load(self.id)]

    @classmethod
    def from_model(cls, row: RoleModel) -> Role:
        return cls(id=row.id, public_id=row.public_id, name=row.name, description=row.description, builtin=row.builtin)


@strawberry.type(description="A person or service account of the clinic.")
class User(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    organization_id: strawberry.Private[int]
    email: str = strawberry.field(description="The login (service accounts: a contact address).")
    type: UserType = strawberry.field(description="Staff, practitioner or service account.")
    classification: Classification | None = strawberry.field(description="Practitioners only.")
    stored_license: strawberry.Private[DomainLicense | None]
    stored_pending: strawberry.Private[DomainLicense | None]
    stored_pending_on: strawberry.Private[datetime.date | None]
    license_reviewed: bool = strawberry.field(description="False while an automatic license awaits an admin.")
    status: UserStatus = strawberry.field(description="Invited, active or deactivated.")
    first_name: str = strawberry.field(description="Given name (service accounts: the manager's).")
    last_name: str = strawberry.field(description="Family name (service accounts: the manager's).")
    display_name: str | None = strawberry.field(description="Required for service accounts.")
    title: str | None = strawberry.field(description="Title, e.g. Dr.")
    position: str | None = strawberry.field(description="Position in the clinic.")
    billing_number: str | None = strawberry.field(description="Provincial billing number.")
    expected_end_of_training: datetime.date | None = strawberry.field(description="Clinical trainees only.")
    locum: LocumDetails | None = strawberry.field(description="Locum practitioners only.")
    created_at: datetime.datetime = strawberry.field(description="When the record was made.")
    invited_at: datetime.datetime | None = strawberry.field(description="When last invited.")
    accepted_at: datetime.datetime | None = strawberry.field(description="When the invitation was accepted.")
    deactivated_at: datetime.datetime | None = strawberry.field(description="When deactivated.")

    async def _today(self, info: strawberry.Info) -> datetime.date:
        org = await info.context.loaders.organization_by_id.load(self.organization_id)
        return local_date(datetime.datetime.now(datetime.UTC), org.time_zone)

    @strawberry.field(description="The license access uses now.")
    async def license(self, info: strawberry.Info) -> License | None:
        if self.stored_pending is None:
            return self.stored_license
        today = await self._today(info)
        assert self.stored_pending_on is not None  # stored with the pending license
        return self.stored_pending if self.stored_pending_on <= today else self.stored_license

    @strawberry.field(description="The license billing will use next, when a change is pending.")
    async def pending_license(self, info: strawberry.Info) -> License | None:
        if (
            self.stored_pending is None
            or self.stored_pending_on is None
            or self.stored_pending_on <= await self._today(info)
        ):
            return None
        return self.stored_pending

    @strawberry.field(description="From when the pending license counts (first day of a month).")
    async def pending_license_effective_on(self, info: strawberry.Info) -> datetime.date | None:
        if (
            self.stored_pending is None
            or self.stored_pending_on is None
            or self.stored_pending_on <= await self._today(info)
        ):
            return None
        return self.stored_pending_on

    @strawberry.field(
        description="Whether the user signs in with a second factor (an authenticator app's codes) "
        "besides its password."
    )
    async def two_factor_enabled(self, info: strawberry.Info) -> bool:
        return await info.context.loaders.second_factor_enabled_by_user_id.load(self.id)

    @strawberry.field(description="Every license change, newest first.")
    async def license_history(self, info: strawberry.Info) -> list[LicenseChange]:
        rows = await info.context.loaders.license_changes_by_user_id.load(self.id)
        return [LicenseChange.from_model(r) for r in rows]

    preloaded: strawberry.Private[UserAccess | None] = None

    @strawberry.field(description="Roles held (null without VIEW_USERS).")
    def roles(self, info: strawberry.Info) -> list[Role] | None:
        if self.preloaded is not None:
            return self.preloaded.roles.get(self.id, [])
        return self._load_roles(info)  # type: ignore[return-value]  # an awaitable: graphql-core awaits it

    async def _load_roles(self, info: strawberry.Info) -> list[Role] | None:
        return [Role.from_model(r) for r in await info.context.loaders.roles_by_user_id.load(self.id)]

    @strawberry.field(description="Individual permissions granted beyond the roles.")
    def extra_permissions(self, info: strawberry.Info) -> list[Permission]:
        if self.preloaded is not None:
            return sorted(self.preloaded.extras.get(self.id, []))
        return self._load_extra_permissions(info)  # type: ignore[return-value]  # an awaitable, awaited

    async def _load_extra_permissions(self, info: strawberry.Info) -> list[Permission]:
        return sorted(await info.context.loaders.extra_permissions_by_user_id.load(self.id))

    @strawberry.field(
        description="Every permission the user holds (roles and extras); the owner holds all but MANAGE_API_CONSUMERS."
    )
    def permissions(self, info: strawberry.Info) -> list[Permission]:
        if self.preloaded is not None:
            return self.preloaded.permissions_of(self.id)
        return self._load_permissions(info)  # type: ignore[return-value]  # an awaitable, awaited

    async def _load_permissions(self, info: strawberry.Info) -> list[Permission]:
        if await organization_owner_id(info) == self.id:
            return OWNER_PERMISSIONS
        roles = await info.context.loaders.roles_by_user_id.load(self.id)
        from_roles = [await info.context.loaders.permissions_by_role_id.load(r.id) for r in roles]
        extras = await info.context.loaders.extra_permissions_by_user_id.load(self.id)
        return sorted({p for perms in from_roles for p in perms} | set(extras))

    @strawberry.field(description="Whether the user owns the organization.")
    async def is_owner(self, info: strawberry.Info) -> bool:
        org = await info.context.loaders.organization_by_id.load(self.organization_id)
        return org.owner_user_id == self.id

    @classmethod
    def from_model(cls, row: UserModel | SimpleNamespace) -> User:  # or a values() row (relay.as_row)
        locum = None
        if row.classification is DomainClassification.LOCUM:
            locum = LocumDetails(practitioner_id=row.locum_for_id, start_date=row.locum_start, end_date=row.locum_end)
        return cls(
            id=row.id,
            public_id=row.public_id,
            organization_id=row.organization_id,
            email=row.email,
            type=row.type,
            classification=row.classification,
            stored_license=row.license,
            stored_pending=row.pending_license,
            stored_pending_on=row.pending_license_effective_on,
            license_reviewed=row.license_reviewed,
            status=row.status,
            first_name=row.first_name,
            last_name=row.last_name,
            display_name=row.display_name,
            title=row.title,
            position=row.position,
            billing_number=row.billing_number,
            expected_end_of_training=row.expected_end_of_training,
            locum=locum,
            created_at=row.created_at,
            invited_at=row.invited_at,
            accepted_at=row.accepted_at,
            deactivated_at=row.deactivated_at,
        )
