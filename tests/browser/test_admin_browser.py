"""The admin client end to end in a real browser against a real server process: each
screen's main path and its main refusal, a keyboard-only run of each main path, axe-core
with no serious or critical violation, every request to the server's own origin, and no
policy violation reported by the browser. Screenshots of failures go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, Contract, License, QuestionnaireKind, UserType
from chrgraph.resolvers.scheduling.work import create_inbox_message, create_questionnaire
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import PASSWORD, Clinic, make_clinic
from tests.browser.helpers import (
    accessible,
    in_server,
    new_member,
    shot,
    sign_in,
    tab_to,
)
from tests.helpers import gid, key_of, unique
from tests.scheduling_helpers import patient

pytestmark = pytest.mark.browser

ORG = """mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
  organization { contract } errors { code } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id } errors { code field relatedId } } }"""


async def test_sign_in_refuses_a_wrong_password_then_signs_in_by_keyboard(page, clinic):
    await page.page.goto(f"{page.origin}/admin/")
    await accessible(page)
    await shot(page.page, "sign-in")
    keyboard = page.page.keyboard
    await tab_to(page.page, "Email")
    await keyboard.type(clinic.owner.email)
    await tab_to(page.page, "Password")
    await keyboard.type("not the password at all")
    await keyboard.press("Enter")
    await expect(page.page.get_by_role("alert").first).to_be_visible()
    assert await page.page.evaluate("sessionStorage.getItem('chrgraph.session')") is None
    await page.page.get_by_label("Password").fill("")
    await page.page.get_by_label("Password").focus()
    await keyboard.type(PASSWORD)
    await keyboard.press("Enter")
    await expect(page.page.get_by_role("heading", name="Members")).to_be_visible()
    # The session lives in this tab's sessionStorage only.
    assert await page.page.evaluate("sessionStorage.getItem('chrgraph.session')")
    assert await page.page.evaluate("localStorage.length") == 0
    assert await page.page.context.cookies() == []
    await accessible(page)


async def test_invite_a_practitioner_with_a_license_by_its_display_name_then_find_it(page, clinic):
    await sign_in(page, clinic.owner.email)
    p = page.page
    await p.get_by_role("link", name="Invite a member").click()
    await expect(p.get_by_role("heading", name="Invite a member")).to_be_visible()
    await accessible(page)
    # The refusal: a payload error appears beside its field.
    await p.get_by_label("Email").fill("not-an-email")
    await p.get_by_label("First name").fill("Iris")
    await p.get_by_label("Last name").fill("Invitee")
    await p.get_by_label("License").select_option(label="CHR Plus")
    await p.get_by_role("button", name="Send the invitation").click()
    email_field = p.get_by_label("Email")
    await expect(email_field).to_have_attribute("aria-invalid", "true")
    described = await email_field.get_attribute("aria-describedby")
    assert described and await p.locator(f"#{described.split()[-1]}").inner_text()
    await shot(p, "invite-error")
    address = f"{unique('iris')}@{clinic.domain}.test"
    await email_field.fill(address)
    await p.get_by_role("button", name="Send the invitation").click()
    await expect(p.get_by_text("The invitation is sent.")).to_be_visible()
    await expect(p.get_by_text(address)).to_be_visible()
    await p.get_by_role("link", name="Back to the members").click()
    await p.get_by_label("Status").select_option(label="Invited")
    await p.get_by_label("Search names and emails").fill("invitee")
    await p.get_by_role("button", name="Search").click()
    await expect(p.get_by_role("cell", name=address)).to_be_visible()
    await shot(p, "members")
    await accessible(page)


async def test_create_a_service_account_names_a_missing_display_name(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await p.get_by_role("link", name="Invite a member").click()
    await p.get_by_label("Type").select_option(value="SERVICE_ACCOUNT")
    await expect(p.get_by_label("License")).to_have_count(0)
    await p.get_by_label("Email").fill(f"{unique('sync')}@{clinic.domain}.test")
    await p.get_by_label("First name").fill("Mia")
    await p.get_by_label("Last name").fill("Manager")
    await p.get_by_role("button", name="Create the service account").click()
    await expect(p.get_by_label("Display name")).to_have_attribute("aria-invalid", "true")
    await p.get_by_label("Display name").fill("Lab sync")
    await p.get_by_role("button", name="Create the service account").click()
    await expect(p.get_by_role("heading", name="Lab sync")).to_be_visible()
    await accessible(page)


async def test_invite_and_edit_a_member_by_keyboard_alone(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await tab_to(p, "Invite a member")
    await p.keyboard.press("Enter")
    await expect(p.get_by_label("Email")).to_be_visible()
    address = f"{unique('kay')}@{clinic.domain}.test"
    await tab_to(p, "Email")
    await p.keyboard.type(address)
    await tab_to(p, "License")
    await p.keyboard.press("ArrowDown")
    await expect(p.get_by_label("License")).not_to_have_value("")
    await tab_to(p, "First name")
    await p.keyboard.type("Kay")
    await tab_to(p, "Last name")
    await p.keyboard.type("Keys")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The invitation is sent.")).to_be_visible()
    await tab_to(p, "Title")
    await p.keyboard.type("Dr.")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The profile is saved.")).to_be_visible()
    await tab_to(p, "Resend the invitation")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("A new invitation is on its way.")).to_be_visible()
    await accessible(page)


async def test_members_list_by_keyboard_search_and_paging(page, clinic):
    for n in range(3):
        await new_member(
            clinic, first="Kim", last=f"Keyboard{n}", roles=["Front desk"], type=UserType.STAFF, license=License.STAFF
        )
    await sign_in(page, clinic.owner.email)
    p = page.page
    await tab_to(p, "Search names and emails")
    await p.keyboard.type("keyboard")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("3 members")).to_be_visible()
    await tab_to(p, "Kim Keyboard0")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name="Kim Keyboard0")).to_be_visible()
    await shot(p, "member")
    await accessible(page)


async def test_members_list_pages_forward_and_back(page, clinic):
    for n in range(21):
        await invite_user(
            support_cli_actor(clinic.organization.id),
            f"{unique('pager')}@{clinic.domain}.test",
            Profile(UserType.STAFF, None, License.STAFF, "Paige", f"Pager{n:02d}"),
        )
    p = await sign_in(page, clinic.owner.email)
    await p.get_by_label("Status").select_option(label="Invited")
    await p.get_by_label("Search names and emails").fill("pager")
    await p.get_by_role("button", name="Search").click()
    await expect(p.get_by_text("21 members")).to_be_visible()
    rows = p.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(21)  # the header and a page of 20
    await p.get_by_role("button", name="Next page").click()
    await expect(rows).to_have_count(2)
    await expect(p.get_by_role("link", name="Paige Pager20")).to_be_visible()
    await expect(p.get_by_role("button", name="Next page")).to_be_disabled()
    await p.get_by_role("button", name="Previous page").click()
    await expect(p.get_by_role("link", name="Paige Pager00")).to_be_visible()


async def test_accept_an_invitation_reads_the_token_from_the_fragment_and_removes_it(page, clinic):
    email = f"{unique('ada')}@{clinic.domain}.test"
    _, token = await invite_user(
        support_cli_actor(clinic.organization.id),
        email,
        Profile(UserType.STAFF, None, License.STAFF, "Ada", "Accept"),
        [clinic.roles["Front desk"]],
    )
    p = page.page
    await p.goto(f"{page.origin}/admin/accept#token={token}")
    await expect(p.get_by_role("heading", name="Accept the invitation")).to_be_visible()
    assert "#" not in p.url and token not in p.url
    await accessible(page)
    await tab_to(p, "First name")
    await p.keyboard.type("Ada")
    await tab_to(p, "Last name")
    await p.keyboard.type("Accept")
    await tab_to(p, "Choose a password")
    await p.keyboard.type(PASSWORD)
    await p.keyboard.press("Enter")
    await expect(p.get_by_text(f"Your account {email} is ready.")).to_be_visible()
    # The same link again (a fresh page): refused, as a message.
    await p.goto("about:blank")
    await p.goto(f"{page.origin}/admin/accept#token={token}")
    await p.get_by_label("First name").fill("Ada")
    await p.get_by_label("Last name").fill("Accept")
    await p.get_by_label("Choose a password").fill(PASSWORD)
    await p.get_by_role("button", name="Accept and create my account").click()
    await expect(p.get_by_role("alert")).to_be_visible()
    assert page.foreign_requests() == []


async def test_front_desk_sees_no_member_editing_nor_unmapped_users(page, clinic):
    email = await new_member(
        clinic, first="Fran", last="Desk", roles=["Front desk"], type=UserType.STAFF, license=License.STAFF
    )
    p = await sign_in(page, email)
    nav = p.get_by_role("navigation", name="Screens")
    await expect(nav.get_by_role("link", name="Members")).to_be_visible()
    await expect(nav.get_by_role("link", name="Unmapped users")).to_have_count(0)
    await expect(p.get_by_role("link", name="Invite a member")).to_have_count(0)
    await p.goto(f"{page.origin}/admin/unmapped")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()
    await accessible(page)


async def test_a_refusal_by_the_server_is_a_message(page, clinic):
    """Permissions taken away while the page is open: the next answer is FORBIDDEN."""
    email = await new_member(
        clinic, first="Bo", last="Billing", roles=["Billing"], type=UserType.STAFF, license=License.STAFF
    )
    p = await sign_in(page, email)
    await expect(p.get_by_role("heading", name="Members")).to_be_visible()
    user_id = (await clinic.owner.gql('{ users(filter: {search: "Bo Billing"}) { edges { node { id email } } } }'))[
        "users"
    ]
    target = next(edge["node"]["id"] for edge in user_id["edges"] if edge["node"]["email"] == email)
    async with in_server(clinic.owner, page.origin) as owner:
        taken = await owner.gql(
            "mutation($i: AssignRolesInput!) { assignRoles(input: $i) { errors { code } } }",
            {"i": {"userId": target, "roleIds": [], "password": PASSWORD}},
        )
    assert taken["assignRoles"]["errors"] == []
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="Roles and permissions").click()
    await expect(p.get_by_text("You do not have permission to see or do this.")).to_be_visible()
    await accessible(page)


async def test_forbidden_and_network_failures_are_messages(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await p.route("**/graphql", lambda route: route.abort())
    await p.reload()
    await expect(p.get_by_text("The server could not be reached.")).to_be_visible()
    await p.unroute("**/graphql")
    await p.get_by_role("button", name="Try again").click()
    await expect(p.get_by_role("heading", name="Members")).to_be_visible()


async def test_unmapped_banner_and_submit_and_next_walk_the_worklist(page, client):
    clinic = await make_clinic(client)
    await clinic.support.gql(ORG, {"i": {"contract": "CUSTOM"}})
    for last in ("Alpha", "Bravo"):
        await invite_user(
            support_cli_actor(clinic.organization.id),
            f"{unique('u')}@{clinic.domain}.test",
            Profile(UserType.PRACTITIONER, Classification.STANDARD, None, "Una", f"Unmapped{last}"),
        )
    await clinic.support.gql(ORG, {"i": {"contract": Contract.STANDARD.value}})
    p = await sign_in(page, clinic.owner.email)
    banner = p.get_by_role("complementary", name="Unmapped users")
    await expect(banner).to_contain_text("2 users have no license yet")
    await shot(p, "unmapped-banner")
    await accessible(page)
    await banner.get_by_role("link", name="Review the unmapped users").click()
    await expect(p.get_by_role("heading", name="Una UnmappedAlpha")).to_be_visible()
    # The refusal: submitting without a license says so beside the field.
    await p.get_by_label("License").select_option(value="")
    await p.get_by_role("button", name="Submit and next").click()
    await expect(p.get_by_text("Choose a license.")).to_be_visible()
    await p.get_by_label("License").select_option(label="CHR Lite")
    await shot(p, "unmapped-worklist")
    await accessible(page)
    await p.get_by_role("button", name="Submit and next").click()
    await expect(p.get_by_role("heading", name="Una UnmappedBravo")).to_be_visible()
    # The last one by keyboard alone.
    await tab_to(p, "License")
    await p.keyboard.press("ArrowDown")
    await tab_to(p, "Submit and next")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("Every user has a license.")).to_be_visible()


def _start(days: int, hour: int, minute: int = 0) -> str:
    base = (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base.isoformat()


async def _book(clinic: Clinic, dr: str, start: str) -> str:
    pat = await patient(clinic.organization.id)
    result = (
        await clinic.vendor.gql(
            BOOK, {"i": {"practitionerId": dr, "patientId": pat, "start": start, "durationMinutes": 30}}
        )
    )["bookAppointment"]
    assert result["errors"] == [], result
    return result["appointment"]["id"]


async def _practitioner(clinic: Clinic, first: str, last: str) -> str:
    user, token = await invite_user(
        support_cli_actor(clinic.organization.id),
        f"{unique(first.lower())}@{clinic.domain}.test",
        Profile(UserType.PRACTITIONER, Classification.STANDARD, License.CHR_PLUS, first, last),
    )
    await accept_invitation(token, PASSWORD, first, last)
    return gid(user)


async def test_deactivate_with_a_clashing_move_then_cancel_confirm_and_read_the_report(page, clinic):
    leaving = await _practitioner(clinic, "Lee", "Leaving")
    receiving = await _practitioner(clinic, "Rae", "Receiving")
    await _book(clinic, leaving, _start(3, 15, 0))
    await _book(clinic, receiving, _start(3, 15, 15))
    actor = support_cli_actor(clinic.organization.id)
    pat = await patient(clinic.organization.id)
    await create_questionnaire(
        actor,
        kind=QuestionnaireKind.RECURRING,
        title="BP diary",
        practitioner_id=await key_of(leaving),
        patient_id=await key_of(pat),
    )
    await create_inbox_message(actor, owner_id=await key_of(leaving), subject="Lab result", body="Normal.")
    p = await sign_in(page, clinic.owner.email)
    await p.goto(f"{page.origin}/admin/members/{leaving}")
    await p.get_by_role("link", name="Deactivate…").click()
    await expect(p.get_by_role("heading", name="Deactivate Lee Leaving")).to_be_visible()
    await accessible(page)
    await p.get_by_label("What happens to the future appointments").select_option(
        label="Move them to another practitioner"
    )
    await p.get_by_label("Practitioner receiving the future appointments").select_option(label="Rae Receiving")
    await p.get_by_label("Your password, to confirm").fill(PASSWORD)
    await p.get_by_role("button", name="Deactivate Lee Leaving").click()
    conflict = p.get_by_role("group", name=re.compile("Future appointments")).get_by_role("alert")
    await expect(conflict).to_contain_text("booked")
    await shot(p, "deactivation-conflict")
    await accessible(page)
    # Cancel them instead and forward the inbox, by keyboard: the choices, the password, Enter.
    select = p.get_by_label("What happens to the future appointments")
    await select.focus()
    await p.keyboard.press("ArrowUp")
    await expect(select).to_have_value("CANCEL")
    await tab_to(p, "Forward the inbox to")
    await p.get_by_label("Forward the inbox to").select_option(label="Rae Receiving")
    await tab_to(p, "Your password, to confirm")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name="Lee Leaving is deactivated")).to_be_visible()
    await expect(p.get_by_text("Appointments cancelled: 1")).to_be_visible()
    await expect(p.get_by_text("Inbox messages forwarded: 1")).to_be_visible()
    await shot(p, "deactivation-report")
    await accessible(page)
    # The handover report, reached by keyboard alone.
    await tab_to(p, "Handover report")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name="Handover report")).to_be_visible()
    await expect(p.get_by_role("cell", name="Cancelled").first).to_be_visible()
    await accessible(page)
    await p.get_by_role("link", name="Back to the member").click()
    await p.get_by_role("button", name="Reactivate").click()
    await expect(p.get_by_text("The member is active again.")).to_be_visible()


async def test_roles_need_the_password_to_change_permissions(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="Roles and permissions").click()
    await expect(p.get_by_role("heading", name="Roles and permissions", level=1)).to_be_visible()
    name = unique("Nurses")
    await p.get_by_label("Role name").fill(name)
    await p.get_by_role("group", name="Permissions of the new role").get_by_label("View users").check()
    await p.get_by_role("button", name="Create the role").click()
    await expect(p.get_by_text(f"The role {name} is created.")).to_be_visible()
    await shot(p, "roles")
    await accessible(page)
    # By keyboard: edit, tick a permission, a wrong password (refused beside the field), then the right one.
    await tab_to(p, f"Edit {name}")
    await p.keyboard.press("Enter")
    await tab_to(p, "Manage patients")
    await p.keyboard.press("Space")
    await tab_to(p, "Your password, to confirm")
    await p.keyboard.type("wrong password entirely")
    await p.keyboard.press("Enter")
    await expect(p.get_by_label("Your password, to confirm")).to_have_attribute("aria-invalid", "true")
    await p.get_by_label("Your password, to confirm").fill(PASSWORD)
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The role is saved.")).to_be_visible()
    await expect(p.get_by_role("row", name=re.compile(name))).to_contain_text("Manage patients")


async def test_the_schema_explorer_and_graphql_in_a_browser_show_the_bundled_graphiql(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    # Reached by keyboard alone.
    await tab_to(p, "Schema explorer")
    await p.keyboard.press("Enter")
    await expect(p.locator(".graphiql-container")).to_be_visible()
    await expect(p.locator(".graphiql-container .monaco-editor").first).to_be_visible()
    await shot(p, "schema-explorer")
    await p.goto(f"{page.origin}/graphql")
    await expect(p.locator(".graphiql-container .monaco-editor").first).to_be_visible()
    assert page.foreign_requests() == []
    assert page.policy_violations() == []
