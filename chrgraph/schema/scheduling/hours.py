"""Working hours, exceptions and availability through GraphQL (MANAGE_SCHEDULE, and a
user's own schedule; consumers yes, support no)."""

from __future__ import annotations

import datetime
from functools import partial
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay

from chrgraph.resolvers.errors import OperationFailed
from chrgraph.resolvers.scheduling import hours as ops
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.errors import UserError
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManageOwnSchedule
from chrgraph.schema.relay import parse_global_id
from chrgraph.schema.scheduling.types import AppointmentKind
from chrgraph.schema.users.types import User

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below is what type checkers read as a type.
strawberry.enum(ops.Weekday, description="A day of the week.")
Weekday = ops.Weekday
describe_values(
    Weekday,
    {
        Weekday.MONDAY: "Monday.",
        Weekday.TUESDAY: "Tuesday.",
        Weekday.WEDNESDAY: "Wednesday.",
        Weekday.THURSDAY: "Thursday.",
        Weekday.FRIDAY: "Friday.",
        Weekday.SATURDAY: "Saturday.",
        Weekday.SUNDAY: "Sunday.",
    },
)


@strawberry.type(description="Working time of one day, in the organization's local wall-clock time: [start, end).")
class TimeInterval:
    start: datetime.time = strawberry.field(description="Local time the interval starts (hours and minutes).")
    end: datetime.time = strawberry.field(description="Local time it ends (exclusive), later the same day.")


@strawberry.type(description="Weekly working time: one interval of one weekday, in local wall-clock time.")
class WeeklyInterval:
    weekday: Weekday = strawberry.field(description="The day of the week.")
    start: datetime.time = strawberry.field(description="Local time the interval starts (hours and minutes).")
    end: datetime.time = strawberry.field(description="Local time it ends (exclusive), later the same day.")


@strawberry.type(description="One local date of a schedule that differs from its weekly hours.")
class ScheduleException:
    date: datetime.date = strawberry.field(description="The organization's local date.")
    closed: bool = strawberry.field(description="True: no working time that date.")
    intervals: list[TimeInterval] = strawberry.field(
        description="The working intervals that date (they replace the weekday's); empty when closed."
    )


@strawberry.type(description="A schedule owner's working hours (a practitioner, or a shared schedule).")
class Schedule:
    owner_id: strawberry.ID = strawberry.field(description="The global id of the owner (a User).")
    has_working_hours: bool = strawberry.field(
        description="False until working hours are set: the owner is then bookable at any time."
    )
    slot_minutes: int | None = strawberry.field(description="The slot grid free times are aligned to, in minutes.")
    weekly: list[WeeklyInterval] = strawberry.field(description="The weekly intervals, Monday first.")
    exceptions: list[ScheduleException] = strawberry.field(
        description="Dated exceptions from the organization's today on, by date."
    )
    updated_at: datetime.datetime | None = strawberry.field(description="When the weekly hours were last set.")

    @classmethod
    def from_domain(cls, s: ops.Schedule) -> Schedule:
        return cls(
            owner_id=strawberry.ID(relay.to_base64("User", s.owner.public_id)),
            has_working_hours=s.weekly is not None,
            slot_minutes=s.slot_minutes,
            weekly=[WeeklyInterval(weekday=w.weekday, start=w.start, end=w.end) for w in s.weekly or []],
            exceptions=[
                ScheduleException(
                    date=e.date,
                    closed=e.closed,
                    intervals=[TimeInterval(start=i.start, end=i.end) for i in e.intervals],
                )
                for e in s.exceptions
            ],
            updated_at=s.updated_at,
        )


@strawberry.type(description="The free start instants of one owner.")
class OwnerAvailability:
    owner_id: strawberry.ID = strawberry.field(description="The global id of the owner (a User).")
    has_working_hours: bool = strawberry.field(description="False: the owner has no working hours, so no slots.")
    slot_minutes: int | None = strawberry.field(description="The owner's slot grid, in minutes.")
    slots: list[datetime.datetime] = strawberry.field(
        description="Free start instants (UTC), in time order: each can take the asked duration."
    )
    owner_user: strawberry.Private[object]

    @strawberry.field(description="The owner (needs VIEW_USERS, as every user read).")
    def owner(self) -> User | None:
        return User.from_model(self.owner_user)  # type: ignore[arg-type]


@strawberry.input(description="One interval of one weekday, in local wall-clock time.")
class WeeklyIntervalInput:
    weekday: Weekday = strawberry.field(description="The day of the week.")
    start: datetime.time = strawberry.field(description="Local start, hours and minutes (e.g. 09:00).")
    end: datetime.time = strawberry.field(
        description="Local end, exclusive, later the same day (INVALID_INTERVAL otherwise)."
    )


@strawberry.input(description="One interval of a date, in local wall-clock time.")
class TimeIntervalInput:
    start: datetime.time = strawberry.field(description="Local start, hours and minutes.")
    end: datetime.time = strawberry.field(description="Local end, exclusive, later the same day.")


@strawberry.input(description="Set (replace) an owner's weekly working hours.")
class SetWorkingHoursInput:
    owner_id: relay.GlobalID = strawberry.field(
        description="An ACTIVE practitioner or service account (NOT_A_SCHEDULE_OWNER otherwise).",
        metadata=refers_to("User"),
    )
    weekly: list[WeeklyIntervalInput] = strawberry.field(
        description="The week's intervals; those of one weekday may touch but not overlap (OVERLAPPING_INTERVALS). "
        "Empty: working only on dates an exception opens."
    )
    slot_minutes: int = strawberry.field(
        default=ops.DEFAULT_SLOT_MINUTES,
        description="The slot grid in minutes: 5 to 240, dividing a day evenly (INVALID_SLOT_LENGTH). Default 15.",
    )


@strawberry.type(description="The result of setWorkingHours.")
class SetWorkingHoursPayload:
    schedule: Schedule | None = strawberry.field(description="The owner's schedule as it now is.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Set one local date apart from the weekly hours (replacing its exception, if any).")
class AddScheduleExceptionInput:
    owner_id: relay.GlobalID = strawberry.field(
        description="An owner with working hours (INVALID_STATE otherwise).", metadata=refers_to("User")
    )
    date: datetime.date = strawberry.field(description="The organization's local date, today or later.")
    closed: bool = strawberry.field(default=False, description="True: closed all that date (no intervals).")
    intervals: list[TimeIntervalInput] | None = strawberry.field(
        default=None, description="When open: that date's intervals, replacing the weekday's."
    )


@strawberry.type(description="The result of addScheduleException.")
class AddScheduleExceptionPayload:
    schedule: Schedule | None = strawberry.field(description="The owner's schedule as it now is.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Return one date to the weekly hours.")
class RemoveScheduleExceptionInput:
    owner_id: relay.GlobalID = strawberry.field(description="The owner.", metadata=refers_to("User"))
    date: datetime.date = strawberry.field(description="The local date of the exception (NOT_FOUND if none).")


@strawberry.type(description="The result of removeScheduleException.")
class RemoveScheduleExceptionPayload:
    schedule: Schedule | None = strawberry.field(description="The owner's schedule as it now is.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


def _failed(failed: OperationFailed) -> GraphQLError:
    """A query's refused arguments as a field error: `BAD_USER_INPUT` like every query
    argument error, with the precise `ErrorCode` as `reason` and the argument as `field`."""
    error = failed.errors[0]
    extensions = {"code": "BAD_USER_INPUT", "reason": error.code.value, "field": list(error.field or ())}
    return GraphQLError(error.message, extensions=extensions)


@strawberry.type
class HoursQuery:
    @strawberry.field(
        description="An owner's working hours and exceptions (null for a user that is not a schedule owner). "
        "MANAGE_SCHEDULE, or one's own.",
        permission_classes=[CanManageOwnSchedule],
    )
    async def schedule(
        self,
        info: strawberry.Info,
        owner_id: Annotated[relay.GlobalID, strawberry.argument(description="A practitioner or service account.")],
    ) -> Schedule | None:
        parsed = parse_global_id(owner_id, "User")
        found = await ops.schedule(info.context.actor, parsed[1]) if parsed else None
        return Schedule.from_domain(found) if found else None

    @strawberry.field(
        description="Free start instants per owner: aligned to each owner's slot grid, inside its working hours and "
        "exceptions, clear of booked, confirmed and arrived appointments, in the future and within the owner's "
        "access. Refused arguments are BAD_USER_INPUT with a `reason`: more than 31 days or 20 owners "
        "AVAILABILITY_LIMIT_EXCEEDED, an unknown id NOT_FOUND, a bad range or length INVALID_INPUT. "
        "MANAGE_SCHEDULE, or one's own.",
        permission_classes=[CanManageOwnSchedule],
    )
    async def available_slots(
        self,
        info: strawberry.Info,
        owner_ids: Annotated[
            list[relay.GlobalID], strawberry.argument(description="1 to 20 practitioners or shared schedules.")
        ],
        from_: Annotated[
            datetime.datetime, strawberry.argument(name="from", description="Range start (inclusive), with an offset.")
        ],
        to: Annotated[
            datetime.datetime, strawberry.argument(description="Range end (exclusive), at most 31 days after `from`.")
        ],
        duration_minutes: Annotated[
            int, strawberry.argument(description="The appointment's length, 5 to 480 minutes.")
        ],
        kind: Annotated[
            AppointmentKind,
            strawberry.argument(description="IN_PERSON (default), or VIRTUAL: only owners whose license covers it."),
        ] = AppointmentKind.IN_PERSON,
    ) -> list[OwnerAvailability] | None:
        public_ids = []
        for gid in owner_ids:
            parsed = parse_global_id(gid, "User")
            public_ids.append(parsed[1] if parsed else "")
        try:
            found = await ops.available_slots(info.context.actor, public_ids, from_, to, duration_minutes, kind)
        except OperationFailed as failed:
            raise _failed(failed) from None
        return [
            OwnerAvailability(
                owner_id=strawberry.ID(relay.to_base64("User", o.owner.public_id)),
                has_working_hours=o.has_working_hours,
                slot_minutes=o.slot_minutes,
                slots=o.slots,
                owner_user=o.owner,
            )
            for o in found
        ]


@strawberry.type
class HoursMutation:
    @strawberry.mutation(description="Set an owner's weekly working hours.", permission_classes=[CanManageOwnSchedule])
    async def set_working_hours(
        self, info: strawberry.Info, input: SetWorkingHoursInput
    ) -> SetWorkingHoursPayload | None:
        operation = partial(ops.set_working_hours, info.context.actor)
        return await perform(SetWorkingHoursPayload, operation, input, schedule=Schedule.from_domain)

    @strawberry.mutation(
        description="Close a date, or open it at other hours.", permission_classes=[CanManageOwnSchedule]
    )
    async def add_schedule_exception(
        self, info: strawberry.Info, input: AddScheduleExceptionInput
    ) -> AddScheduleExceptionPayload | None:
        operation = partial(ops.add_schedule_exception, info.context.actor)
        return await perform(AddScheduleExceptionPayload, operation, input, schedule=Schedule.from_domain)

    @strawberry.mutation(description="Return a date to the weekly hours.", permission_classes=[CanManageOwnSchedule])
    async def remove_schedule_exception(
        self, info: strawberry.Info, input: RemoveScheduleExceptionInput
    ) -> RemoveScheduleExceptionPayload | None:
        operation = partial(ops.remove_schedule_exception, info.context.actor)
        return await perform(RemoveScheduleExceptionPayload, operation, input, schedule=Schedule.from_domain)
