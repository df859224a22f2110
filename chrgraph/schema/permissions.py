"""Who may do what, declared on each root field as a permission class."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types.base import StrawberryObjectDefinition

from chrgraph.auth.principals import PrincipalKind

ENROLLMENT_REQUIRED = "SECOND_FACTOR_ENROLLMENT_REQUIRED"


def _enrollment_gate(check: Callable[..., Any]) -> Callable[..., Any]:
    """The one place a session that must enrol a second factor first is held back: every
    rule's check runs through it (`Rule.__init_subclass__` wraps each), so a field is
    refused with SECOND_FACTOR_ENROLLMENT_REQUIRED unless its rule declares
    `open_before_enrollment`."""

    def refuse(self: Rule, info: strawberry.Info) -> None:
        principal = info.context.principal
        if principal is not None and principal.second_factor_enrollment_required and not self.open_before_enrollment:
            raise GraphQLError(
                "Your organization requires a second factor: enrol one first "
                "(startTwoFactorEnrollment, then confirmTwoFactorEnrollment).",
                extensions={"code": ENROLLMENT_REQUIRED},
            )

    if inspect.iscoroutinefunction(check):

        @functools.wraps(check)
        async def gated_async(self: Rule, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            refuse(self, info)
            return await check(self, source, info, **kwargs)

        gated_async.enrollment_gate = True  # type: ignore[attr-defined]
        return gated_async

    @functools.wraps(check)
    def gated(self: Rule, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        refuse(self, info)
        return check(self, source, info, **kwargs)

    gated.enrollment_gate = True  # type: ignore[attr-defined]
    return gated


class Rule(BasePermission):
    """Base of our rules: denial is a top-level `FORBIDDEN` error, and the refused field
    is null while its siblings keep their data. A session that must enrol a second
    factor first is refused everything but the rules that declare
    `open_before_enrollment` (`_enrollment_gate`)."""

    message = "You are not allowed to do this."
    error_extensions = {"code": "FORBIDDEN"}
    # Whether some caller that reaches execution is refused. A field guarded by such a
    # rule is nullable: a non-null one would turn its refusal into `data: null` and wipe
    # every field the caller may see (tests/test_partial_data.py walks the schema).
    refuses_some_caller: ClassVar[bool] = True
    # Who may call the field, for the table-driven tests and the documentation.
    consumer: bool = False
    support: bool = False
    permission: str | None = None
    owner: bool = False
    # Open to a session that must enrol a second factor first (viewer, logout, enrolment).
    open_before_enrollment: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("has_permission")
        if own is not None and not getattr(own, "enrollment_gate", False):
            cls.has_permission = _enrollment_gate(own)  # type: ignore[method-assign]

    @_enrollment_gate
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return self.allows(info.context.principal)

    @classmethod
    def allows(cls, principal) -> bool:
        """The rule for a principal, also used by `node` to stay within the caller's rights."""
        self = cls
        if principal is None:
            return False
        if principal.second_factor_enrollment_required and not cls.open_before_enrollment:
            return False  # what relations reach is closed too (schema/reads.py)
        if principal.kind is PrincipalKind.CONSUMER:
            # A consumer holds permissions as a session does (all but the support
            # account's own unless support narrowed it) and needs the one named.
            return self.consumer and (self.permission is None or self.permission in principal.permissions)
        if principal.kind is PrincipalKind.SUPPORT:
            return self.support
        if principal.kind is PrincipalKind.USER:
            if self.owner and principal.is_owner:
                return True
            return self.permission is not None and (principal.is_owner or self.permission in principal.permissions)
        return False

    # Whether a caller the rule refuses may still read some single objects of the type
    # (its own `User`, a consumer its own `ApiConsumer`): see `admits`.
    admits_own: ClassVar[bool] = False

    @classmethod
    def admits(cls, principal, value: Any) -> bool:
        """For a caller `allows` refuses: whether this one object is the caller's own."""
        return False


def allow(
    *,
    consumer: bool = False,
    support: bool = False,
    permission: str | None = None,
    owner: bool = False,
    name: str,
) -> type[Rule]:
    """A named rule class (strawberry wants classes, never shared instances)."""
    return type(name, (Rule,), {"consumer": consumer, "support": support, "permission": permission, "owner": owner})


class Authenticated(Rule):
    """Any principal (`viewer`, `node`, `nodes`, `licenseCatalog`)."""

    consumer = True
    support = True
    # An anonymous request is answered 401 before execution unless it is one public
    # mutation, so every caller that reaches a field guarded by this rule passes.
    refuses_some_caller = False

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return info.context.principal is not None

    @classmethod
    def allows(cls, principal) -> bool:
        return principal is not None


CanViewAuditLog = allow(consumer=True, support=True, permission="VIEW_AUDIT_LOG", name="CanViewAuditLog")
# Who read which patient is health data about that patient: not for the support account.
CanViewPatientAccessLog = allow(consumer=True, permission="VIEW_AUDIT_LOG", name="CanViewPatientAccessLog")


class CanViewUser(Rule):
    """`user(id)`, `featureAccess(userId)`: VIEW_USERS, or always oneself."""

    consumer = True
    support = True
    permission = "VIEW_USERS"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        target = kwargs.get("id") or kwargs.get("user_id")
        if principal is not None and principal.user_public_id is not None and target is not None:
            if target.type_name == "User" and target.node_id == principal.user_public_id:
                return True
        return super().has_permission(source, info, **kwargs)


class Public(Rule):
    """`login`, `acceptInvitation`, `requestPasswordReset`, `resetPassword`: anyone,
    anonymous included. The only mutations an anonymous request may send are the ones
    declaring this class (`public_mutations`)."""

    consumer = True
    support = True
    refuses_some_caller = False
    open_before_enrollment = True

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return True


def public_mutations(schema: strawberry.Schema) -> frozenset[str]:
    """The GraphQL names of the mutations guarded by `Public`: an anonymous request for
    anything else is answered 401 before execution."""
    mutation = schema.get_type_by_name("Mutation")
    if not isinstance(mutation, StrawberryObjectDefinition):
        return frozenset()
    name = schema.config.name_converter.get_graphql_name
    return frozenset(
        name(field) for field in mutation.fields if any(issubclass(p, Public) for p in field.permission_classes)
    )


class AnySession(Rule):
    """`logout`, `changePassword`, `updateMyProfile`, `mySessions`, `revokeMySession`,
    `disableTwoFactor`: any user or support session, for itself."""

    support = True

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and principal.session_id is not None


class Logout(AnySession):
    """`logout`: any session, also one that must enrol a second factor first."""

    open_before_enrollment = True


class OwnSecondFactorEnrollment(AnySession):
    """`startTwoFactorEnrollment`, `confirmTwoFactorEnrollment`: any user or support
    session for itself, also (above all) one that must enrol first."""

    open_before_enrollment = True


class ViewerRule(Authenticated):
    """`viewer`: any principal, also a session that must enrol a second factor first
    (the admin client reads who it is to show the enrolment)."""

    open_before_enrollment = True


class CanReadUser(Rule):
    """Reading a `User` wherever it is reached: VIEW_USERS, and always one's own."""

    consumer = True
    support = True
    permission = "VIEW_USERS"
    admits_own = True

    @classmethod
    def admits(cls, principal, value: Any) -> bool:
        user_id = principal.user_id if principal is not None else None
        return user_id is not None and getattr(value, "id", None) == user_id


class CanReadApiConsumer(Rule):
    """Reading an `ApiConsumer`: the owner and support; a consumer reads itself."""

    support = True
    owner = True
    admits_own = True

    @classmethod
    def admits(cls, principal, value: Any) -> bool:
        consumer_id = principal.consumer_id if principal is not None else None
        return consumer_id is not None and getattr(value, "id", None) == consumer_id


CanViewUsers = allow(consumer=True, support=True, permission="VIEW_USERS", name="CanViewUsers")
CanEditOtherUsers = allow(consumer=True, permission="EDIT_OTHER_USERS", name="CanEditOtherUsers")
# Removing another user's second factor: sessions only (they re-enter a password), never
# a consumer or the support account (the CLI's break-glass command is for that).
CanResetSecondFactor = allow(permission="EDIT_OTHER_USERS", name="CanResetSecondFactor")
# The support account may call it too, for the main lab integration only (the
# operation refuses it any other one, and refuses the main one to everybody else).
CanTransferLabIntegration = allow(
    consumer=True, support=True, permission="EDIT_OTHER_USERS", name="CanTransferLabIntegration"
)
CanEditRoles = allow(consumer=True, permission="EDIT_ROLES", name="CanEditRoles")
OwnerOnly = allow(owner=True, name="OwnerOnly")
CanManageApiConsumers = allow(support=True, name="CanManageApiConsumers")
CanViewApiLogs = allow(support=True, owner=True, name="CanViewApiLogs")
CanManagePatients = allow(consumer=True, permission="MANAGE_PATIENTS", name="CanManagePatients")
CanManageSchedule = allow(consumer=True, permission="MANAGE_SCHEDULE", name="CanManageSchedule")
CanManagePortal = allow(support=True, permission="MANAGE_PORTAL", name="CanManagePortal")
OwnerOrSupport = allow(support=True, owner=True, name="OwnerOrSupport")
CanViewBilling = allow(consumer=True, permission="VIEW_BILLING", name="CanViewBilling")
# Event notifications: a consumer manages its own subscriptions; the owner and support
# read every consumer's subscriptions and deliveries and may redeliver.
CanManageOwnWebhooks = allow(consumer=True, name="CanManageOwnWebhooks")
CanViewWebhooks = allow(consumer=True, support=True, owner=True, name="CanViewWebhooks")
CanUpgradeOwnLicense = allow(permission="UPGRADE_TYPE_CLASSIFICATION", name="CanUpgradeOwnLicense")


class UserSession(Rule):
    """`requestLicenseUpgrade`: any user's own session (not consumers, not support)."""

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and principal.kind is PrincipalKind.USER and principal.session_id is not None


class CanManageOwnSchedule(Rule):
    """Schedules and `availableSlots`: MANAGE_SCHEDULE (consumers too, not support), and
    always a user's own schedule (its own `ownerId`, or only itself in `ownerIds`)."""

    consumer = True
    permission = "MANAGE_SCHEDULE"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        own = principal.user_public_id if principal is not None and principal.kind is PrincipalKind.USER else None
        if own is not None:
            input = kwargs.get("input")
            targets = kwargs.get("owner_ids") or [kwargs.get("owner_id") or getattr(input, "owner_id", None)]
            if all(t is not None and t.type_name == "User" and t.node_id == own for t in targets):
                return True
        return super().has_permission(source, info, **kwargs)
