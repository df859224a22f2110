"""More screens of the admin client in a real browser against a real server process:
licenses and billing, the patient portal settings, patients, the audit log, API consumers
and API logs. For each: its main path, its main refusal, a keyboard-only run, axe-core
and a picture for the admin guide (test_admin_browser.py has the first screens)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.async_api import expect

from chrgraph.db.models import Classification, License, UserType
from tests.browser.helpers import accessible, new_member, shot, sign_in, tab_to
from tests.helpers import public_pem, rsa_key, unique
from tests.scheduling_helpers import patient

pytestmark = pytest.mark.browser


async def sign_out(page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def _nav(p):
    return p.get_by_role("navigation", name="Screens")


async def test_a_practitioner_requests_an_upgrade_by_keyboard_and_the_owner_approves_it(page, clinic):
    email = await new_member(
        clinic,
        first="Val",
        last=unique("Virtual"),
        roles=["Practitioner"],
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_LITE,
    )
    p = await sign_in(page, email)
    # The refusal: no billing, no upgrade requests to decide for a practitioner.
    await expect(_nav(p).get_by_role("link", name="Billing")).to_have_count(0)
    await p.goto(f"{page.origin}/admin/billing")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()
    await _nav(p).get_by_role("link", name="Licenses").click()
    await expect(p.get_by_text("Virtual care is not included in your license, CHR Lite.")).to_be_visible()
    await expect(p.get_by_role("heading", name="Upgrade requests")).to_have_count(0)
    await expect(p.get_by_role("button", name=re.compile("Upgrade my license"))).to_have_count(0)
    await accessible(page)
    await tab_to(p, "Why you need it")
    await p.keyboard.type("Video visits from next week")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("Your request for CHR Lite + VV is sent to the administrators.")).to_be_visible()
    await sign_out(p)
    await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="Licenses").click()
    row = p.get_by_role("row", name=re.compile("Val Virtual"))
    await expect(row).to_contain_text("Video visits from next week")
    await shot(p, "licenses")
    await accessible(page)
    await row.get_by_role("button", name=re.compile("^Approve")).click()
    await expect(p.get_by_text("The request is approved: the license is changed.")).to_be_visible()
    await expect(p.get_by_role("row", name=re.compile("Val Virtual"))).to_have_count(0)


async def test_the_billing_statement_with_its_forecast_downloads_as_csv(page, clinic):
    await new_member(
        clinic, first="Bill", last="Able", roles=["Front desk"], type=UserType.STAFF, license=License.STAFF
    )
    p = await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="Billing").click()
    await expect(p.get_by_role("heading", name=re.compile("^Statement for"))).to_be_visible()
    await expect(p.get_by_role("heading", name=re.compile("^Forecast for"))).to_be_visible()
    await shot(p, "billing")
    await accessible(page)
    # By keyboard: the download button.
    await tab_to(p, "Download as CSV")
    async with p.expect_download() as waiting:
        await p.keyboard.press("Enter")
    download = await waiting.value
    assert re.fullmatch(r"billing-\d{4}-\d{2}\.csv", download.suggested_filename)
    text = (await download.path()).read_text()
    assert text.startswith("month,license,billed,count,user,email")
    # Without a month there is no statement, and the field says why.
    await p.get_by_label("Month").fill("")
    await expect(p.get_by_label("Month")).to_have_attribute("aria-invalid", "true")
    await expect(p.get_by_role("button", name="Download as CSV")).to_have_count(0)
    assert page.foreign_requests() == []


def _png(width: int = 64, height: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_portal_settings_refuse_billing_without_stripe_then_save_upload_and_enable(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="Patient portal").click()
    await expect(p.get_by_role("heading", name="Patient portal", level=1)).to_be_visible()
    await accessible(page)
    # The refusal: billing in the portal needs Stripe, said beside the box.
    await p.get_by_label("Billing in the portal").check()
    await p.get_by_role("button", name="Save the portal settings").click()
    await expect(p.get_by_label("Billing in the portal")).to_have_attribute("aria-invalid", "true")
    await p.get_by_label("Billing in the portal").uncheck()
    # By keyboard: reach the portal at all, 30 minutes for codes, save.
    await tab_to(p, "Patients can reach the portal")
    await p.keyboard.press("Space")
    await p.get_by_label("One-time code expires after").select_option(label="30 minutes")
    await tab_to(p, "Save the portal settings")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("The portal settings are saved.")).to_be_visible()
    await expect(p.get_by_label("Patients can reach the portal")).to_be_checked()
    # The background image: upload, preview, remove.
    await p.get_by_label(re.compile("^Image file")).set_input_files(
        files=[{"name": "clinic.png", "mimeType": "image/png", "buffer": _png()}]
    )
    await p.get_by_role("button", name="Upload the image").click()
    await expect(p.get_by_role("img", name="The portal's background image")).to_be_visible()
    await expect(p.get_by_text("64 × 40 pixels")).to_be_visible()
    await p.get_by_role("button", name="Enable the portal").click()
    await expect(p.get_by_text("The portal is enabled.", exact=True)).to_be_visible()
    await shot(p, "portal")
    await accessible(page)
    await p.get_by_role("button", name="Remove the background image").click()
    await expect(p.get_by_text("No background image.")).to_be_visible()


async def test_an_administrator_manages_portal_settings_but_cannot_switch_the_portal(page, clinic):
    email = await new_member(
        clinic, first="Ada", last="Admin", roles=["Administrator"], type=UserType.STAFF, license=License.STAFF
    )
    p = await sign_in(page, email)
    await _nav(p).get_by_role("link", name="Patient portal").click()
    await expect(p.get_by_role("button", name="Save the portal settings")).to_be_visible()
    await expect(p.get_by_role("button", name=re.compile("(Enable|Disable) the portal"))).to_have_count(0)
    # The owner and support screens stay hidden too.
    await expect(_nav(p).get_by_role("link", name="API consumers")).to_have_count(0)
    await expect(_nav(p).get_by_role("link", name="API logs")).to_have_count(0)
    await p.goto(f"{page.origin}/admin/api-logs")
    await expect(p.get_by_text("You do not have permission to see this page.")).to_be_visible()


async def test_front_desk_registers_a_patient_by_keyboard_then_edits_and_finds_it(page, clinic):
    email = await new_member(
        clinic, first="Fay", last="Front", roles=["Front desk"], type=UserType.STAFF, license=License.STAFF
    )
    card = unique("HC")[:14]
    await patient(clinic.organization.id, first_name="Existing", last_name="Holder", health_card_number=card)
    p = await sign_in(page, email)
    await expect(_nav(p).get_by_role("link", name="Audit log")).to_have_count(0)
    await _nav(p).get_by_role("link", name="Patients").click()
    await expect(p.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    await accessible(page)
    await tab_to(p, "Register a patient")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("heading", name="Register a patient")).to_be_visible()
    await tab_to(p, "First name")
    await p.keyboard.type("Pia")
    await tab_to(p, "Last name")
    await p.keyboard.type("Keyboard")
    await tab_to(p, "Date of birth")
    await p.keyboard.type("03041990")
    await tab_to(p, "Health card number")
    await p.keyboard.type(card)
    await p.keyboard.press("Enter")
    # The refusal: the health card belongs to another patient, said beside the field.
    field = p.get_by_label("Health card number")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(p.get_by_role("link", name="Open the patient who has this health card")).to_be_visible()
    await shot(p, "patient-error")
    await accessible(page)
    await field.fill("")
    await field.press("Enter")
    await expect(p.get_by_role("heading", name="Pia Keyboard")).to_be_visible()
    await p.get_by_label("Phone").fill("+1 416 555 0100")
    await p.get_by_role("button", name="Save the patient").click()
    await expect(p.get_by_text("The patient is saved.")).to_be_visible()
    await p.get_by_role("button", name="Give portal access").click()
    await expect(p.get_by_text("Portal access is given.")).to_be_visible()
    await expect(p.get_by_role("button", name="Remove portal access")).to_be_visible()
    await shot(p, "patient")
    await p.get_by_role("link", name="Back to the patients").click()
    await p.get_by_label("Search names").fill("keyboard")
    await p.get_by_role("button", name="Find").click()
    row = p.get_by_role("row", name=re.compile("Pia Keyboard"))
    await expect(row).to_contain_text("Yes")
    await shot(p, "patients")
    await accessible(page)


async def test_the_audit_log_filters_by_action_and_follows_a_target(page, clinic):
    pid = await patient(clinic.organization.id, first_name="Audra", last_name=unique("Trail"))
    p = await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="Audit log").click()
    await expect(p.get_by_role("heading", name="Audit log")).to_be_visible()
    await accessible(page)
    # By keyboard: the action filter, then Filter.
    await tab_to(p, "Action")
    await p.get_by_label("Action").select_option(value="PATIENT_REGISTERED")
    await tab_to(p, "Filter")
    await p.keyboard.press("Enter")
    await expect(p.get_by_role("status").filter(has_text=re.compile(r"^\d+ events?$"))).to_be_visible()
    follow = p.get_by_role("button", name=re.compile(f"^Follow Patient {re.escape(pid)}"))
    await follow.focus()
    await p.keyboard.press("Enter")
    await expect(p.get_by_label("Target id")).to_have_value(pid)
    target = p.get_by_role("region", name="Followed target")
    await expect(target.get_by_role("link", name=re.compile("Patient Audra Trail"))).to_be_visible()
    await shot(p, "audit")
    await accessible(page)
    await target.get_by_role("link").click()
    await expect(p.get_by_role("heading", name=re.compile("Audra Trail"))).to_be_visible()


async def test_support_creates_a_consumer_from_a_key_file_adds_and_revokes_a_key_and_deactivates(page, clinic):
    p = await sign_in(page, clinic.support.email)
    await _nav(p).get_by_role("link", name="API consumers").click()
    await expect(p.get_by_role("heading", name="API consumers", level=1)).to_be_visible()
    await accessible(page)
    name = unique("Lab feed")
    # The refusal: a file that holds no public key, said beside the file control.
    await p.get_by_label("Name", exact=True).fill(name)
    await p.get_by_label("Its public key file (PEM)").set_input_files(
        files=[{"name": "key.pem", "mimeType": "text/plain", "buffer": b"not a key"}]
    )
    await p.get_by_role("button", name="Create the API consumer").click()
    await expect(p.get_by_label("Its public key file (PEM)")).to_have_attribute("aria-invalid", "true")
    # By keyboard, with the real key file chosen.
    await p.get_by_label("Its public key file (PEM)").set_input_files(
        files=[{"name": "key.pem", "mimeType": "text/plain", "buffer": public_pem(rsa_key(0)).encode()}]
    )
    await tab_to(p, "First key id")
    await p.keyboard.type("first")
    await tab_to(p, "Create the API consumer")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text(f"The API consumer {name} is created.")).to_be_visible()
    card = p.get_by_role("article", name=name)
    await card.get_by_role("button", name=f"Add a key to {name}").click()
    await card.get_by_label("Key id (kid)").fill("second")
    await card.get_by_label("Public key file (PEM)").set_input_files(
        files=[{"name": "key2.pem", "mimeType": "text/plain", "buffer": public_pem(rsa_key(1)).encode()}]
    )
    await card.get_by_role("button", name="Add the key").click()
    await expect(p.get_by_text("The key second is added.")).to_be_visible()
    await card.get_by_role("button", name="Revoke key first").click()
    await expect(p.get_by_text("The key first is revoked.")).to_be_visible()
    await shot(p, "api-consumers")
    await accessible(page)
    await card.get_by_role("button", name=f"Deactivate {name}").click()
    await expect(p.get_by_role("heading", name=f"{name} (deactivated)")).to_be_visible()


async def test_the_owner_reads_api_logs_with_content_and_support_without(page, clinic):
    await clinic.vendor.gql("query VendorProbe { viewer { kind } }")
    p = await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="API logs").click()
    await expect(p.get_by_role("heading", name="API logs")).to_be_visible()
    # By keyboard: filter on the operation name, open the row's detail.
    await tab_to(p, "Operation name")
    await p.keyboard.type("VendorProbe")
    await p.keyboard.press("Enter")
    await expect(p.get_by_text("1 request", exact=True)).to_be_visible()
    row = p.get_by_role("row", name=re.compile("VendorProbe"))
    await row.get_by_role("button").focus()
    await p.keyboard.press("Enter")
    detail = p.get_by_role("region", name=re.compile("^Request "))
    await expect(detail).to_contain_text("viewer { kind }")
    await shot(p, "api-logs")
    await accessible(page)
    await sign_out(p)
    await sign_in(page, clinic.support.email)
    await _nav(p).get_by_role("link", name="API logs").click()
    await p.get_by_label("Operation name").fill("VendorProbe")
    await p.get_by_role("button", name="Filter").click()
    await p.get_by_role("row", name=re.compile("VendorProbe")).get_by_role("button").click()
    # The refusal: the support account sees the row but not its content.
    await expect(p.get_by_text("The content of a request is shown to the owner only.")).to_be_visible()
    await accessible(page)


async def test_a_member_who_may_change_its_own_type_upgrades_its_own_license(page, clinic):
    email = await new_member(
        clinic,
        first="Uma",
        last="Upgrader",
        roles=["Administrator"],
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_LITE,
    )
    p = await sign_in(page, email)
    await _nav(p).get_by_role("link", name="Licenses").click()
    await p.get_by_label("Feature", exact=True).select_option(label="Labs")
    await expect(p.get_by_text("Labs is not included in your license, CHR Lite.")).to_be_visible()
    await expect(p.get_by_role("button", name=re.compile("^Request an upgrade"))).to_have_count(0)
    await p.get_by_role("button", name="Upgrade my license to CHR Plus").click()
    await expect(p.get_by_text("Your license is now CHR Plus.")).to_be_visible()
    await expect(p.get_by_text("Labs is included in your license, CHR Plus.")).to_be_visible()


async def test_a_network_failure_on_a_new_screen_is_a_message(page, clinic):
    p = await sign_in(page, clinic.owner.email)
    await _nav(p).get_by_role("link", name="Patients").click()
    await expect(p.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    await p.route("**/graphql", lambda route: route.abort())
    await p.get_by_role("button", name="Find").click()
    await expect(p.get_by_text("The server could not be reached.")).to_be_visible()
    await p.unroute("**/graphql")
    await _nav(p).get_by_role("link", name="Audit log").click()
    await expect(p.get_by_role("heading", name="Audit log")).to_be_visible()
