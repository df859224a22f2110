from __future__ import annotations

import datetime

import strawberry
from strawberry import relay

from chrgraph.db.models import Classification as DomainClassification
from chrgraph.db.models import License as DomainLicense
from chrgraph.db.models import Permission as DomainPermission
from chrgraph.db.models import Role as RoleModel
from chrgraph.db.models import User as UserModel
from chrgraph.db.models import UserStatus as DomainUserStatus
from chrgraph.db.models import UserType as DomainUserType

UserType = strawberry.enum(DomainUserType, description="What kind of user (§3).")
Classification = strawberry.enum(DomainClassification, description="A practitioner's classification.")
UserStatus = strawberry.enum(DomainUserStatus, description="Invited, active or deactivated.")
License = strawberry.enum(DomainLicense, description="A user license (§4).")
Permission = strawberry.enum(DomainPermission, description="What a user may do (§3, §11).")


@strawberry.type(description="A locum's cover: whom and when.")
class LocumDetails:
    practitioner_id: strawberry.Private[int | None]
    start_date: datetime.date | None = strawberry.field(description="First day of cover.")
    end_date: datetime.date | None = strawberry.field(description="Last day of cover.")

    @strawberry.field(description="The practitioner covered.")
    async def practitioner(self, info: strawberry.Info) -> User | None:
        if self.practitioner_id is None:
            return None
        row = await info.context.loaders["user"].load(self.practitioner_id)
        return User.from_model(row) if row else None


@strawberry.type(description="A named set of permissions.")
class Role(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Unique within the organization.")
    description: str | None = strawberry.field(description="What the role is for.")
    builtin: bool = strawberry.field(description="Built-in roles keep their defaults.")

    @strawberry.field(description="The permissions the role gives.")
    async def permissions(self, info: strawberry.Info) -> list[Permission]:
        return sorted(await info.context.loaders["role_permissions"].load(self.id))

    @strawberry.field(description="Invited and active users holding the role.")
    async def members(self, info: strawberry.Info) -> list[User]:
        return [User.from_model(u) for u in await info.context.loaders["role_members"].load(self.id)]

    @classmethod
    def from_model(cls, row: RoleModel) -> Role:
        return cls(id=row.id, name=row.name, description=row.description, builtin=row.builtin)


@strawberry.type(description="A person or service account of the clinic.")
class User(relay.Node):
    id: relay.NodeID[int]
    organization_id: strawberry.Private[int]
    email: str = strawberry.field(description="The login (service accounts: a contact address).")
    type: UserType = strawberry.field(description="Staff, practitioner or service account.")
    classification: Classification | None = strawberry.field(description="Practitioners only.")
    license: License | None = strawberry.field(description="The license access uses now.")
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

    @strawberry.field(description="Roles held.")
    async def roles(self, info: strawberry.Info) -> list[Role]:
        return [Role.from_model(r) for r in await info.context.loaders["roles_by_user"].load(self.id)]

    @strawberry.field(description="Individual permissions granted beyond the roles.")
    async def extra_permissions(self, info: strawberry.Info) -> list[Permission]:
        return sorted(await info.context.loaders["extra_permissions"].load(self.id))

    @strawberry.field(description="Every permission the user holds (roles and extras).")
    async def permissions(self, info: strawberry.Info) -> list[Permission]:
        roles = await info.context.loaders["roles_by_user"].load(self.id)
        from_roles = [await info.context.loaders["role_permissions"].load(r.id) for r in roles]
        extras = await info.context.loaders["extra_permissions"].load(self.id)
        return sorted({p for perms in from_roles for p in perms} | set(extras))

    @strawberry.field(description="Whether the user owns the organization.")
    async def is_owner(self, info: strawberry.Info) -> bool:
        org = await info.context.loaders["organization"].load(self.organization_id)
        return org.owner_user_id == self.id

    @classmethod
    def from_model(cls, row: UserModel) -> User:
        locum = None
        if row.classification is DomainClassification.LOCUM:
            locum = LocumDetails(practitioner_id=row.locum_for_id, start_date=row.locum_start,
                                 end_date=row.locum_end)
        return cls(
            id=row.id, organization_id=row.organization_id, email=row.email, type=row.type,
            classification=row.classification, license=row.license, status=row.status,
            first_name=row.first_name, last_name=row.last_name, display_name=row.display_name,
            title=row.title, position=row.position, billing_number=row.billing_number,
            expected_end_of_training=row.expected_end_of_training, locum=locum, created_at=row.created_at,
            invited_at=row.invited_at, accepted_at=row.accepted_at, deactivated_at=row.deactivated_at,
        )
