"""The account screens of the admin client in a real browser against a real server
process: signing in with a second factor (a real TOTP code from pyotp, and a recovery
code), a forgotten password reset through the link of a real mail, and My account
(profile, password, second factor, sessions). For each: its main path, its main refusal,
a keyboard-only run, axe-core and a picture for the admin guide."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.async_api import Page, expect

from chrgraph.db.models import License, Organization, User, UserType
from chrgraph.resolvers.users.outbox import deliver_pending
from tests.accounts import PASSWORD, Clinic, forget_token_guesses, make_clinic, session_for
from tests.browser.helpers import Watched, accessible, in_server, new_member, shot, sign_in, tab_to
from tests.helpers import gid
from tests.processes import free_port
from tests.test_invitation_mail import SmtpSink
from tests.test_password_reset import LINK, mail_settings
from tests.test_webhooks import subscribe

pytestmark = pytest.mark.browser

NEW_PASSWORD = "copper kettle under violet rain"


def totp_code(secret: str, steps_back: int = 0) -> str:
    """The authenticator's code now (or `steps_back` 30-second steps ago)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) - timedelta(seconds=30 * steps_back))


async def member(clinic: Clinic, first: str, roles: list[str] | None = None) -> str:
    return await new_member(
        clinic, first=first, last="Account", roles=roles or ["Front desk"], type=UserType.STAFF, license=License.STAFF
    )


async def enrol(p: Page) -> tuple[str, list[str]]:
    """Sets up the second factor on My account; the secret and the recovery codes."""
    section = p.get_by_role("region", name="Second factor")
    await section.get_by_role("button", name="Set up a second factor").click()
    await expect(p.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    await p.get_by_text("Cannot scan? Type the key instead").click()
    secret = (await p.locator("dl.facts dd code").first.inner_text()).strip()
    # A code of the previous step, so that the sign-in's current code is a later step.
    await p.get_by_label("Code from your app").fill(totp_code(secret, steps_back=1))
    await p.get_by_role("button", name="Turn on the second factor").click()
    codes = p.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    return secret, [c.strip() for c in await codes.all_inner_texts()]


async def test_my_account_profile_by_keyboard_a_weak_password_refused_and_sessions(page, clinic):
    email = await member(clinic, "Prue")
    other = await session_for(clinic.client, email)
    p = await sign_in(page, email)
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="My account").click()
    await expect(p.get_by_role("heading", name="My account", level=1)).to_be_visible()
    await accessible(page)
    # By keyboard: the title, saved with Enter.
    await tab_to(p, "Title")
    await p.keyboard.type("Dr.")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("Your profile is saved.")).to_be_visible()
    # The refusal: a weak new password, its advice beside the field.
    await p.get_by_label("Current password").first.fill(PASSWORD)
    await p.get_by_label("New password").fill("password1234")
    await p.get_by_role("button", name="Change my password").click()
    field = p.get_by_label("New password")
    await expect(field).to_have_attribute("aria-invalid", "true")
    described = await field.get_attribute("aria-describedby")
    assert described and await p.locator(f"#{described.split()[-1]}").inner_text()
    # Sessions: this one and the other; end the other.
    sessions = p.get_by_role("region", name="Sessions")
    await expect(sessions.get_by_text("(this session)")).to_be_visible()
    await expect(sessions.get_by_role("button", name=re.compile("^End the session"))).to_have_count(1)
    await shot(p, "my-account")
    await sessions.get_by_role("button", name=re.compile("^End the session")).click()
    await expect(p.get_by_text("The session has ended.")).to_be_visible()
    await expect(sessions.get_by_role("button", name=re.compile("^End the session"))).to_have_count(0)
    async with in_server(other, page.origin) as ended:
        assert (await ended.post("{ viewer { kind } }")).status_code == 401
    # The password, changed for a strong one; this session stays.
    await p.get_by_label("New password").fill(NEW_PASSWORD)
    await p.get_by_role("button", name="Change my password").click()
    await expect(p.get_by_text("Your password is changed; your other sessions have ended.")).to_be_visible()
    await accessible(page)


async def test_second_factor_enrolment_then_sign_in_with_a_code_by_keyboard_and_a_recovery_code(page, clinic):
    email = await member(clinic, "Tess")
    p = await sign_in(page, email)
    await p.goto(f"{page.origin}/admin/account")
    secret, codes = await enrol(p)
    assert all(re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code) for code in codes)
    await shot(p, "recovery-codes")
    await accessible(page)
    await p.get_by_role("button", name="I have saved my recovery codes").click()
    await expect(p.get_by_role("button", name="Turn off the second factor")).to_be_visible()
    await p.get_by_role("button", name="Sign out").click()
    await expect(p.get_by_role("button", name="Sign in")).to_be_visible()
    # The password alone gives no session; a wrong code is refused beside the field.
    await p.get_by_label("Email").fill(email)
    await p.get_by_label("Password").fill(PASSWORD)
    await p.get_by_role("button", name="Sign in").click()
    await expect(p.get_by_role("heading", name="Second factor")).to_be_visible()
    assert await p.evaluate("sessionStorage.getItem('chrgraph.session')") is None
    await p.get_by_label("Code").fill("000000" if totp_code(secret) != "000000" else "111111")
    await p.get_by_role("button", name="Verify").click()
    await expect(p.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    await shot(p, "sign-in-second-factor")
    await accessible(page)
    # By keyboard: the current code, then Enter.
    await tab_to(p, "Code")
    await p.keyboard.type(totp_code(secret))
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("button", name="Sign out")).to_be_visible()
    await p.get_by_role("button", name="Sign out").click()
    await expect(p.get_by_role("button", name="Sign in")).to_be_visible()
    # A recovery code instead of the app's.
    await p.get_by_label("Email").fill(email)
    await p.get_by_label("Password").fill(PASSWORD)
    await p.get_by_role("button", name="Sign in").click()
    await p.get_by_label("Code").fill(codes[0])
    await p.get_by_role("button", name="Verify").click()
    await expect(p.get_by_role("button", name="Sign out")).to_be_visible()
    # Turning it off needs the password and a code.
    await p.goto(f"{page.origin}/admin/account")
    section = p.get_by_role("region", name="Second factor")
    await section.get_by_label("Current password").fill(PASSWORD)
    await section.get_by_label("Code from your app").fill(codes[1])
    await section.get_by_role("button", name="Turn off the second factor").click()
    await expect(p.get_by_role("button", name="Set up a second factor")).to_be_visible()
    assert page.foreign_requests() == []


async def test_forgotten_password_by_keyboard_then_reset_from_the_mailed_link(page, clinic):
    email = await member(clinic, "Rhea")
    await forget_token_guesses()
    p = page.page
    await p.goto(f"{page.origin}/admin/")
    await tab_to(p, "Forgot your password?")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name="Forgotten password")).to_be_visible()
    await accessible(page)
    await tab_to(p, "Email")
    await p.keyboard.type(email)
    await p.keyboard.press("Enter")
    await expect(p.get_by_text(re.compile("a link to choose a new password is on its way"))).to_be_visible()
    await shot(p, "forgotten-password")
    with SmtpSink() as sink:
        assert await deliver_pending(mail_settings(sink.port)) >= 1
        (mail,) = sink.to(email)
    found = LINK.search(mail.text)
    assert found is not None, mail.text
    await p.goto(f"{page.origin}/admin/reset#token={found.group(1)}")
    await expect(p.get_by_role("heading", name="Choose a new password")).to_be_visible()
    # The token left the address bar at once.
    assert "#" not in p.url and found.group(1) not in p.url
    # The refusal: a weak password, the estimator's advice beside the field.
    await p.get_by_label("New password").fill("aaaaaaaaaaaa")
    await p.get_by_role("button", name="Set the new password").click()
    await expect(p.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    await shot(p, "reset-password")
    await accessible(page)
    await p.get_by_label("New password").fill(NEW_PASSWORD)
    await p.get_by_role("button", name="Set the new password").click()
    await expect(p.get_by_text(re.compile("is changed, and every session of the account has ended"))).to_be_visible()
    await p.get_by_role("link", name="Sign in").click()
    await sign_in(page, email, NEW_PASSWORD)


async def test_a_reset_page_without_a_token_says_so(page: Watched):
    await page.page.goto(f"{page.origin}/admin/reset")
    await expect(page.page.get_by_text("This link holds no reset token.", exact=False)).to_be_visible()
    await accessible(page)


ENROL_START = "mutation { startTwoFactorEnrollment { secret errors { code } } }"
ENROL_CONFIRM = """mutation($i: ConfirmTwoFactorEnrollmentInput!) { confirmTwoFactorEnrollment(input: $i) {
  recoveryCodes errors { code } } }"""


async def test_an_administrator_resets_a_lost_second_factor_with_the_password_by_keyboard(page, clinic):
    email = await member(clinic, "Lou")
    lou = await session_for(clinic.client, email)
    secret = (await lou.gql(ENROL_START))["startTwoFactorEnrollment"]["secret"]
    confirmed = await lou.gql(ENROL_CONFIRM, {"i": {"code": totp_code(secret)}})
    assert confirmed["confirmTwoFactorEnrollment"]["errors"] == []
    user = await User.get(email=email)
    p = await sign_in(page, clinic.owner.email)
    await p.goto(f"{page.origin}/admin/members/{gid(user)}")
    section = p.get_by_role("region", name="Second factor")
    await expect(section.get_by_text(re.compile("^On: signing in asks"))).to_be_visible()
    await accessible(page)
    # The refusal: a wrong password, said beside the field; nothing changes.
    await section.get_by_label("Confirm with your password").fill("not my password at all")
    await section.get_by_role("button", name="Reset the second factor").click()
    await expect(section.get_by_label("Confirm with your password")).to_have_attribute("aria-invalid", "true")
    assert (await User.get(email=email)).id == user.id and (await lou.post("{ viewer { kind } }")).status_code == 200
    await shot(p, "member-second-factor")
    # By keyboard: the password, then Enter.
    await section.get_by_label("Confirm with your password").fill("")
    await tab_to(p, "Confirm with your password")
    await p.keyboard.type(PASSWORD)
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The second factor is removed and the member's sessions have ended.")).to_be_visible()
    await expect(section.get_by_text(re.compile("^Off: signing in asks"))).to_be_visible()
    async with in_server(lou, page.origin) as ended:
        assert (await ended.post("{ viewer { kind } }")).status_code == 401
    await accessible(page)


async def test_a_front_desk_member_sees_no_security_policy_and_no_second_factor_reset(page, clinic):
    email = await member(clinic, "Fern")
    p = await sign_in(page, email)
    await expect(p.get_by_role("navigation", name="Screens").get_by_role("link", name="Security policy")).to_have_count(
        0
    )
    await p.goto(f"{page.origin}/admin/security")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()


async def test_the_owner_requires_a_second_factor_by_keyboard_and_is_sent_to_enrol_first(page, client):
    clinic = await make_clinic(client)
    p = await sign_in(page, clinic.owner.email)
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="Security policy").click()
    await expect(p.get_by_role("heading", name="Security policy")).to_be_visible()
    await accessible(page)
    # The refusal: an idle timeout out of range, said beside the field.
    await p.get_by_label("Idle timeout (minutes)").fill("2")
    await p.get_by_role("button", name="Save the security policy").click()
    await expect(p.get_by_label("Idle timeout (minutes)")).to_have_attribute("aria-invalid", "true")
    await p.get_by_label("Idle timeout (minutes)").fill("")
    await shot(p, "security-policy")
    # By keyboard: require a second factor and a 30-minute idle timeout.
    await tab_to(p, "Require a second factor")
    await p.keyboard.press("Space")
    await tab_to(p, "Idle timeout (minutes)")
    await p.keyboard.type("30")
    await p.keyboard.press("Enter")
    # Without a second factor, the owner's own session may now only enrol one.
    await expect(p.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    await expect(p.get_by_role("navigation", name="Screens")).to_have_count(0)
    await shot(p, "enrolment-required")
    await accessible(page)
    await p.get_by_role("button", name="Set up a second factor").click()
    await p.get_by_text("Cannot scan? Type the key instead").click()
    secret = (await p.locator("dl.facts dd code").first.inner_text()).strip()
    await p.get_by_label("Code from your app").fill(totp_code(secret))
    await p.get_by_role("button", name="Turn on the second factor").click()
    await p.get_by_role("button", name="I have saved my recovery codes").click()
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="Security policy").click()
    await expect(p.get_by_label("Require a second factor for every account")).to_be_checked()
    await expect(p.get_by_label("Idle timeout (minutes)")).to_have_value("30")
    organization = await Organization.get(id=clinic.organization.id)
    assert organization.require_two_factor and organization.session_idle_timeout_minutes == 30


async def test_the_owner_follows_webhook_deliveries_and_redelivers_one_by_keyboard(page, clinic):
    # A vendor's subscription to an address on this machine where nothing listens.
    made = await subscribe(clinic.vendor, f"http://127.0.0.1:{free_port()}/hook", ["USER_INVITED"])
    await member(clinic, "Hugo")
    p = await sign_in(page, clinic.owner.email)
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="Webhooks").click()
    await expect(p.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    subscriptions = p.get_by_role("table", name="Webhook subscriptions of every API consumer")
    row = subscriptions.get_by_role("row").filter(has_text=made["subscription"]["url"])
    await expect(row).to_contain_text(clinic.vendor.consumer.name)
    await expect(row).to_contain_text("User invited")
    # Filters: this subscription's USER_INVITED deliveries, the event chosen and the
    # deliveries shown by keyboard alone (a closed select takes the typed option's name).
    await p.get_by_label("Subscription").select_option(value=made["subscription"]["id"])
    await tab_to(p, "Event")
    await p.keyboard.type("User invited")
    await expect(p.get_by_label("Event")).to_have_value("USER_INVITED")
    await tab_to(p, "Show the deliveries")
    await p.keyboard.press("Enter")
    deliveries = p.get_by_role("table", name="Webhook deliveries, newest first")
    await expect(deliveries.get_by_role("row")).to_have_count(2)
    await expect(deliveries).to_contain_text("User invited")
    await p.get_by_label("Event").select_option(label="User activated")
    await p.get_by_role("button", name="Show the deliveries").click()
    await expect(p.get_by_text("No delivery matches.")).to_be_visible()
    await p.get_by_label("Event").select_option(label="Any")
    await p.get_by_role("button", name="Show the deliveries").click()
    await expect(deliveries.get_by_role("row")).to_have_count(2)
    await shot(p, "webhooks")
    await accessible(page)
    # By keyboard: redeliver it.
    await tab_to(p, "Redeliver")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The delivery is queued again, due now, with the same message id.")).to_be_visible()
    assert page.foreign_requests() == []


async def test_an_administrator_sees_no_webhooks(page, clinic):
    email = await member(clinic, "Ada", roles=["Administrator"])
    p = await sign_in(page, email)
    await expect(p.get_by_role("navigation", name="Screens").get_by_role("link", name="Webhooks")).to_have_count(0)
    await p.goto(f"{page.origin}/admin/webhooks")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()


async def test_my_account_says_so_when_the_server_cannot_be_reached(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await p.route("**/graphql", lambda route: route.abort())
    await p.get_by_role("navigation", name="Screens").get_by_role("link", name="My account").click()
    await expect(p.get_by_text("The server could not be reached. Check the connection and try again.")).to_be_visible()
