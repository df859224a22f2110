"""GraphQL errors: the payload `UserError` and top-level typed errors."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.relay import to_base64

from chrgraph.resolvers.errors import DEPRECATED_CODES
from chrgraph.resolvers.errors import DESCRIPTIONS as ERROR_DESCRIPTIONS
from chrgraph.resolvers.errors import ErrorCode as DomainErrorCode
from chrgraph.resolvers.errors import UserError as DomainUserError
from chrgraph.text_rules import text_problem

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainErrorCode, description="Why a mutation refused its input.")
ErrorCode = DomainErrorCode
# The codes' meanings live beside the codes (the operations name them); the schema shows them.
for _value in DomainErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ERROR_DESCRIPTIONS.get(DomainErrorCode(_value.value), _value.description)
    if _value.value in DEPRECATED_CODES:
        _value.deprecation_reason = DEPRECATED_CODES[_value.value]


@strawberry.type(description="A business-rule failure; nothing was written.")
class UserError:
    code: ErrorCode = strawberry.field(description="What went wrong, as a stable code.")
    message: str = strawberry.field(description="A human-readable explanation.")
    field: list[str] | None = strawberry.field(description="The input path of the offending field, when there is one.")
    related_id: strawberry.ID | None = strawberry.field(
        description="The id of a related object (e.g. the existing duplicate)."
    )

    @classmethod
    def from_domain(cls, error: DomainUserError) -> UserError:
        return cls(
            code=error.code,
            message=error.message,
            field=list(error.field) if error.field else None,
            related_id=strawberry.ID(to_base64(*error.related)) if error.related else None,
        )


def forbidden(message: str = "You are not allowed to do this.") -> GraphQLError:
    """A top-level FORBIDDEN error: the caller may not run this field or read this type."""
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_user_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def checked_text(value: str | None, argument: str, max_length: int = 200) -> str | None:
    """A query argument's string hygiene: its failure is BAD_USER_INPUT, and the
    value never reaches the database."""
    if value is not None and (problem := text_problem(value, max_length)):
        raise bad_user_input(f"`{argument}`: {problem}")
    return value
