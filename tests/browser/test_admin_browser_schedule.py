"""The appointments week view and the working-hours screen of the admin client in a real
browser against a real server process: book from a free slot, the booking outside working
hours that only a session holding MANAGE_SCHEDULE may force, move, cancel with a reason,
the status changes offered; weekly hours and dated exceptions. Each with its main path,
its main refusal, a keyboard-only run, axe-core and a picture for the admin guide."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, License, User, UserType
from chrgraph.resolvers.users.invite_user import create_service_account
from tests.accounts import PASSWORD, Clinic
from tests.browser.helpers import accessible, in_server, new_member, shot, sign_in, tab_to
from tests.helpers import gid, unique
from tests.scheduling_helpers import patient, practitioner

pytestmark = pytest.mark.browser
# The week view needs the room.
VIEWPORT = {"width": 1400, "height": 900}

SET_HOURS = """mutation($i: SetWorkingHoursInput!) { setWorkingHours(input: $i) { errors { code message } } }"""
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def _nav(p):
    return p.get_by_role("navigation", name="Screens")


def next_monday() -> str:
    """Monday of next week in the clinic's time zone (every slot of that week is ahead)."""
    today = datetime.now(ZoneInfo("America/Toronto")).date()
    return (today - timedelta(days=today.weekday()) + timedelta(days=7)).isoformat()


async def monday_by_keyboard(p, *, slot_minutes: str) -> None:
    """On the working-hours form, by keyboard alone: add one interval (Monday, the form's
    09:00–17:00), type the slot length and send the form with Enter."""
    await tab_to(p, "Add an interval")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("group", name="Monday interval 1")).to_be_visible()
    await tab_to(p, "Slot length in minutes")
    await p.keyboard.press("Control+A")
    await p.keyboard.type(slot_minutes)
    await p.keyboard.press("Enter")


async def front_desk(clinic: Clinic) -> str:
    return await new_member(
        clinic, first="Fran", last="Desk", roles=["Front desk"], type=UserType.STAFF, license=License.STAFF
    )


async def scheduled_practitioner(clinic: Clinic) -> str:
    """A practitioner working 09:00 to 10:00 every day on a 30-minute grid: its id."""
    dr = await practitioner(clinic.organization.id)
    weekly = [{"weekday": day, "start": "09:00", "end": "10:00"} for day in WEEKDAYS]
    result = await clinic.owner.gql(SET_HOURS, {"i": {"ownerId": dr, "weekly": weekly, "slotMinutes": 30}})
    assert result["setWorkingHours"]["errors"] == []
    return dr


async def test_front_desk_books_from_a_free_slot_outside_hours_moves_cancels_and_confirms(page, clinic):
    dr = await scheduled_practitioner(clinic)
    last = unique("Booker")
    await patient(clinic.organization.id, first_name="Bea", last_name=last)
    monday = next_monday()
    p = await sign_in(page, await front_desk(clinic))
    await _nav(p).get_by_role("link", name="Appointments").click()
    await expect(p.get_by_role("heading", name="Appointments", level=1)).to_be_visible()
    await p.get_by_label("Practitioner or shared schedule").select_option(value=dr)
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_role("heading", name=f"Monday {monday}")).to_be_visible()
    await expect(p.get_by_text("09:00–10:00").first).to_be_visible()
    await accessible(page)
    # Book from a free slot.
    await p.get_by_role("button", name=f"Book Monday {monday} at 09:00").click()
    await p.get_by_label("Find a patient").fill(last)
    await p.get_by_role("button", name="Search patients").click()
    await expect(p.get_by_label("Patient", exact=True)).to_contain_text(f"Bea {last}")
    await p.get_by_label("Reason").fill("Check-up")
    await shot(p, "appointments-book")
    await p.get_by_role("button", name="Book the appointment").click()
    await expect(p.get_by_text("The appointment is booked.")).to_be_visible()
    booked = p.get_by_role("button", name=f"09:00 Bea {last}, booked")
    await expect(booked).to_be_visible()
    await expect(p.get_by_role("button", name=f"Book Monday {monday} at 09:00")).to_have_count(0)
    # The refusal: outside working hours, said beside the start; then forced.
    await p.get_by_role("button", name="Book at another time").click()
    await p.get_by_label("Find a patient").fill(last)
    await p.get_by_role("button", name="Search patients").click()
    await expect(p.get_by_label("Patient", exact=True)).to_contain_text(f"Bea {last}")
    await p.get_by_label("Start", exact=True).fill(f"{monday}T07:00")
    await p.get_by_role("button", name="Book the appointment").click()
    start = p.get_by_label("Start", exact=True)
    await expect(start).to_have_attribute("aria-invalid", "true")
    await expect(p.get_by_text("outside the practitioner's working hours")).to_be_visible()
    await accessible(page)
    await shot(p, "appointments-outside-hours")
    await p.get_by_label("Book outside working hours").check()
    await p.get_by_role("button", name="Book the appointment").click()
    await expect(p.get_by_text("The appointment is booked.")).to_be_visible()
    # Only the allowed status changes are offered.
    await booked.click()
    panel = p.get_by_role("region", name=re.compile(f"Bea {last}"))
    await expect(panel.get_by_role("button", name="Mark as confirmed")).to_be_visible()
    await expect(panel.get_by_role("button", name="Mark as no show")).to_be_visible()
    await expect(panel.get_by_role("button", name="Mark as completed")).to_have_count(0)
    await expect(panel.get_by_role("button", name="Mark as arrived")).to_have_count(0)
    await panel.get_by_role("button", name="Mark as confirmed").click()
    await expect(p.get_by_text("The appointment is now confirmed.")).to_be_visible()
    await p.get_by_role("button", name=f"09:00 Bea {last}, confirmed").click()
    await expect(p.get_by_role("button", name="Mark as arrived")).to_be_visible()
    await expect(p.get_by_role("button", name="Mark as confirmed")).to_have_count(0)
    # Move the one booked at 07:00 into the hours, then cancel it with a reason.
    await p.get_by_role("button", name=f"07:00 Bea {last}, booked").click()
    await p.get_by_label("New start").fill(f"{monday}T09:30")
    await p.get_by_role("button", name="Move the appointment").click()
    await expect(p.get_by_text("The appointment is moved.")).to_be_visible()
    await p.get_by_role("button", name=f"09:30 Bea {last}, booked").click()
    await p.get_by_label("Reason for cancelling").fill("The patient called")
    await p.get_by_role("button", name="Cancel the appointment").click()
    await expect(p.get_by_text("The appointment is cancelled.")).to_be_visible()
    await expect(p.get_by_role("button", name=f"09:30 Bea {last}, cancelled")).to_be_visible()
    await expect(p.get_by_role("button", name=f"Book Monday {monday} at 09:30")).to_be_visible()
    await shot(p, "appointments")
    await accessible(page)


async def test_a_member_without_the_schedule_sees_no_appointments(page, clinic):
    email = await new_member(
        clinic, first="Bill", last="Ledger", roles=["Billing"], type=UserType.STAFF, license=License.STAFF
    )
    p = await sign_in(page, email)
    await expect(_nav(p).get_by_role("link", name="Billing")).to_be_visible()
    await expect(_nav(p).get_by_role("link", name="Appointments")).to_have_count(0)
    await expect(_nav(p).get_by_role("link", name="Working hours")).to_have_count(0)
    # Opened by its address, the screen says it is not for this member.
    await p.goto(f"{page.origin}/admin/appointments")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()
    await expect(p.get_by_role("heading", name="Appointments", level=1)).to_have_count(0)
    await accessible(page)


async def test_a_network_failure_on_the_week_view_is_a_message(page, clinic):
    dr = await scheduled_practitioner(clinic)
    p = await sign_in(page, await front_desk(clinic))
    await _nav(p).get_by_role("link", name="Appointments").click()
    await expect(p.get_by_role("heading", name="Appointments", level=1)).to_be_visible()
    await p.route("**/graphql", lambda route: route.abort())
    await p.get_by_label("Practitioner or shared schedule").select_option(value=dr)
    await expect(p.get_by_text("The server could not be reached.")).to_be_visible()
    await p.unroute("**/graphql")
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_role("heading", name=f"Monday {next_monday()}")).to_be_visible()


async def test_booking_from_a_free_slot_by_keyboard_alone(page, clinic):
    dr = await scheduled_practitioner(clinic)
    last = unique("Keys")
    await patient(clinic.organization.id, first_name="Kim", last_name=last)
    monday = next_monday()
    p = await sign_in(page, await front_desk(clinic))
    await p.goto(f"{page.origin}/admin/appointments?owner={dr}")
    await expect(p.get_by_role("heading", name=f"Monday {monday}")).to_have_count(0)
    await tab_to(p, "Next week")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name=f"Monday {monday}")).to_be_visible()
    await tab_to(p, f"Book Monday {monday} at 09:30")
    await p.keyboard.press("Enter")
    await tab_to(p, "Find a patient")
    await p.keyboard.type(last)
    await p.keyboard.press("Enter")
    await expect(p.get_by_label("Patient", exact=True)).to_contain_text(f"Kim {last}")
    await tab_to(p, "Reason")
    await p.keyboard.type("Follow-up")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The appointment is booked.")).to_be_visible()
    await expect(p.get_by_role("button", name=f"09:30 Kim {last}, booked")).to_be_visible()


async def test_working_hours_and_exceptions_by_keyboard(page, clinic):
    dr = await practitioner(clinic.organization.id)
    monday = next_monday()
    p = await sign_in(page, await front_desk(clinic))
    await expect(_nav(p).get_by_role("link", name="Working hours")).to_be_visible()
    await p.goto(f"{page.origin}/admin/working-hours?owner={dr}")
    await expect(p.get_by_role("heading", name="Working hours", level=1)).to_be_visible()
    await expect(p.get_by_text("has no working hours yet")).to_be_visible()
    await accessible(page)
    # The refusal: a slot that does not divide a day, said beside its field.
    await monday_by_keyboard(p, slot_minutes="7")
    slot = p.get_by_label("Slot length in minutes")
    await expect(slot).to_have_attribute("aria-invalid", "true")
    await accessible(page)
    await p.keyboard.press("Control+A")
    await p.keyboard.type("30")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The working hours are saved.")).to_be_visible()
    await expect(p.get_by_text("Last changed")).to_be_visible()
    # A dated exception: a past date is refused beside the date, then a closed Monday.
    date = p.get_by_label("Date", exact=True)
    await date.fill("2020-01-06")
    await p.get_by_role("button", name="Add the exception").click()
    await expect(date).to_have_attribute("aria-invalid", "true")
    await date.fill(monday)
    await p.get_by_label("Closed all day").uncheck()
    await p.get_by_role("group", name="Interval 1", exact=True).get_by_label("From").fill("13:00")
    await p.get_by_role("group", name="Interval 1", exact=True).get_by_label("To").fill("15:00")
    await p.get_by_role("button", name="Add the exception").click()
    await expect(p.get_by_role("row", name=re.compile(monday))).to_contain_text("13:00–15:00")
    await shot(p, "working-hours")
    await accessible(page)
    # The week view follows the exception: that Monday is open 13:00 to 15:00.
    await p.get_by_role("link", name=re.compile("^Appointments of")).click()
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_role("button", name=f"Book Monday {monday} at 13:00")).to_be_visible()
    await expect(p.get_by_role("button", name=f"Book Monday {monday} at 09:00")).to_have_count(0)
    await p.get_by_role("link", name=re.compile("^Working hours of")).click()
    await p.get_by_role("button", name=f"Remove the exception of {monday}").click()
    await expect(p.get_by_text(f"The exception of {monday} is removed.")).to_be_visible()
    await expect(p.get_by_text("No exception: every date follows the weekly hours.")).to_be_visible()


async def test_a_shared_schedule_gets_its_hours_then_free_slots(page, clinic):
    room = unique("Room")
    account = await create_service_account(
        support_cli_actor(clinic.organization.id),
        email=f"{room.lower()}@x.test",
        first_name="Room",
        last_name="Two",
        display_name=room,
    )
    monday = next_monday()
    p = await sign_in(page, await front_desk(clinic))
    await _nav(p).get_by_role("link", name="Working hours").click()
    await p.get_by_label("Practitioner or shared schedule").select_option(label=f"{room} (shared schedule)")
    await expect(p.get_by_text("has no working hours yet")).to_be_visible()
    assert f"owner={gid(account)}" in p.url.replace("%3D", "=")
    await p.get_by_role("button", name="Add an interval").click()
    interval = p.get_by_role("group", name="Monday interval 1")
    await interval.get_by_label("From").fill("08:00")
    await interval.get_by_label("To").fill("09:00")
    await p.get_by_role("button", name="Save the working hours").click()
    await expect(p.get_by_text("The working hours are saved.")).to_be_visible()
    await p.get_by_role("link", name=re.compile("^Appointments of")).click()
    await expect(p.get_by_role("heading", name="Appointments", level=1)).to_be_visible()
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_role("button", name=f"Book Monday {monday} at 08:45")).to_be_visible()
    await expect(p.get_by_role("heading", name=re.compile("^Tuesday"))).to_be_visible()
    await expect(p.get_by_text("Closed").first).to_be_visible()


PERMISSION = """mutation($i: %sPermissionInput!) { %sPermission(input: $i) { errors { code } } }"""


async def test_without_patients_the_week_is_read_only_and_a_permission_taken_away_is_a_message(page, clinic):
    dr = await scheduled_practitioner(clinic)
    name = unique("Sched")
    email = await new_member(
        clinic, first="Sam", last=name, roles=["Billing"], type=UserType.STAFF, license=License.STAFF
    )
    search = "query($s: String) { users(filter: {search: $s}) { edges { node { id } } } }"
    found = await clinic.owner.gql(search, {"s": name})
    user = found["users"]["edges"][0]["node"]["id"]
    grant = {"i": {"userId": user, "permission": "MANAGE_SCHEDULE", "password": PASSWORD}}
    assert (await clinic.owner.gql(PERMISSION % ("Grant", "grant"), grant))["grantPermission"]["errors"] == []
    monday = next_monday()
    p = await sign_in(page, email)
    await p.goto(f"{page.origin}/admin/appointments?owner={dr}")
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_role("heading", name=f"Monday {monday}")).to_be_visible()
    await expect(p.get_by_text("Booking needs the permission to manage patients")).to_be_visible()
    await expect(p.get_by_role("button", name=re.compile("^Book"))).to_have_count(0)
    await accessible(page)
    # The permission taken away while the page is open: the next answer is FORBIDDEN.
    async with in_server(clinic.owner, page.origin) as owner:
        revoked = await owner.gql(PERMISSION % ("Revoke", "revoke"), grant)
    assert revoked["revokePermission"]["errors"] == []
    await p.get_by_role("button", name="Next week").click()
    await expect(p.get_by_text("You do not have permission to see or do this.")).to_be_visible()


async def test_a_practitioner_without_the_permission_keeps_its_own_hours_by_keyboard(page, clinic):
    """A practitioner whose roles lack MANAGE_SCHEDULE still keeps its own working hours
    (the server allows one's own schedule); it sees no other schedule and no appointments."""
    other = await practitioner(clinic.organization.id)
    email = await new_member(
        clinic,
        first="Pia",
        last=unique("Own"),
        roles=["Billing"],
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_PLUS,
    )
    p = await sign_in(page, email)
    await expect(_nav(p).get_by_role("link", name="Working hours")).to_be_visible()
    # The refusal: appointments need the permission, and another schedule is not offered.
    await expect(_nav(p).get_by_role("link", name="Appointments")).to_have_count(0)
    await p.goto(f"{page.origin}/admin/working-hours?owner={other}")
    await expect(p.get_by_role("heading", name="Your working hours", level=1)).to_be_visible()
    await expect(p.get_by_label("Practitioner or shared schedule")).to_have_count(0)
    await expect(p.get_by_text("You have no working hours yet")).to_be_visible()
    await accessible(page)
    await monday_by_keyboard(p, slot_minutes="30")
    await expect(p.get_by_text("The working hours are saved.")).to_be_visible()
    await expect(p.get_by_role("link", name=re.compile("^Appointments of"))).to_have_count(0)
    await accessible(page)
    hours = "query($o: ID!) { schedule(ownerId: $o) { slotMinutes weekly { weekday start end } } }"
    own = (await clinic.owner.gql(hours, {"o": gid(await User.get(email=email))}))["schedule"]
    assert own["slotMinutes"] == 30 and [w["weekday"] for w in own["weekly"]] == ["MONDAY"]
    assert (await clinic.owner.gql(hours, {"o": other}))["schedule"]["weekly"] == []
