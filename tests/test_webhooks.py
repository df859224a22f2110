"""Event notifications (webhooks): subscriptions, signed deliveries to a real receiver on
127.0.0.1, retries, 410 Gone, rotation, who sees what, redelivery, and the address rules
(tested on the classification itself: no connection leaves 127.0.0.0/8)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from datetime import date, time

import pytest
from standardwebhooks.webhooks import Webhook

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import AuditEvent, User, WebhookDelivery, WebhookEvent
from chrgraph.resolvers.consumers.manage import set_api_consumer_active, set_api_consumer_permissions
from chrgraph.resolvers.deactivation.deactivate_user import deactivate_user
from chrgraph.resolvers.organizations.update_organization import update_organization
from chrgraph.resolvers.patients.patients import register_patient
from chrgraph.resolvers.scheduling.hours import Weekday, set_working_hours
from chrgraph.resolvers.webhooks.addresses import UrlNotAllowed, allowed_hosts, is_public, parse_url
from tests.accounts import make_clinic
from tests.helpers import key_of, make_vendor, unique
from tests.processes import eventually
from tests.scheduling_helpers import at, patient, practitioner
from tests.webhook_receiver import receiver

CREATE = """mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) {
  subscription { id url events active description consumer { issuer } } secret errors { code field message } } }"""
UPDATE = """mutation($i: UpdateWebhookSubscriptionInput!) { updateWebhookSubscription(input: $i) {
  subscription { id url events active disabledReason } errors { code field } } }"""
ROTATE = """mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) {
  subscription { id previousSecretValidUntil } secret errors { code } } }"""
DELETE = """mutation($i: DeleteWebhookSubscriptionInput!) { deleteWebhookSubscription(input: $i) {
  subscription { id } errors { code } } }"""
REDELIVER = """mutation($i: RedeliverWebhookEventInput!) { redeliverWebhookEvent(input: $i) {
  delivery { id status messageId } errors { code field } } }"""
AUDIT = """query($f: AuditEventFilter) { auditEvents(filter: $f, first: 20) { edges { node {
  action changes { field after } } } } }"""
SUBSCRIPTIONS = "{ webhookSubscriptions { id url events active disabledReason } }"
DELIVERIES = """query($f: WebhookDeliveryFilter) { webhookDeliveries(filter: $f, first: 10) { totalCount edges { node {
  id messageId event status attemptCount lastHttpStatus payload subscriptionId
  attempts { httpStatus errorClass durationMs responseExcerpt } } } } }"""
REGISTER = """mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { patient { id } errors { code } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { appointment { id } errors { code } } }"""


async def subscribe(vendor, url: str, events: list[str], **extra) -> dict:
    made = (await vendor.gql(CREATE, {"i": {"url": url, "events": events, **extra}}))["createWebhookSubscription"]
    assert made["errors"] == [], made
    return made


async def register(vendor, **fields) -> str:
    data = {"firstName": "Ada", "lastName": unique("Lovelace"), "dateOfBirth": "1985-12-10", **fields}
    made = (await vendor.gql(REGISTER, {"i": data}))["registerPatient"]
    assert made["errors"] == [], made
    return made["patient"]["id"]


async def deliveries(session, **f) -> list[dict]:
    data = await session.gql(DELIVERIES, {"f": f or None})
    return [e["node"] for e in data["webhookDeliveries"]["edges"]]


async def wait(check, time_limit: float = 30) -> None:
    await eventually(check, time_limit, interval=0.25)


# --- the address rules, on the classification alone ------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),  # 0.0.0.0/8
        ("100.64.0.1", False),  # carrier-grade NAT
        ("100.100.100.200", False),  # Alibaba metadata, in CGNAT
        ("169.254.169.254", False),  # cloud metadata
        ("192.0.0.192", False),  # Oracle metadata
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:169.254.169.254", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("2002:808:808::", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
    ],
)
def test_an_address_is_public_only_when_it_and_what_it_wraps_are_global(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.vendor.example/x",  # http for a host that is not allowed
        "ftp://hooks.vendor.example/x",
        "https://user:pw@hooks.vendor.example/x",
        "https:///nohost",
        "https://hooks.vendor.example/x#frag",
        "https://not a host/x",  # refused as written, never looked up
        "https://under_score.example/x",
    ],
)
def test_a_url_must_be_https_without_credentials(url):
    with pytest.raises(UrlNotAllowed):
        parse_url(url, allowed_hosts("127.0.0.1"))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Bücher.example/x", "xn--bcher-kva.example"),
        ("https://hooks.xn--bcher-kva.example/x", "hooks.xn--bcher-kva.example"),
        ("https://ドメイン.テスト/x", "xn--eckwd4c7c.xn--zckzah"),
        ("https://faß.example/x", "xn--fa-hia.example"),  # IDNA 2008: ß is kept, not "fass"
    ],
)
def test_an_internationalized_host_is_checked_and_named_in_its_ascii_form(url, host):
    assert parse_url(url, allowed_hosts(""))[1] == host


@pytest.mark.parametrize("url", ["https://ü..example/x", "https://a_ü.example/x", "https://\u200b.example/x"])
def test_an_internationalized_host_that_is_not_a_valid_name_is_refused_without_a_lookup(url):
    with pytest.raises(UrlNotAllowed, match="not a valid host name"):
        parse_url(url, allowed_hosts(""))


def test_an_allowed_host_may_be_written_in_either_form():
    assert parse_url("http://bücher.example/in", allowed_hosts("xn--bcher-kva.example"))[0] == "http"
    assert parse_url("http://xn--bcher-kva.example/in", allowed_hosts("Bücher.example,not..valid"))[0] == "http"


def test_an_allowed_host_may_use_http():
    assert parse_url("http://127.0.0.1:8080/in?x=1", allowed_hosts("127.0.0.1")) == (
        "http",
        "127.0.0.1",
        8080,
        "/in?x=1",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://127.0.0.2/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:7f00:1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/hook",
        "https://0.0.0.0/hook",
        "http://hooks.vendor.example/hook",
    ],
)
async def test_creation_refuses_a_url_that_is_not_public(vendor, url):
    # IP literals and http are refused before any lookup: nothing leaves this machine.
    made = (await vendor.gql(CREATE, {"i": {"url": url, "events": ["PATIENT_REGISTERED"]}}))[
        "createWebhookSubscription"
    ]
    assert made["subscription"] is None and made["secret"] is None
    assert [(e["code"], e["field"]) for e in made["errors"]] == [("WEBHOOK_URL_NOT_ALLOWED", ["url"])]


# --- subscribing and receiving ----------------------------------------------------------


async def test_a_subscriber_receives_signed_events_it_can_verify_with_the_standard_library(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        made = await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED", "APPOINTMENT_BOOKED"], description="EMR sync")
        secret = made["secret"]
        assert secret.startswith("whsec_") and made["subscription"]["active"] is True
        assert made["subscription"]["consumer"]["issuer"] == vendor.consumer.issuer

        patient_id = await register(vendor, email="ada@patients.test", phone="+16135550101")
        dr = await practitioner(vendor.organization.id)
        booked = (
            await vendor.gql(
                BOOK, {"i": {"practitionerId": dr, "patientId": patient_id, "start": at(3, 15), "durationMinutes": 30}}
            )
        )["bookAppointment"]

        async def both_arrived() -> bool:
            return len(inbox.requests) >= 2

        await wait(both_arrived, 30)

    by_type = {r.json["type"]: r for r in inbox.requests}
    assert set(by_type) == {"PATIENT_REGISTERED", "APPOINTMENT_BOOKED"}
    for request in inbox.requests:
        # What a receiver does: verify with the standardwebhooks library and its secret.
        verified = Webhook(secret).verify(request.body, request.headers)
        assert verified == request.json
        assert request.headers["webhook-id"] == request.json["id"]
        assert request.headers["content-type"] == "application/json"
    registered = by_type["PATIENT_REGISTERED"].json
    assert registered["data"]["patientId"] == patient_id
    assert "lastName" in registered["data"]["changedFields"]
    assert set(registered) == {"type", "id", "occurredAt", "organizationId", "data"}
    booking = by_type["APPOINTMENT_BOOKED"].json["data"]
    assert booking["appointmentId"] == booked["appointment"]["id"]
    assert booking["practitionerId"] == dr and booking["patientId"] == patient_id

    async def recorded() -> bool:
        return {d["status"] for d in await deliveries(vendor)} == {"DELIVERED"}

    await wait(recorded, 30)
    shown = await deliveries(vendor)
    assert all(d["attempts"][0]["httpStatus"] == 200 for d in shown)


async def test_a_forged_or_altered_delivery_does_not_verify(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        made = await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)

        async def arrived() -> bool:
            return len(inbox.requests) >= 1

        await wait(arrived, 30)
    request = inbox.requests[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(made["secret"]).verify(request.body.replace(b"PATIENT", b"PATIENX"), request.headers)
    other = (await subscribe(vendor, inbox.url, ["PATIENT_UPDATED"]))["secret"]
    with pytest.raises(Exception, match="signature"):
        Webhook(other).verify(request.body, request.headers)


async def test_a_failed_delivery_is_retried_on_the_schedule_with_the_same_id(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        inbox.statuses = [500, 503]
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)

        async def delivered() -> bool:
            return any(d["status"] == "DELIVERED" for d in await deliveries(vendor))

        await wait(delivered, 30)
    assert len(inbox.requests) == 3 and len(set(inbox.ids())) == 1
    (shown,) = await deliveries(vendor)
    assert shown["attemptCount"] == 3
    assert [a["httpStatus"] for a in shown["attempts"]] == [500, 503, 200]
    assert all(len(a["responseExcerpt"].encode()) <= 1024 for a in shown["attempts"][:2])


async def test_a_delivery_fails_after_the_last_retry(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        inbox.statuses = [500] * 10
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)

        async def failed() -> bool:
            return any(d["status"] == "FAILED" for d in await deliveries(vendor, status="FAILED"))

        await wait(failed, 60)
    (shown,) = await deliveries(vendor)
    assert shown["attemptCount"] == 6  # the first attempt and five retries
    assert len(inbox.requests) == 6


async def test_gone_disables_the_subscription_and_is_never_retried(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        inbox.statuses = [410]
        made = await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)

        async def disabled() -> bool:
            return (await vendor.gql(SUBSCRIPTIONS))["webhookSubscriptions"][0]["active"] is False

        await wait(disabled, 30)
        (subscription,) = (await vendor.gql(SUBSCRIPTIONS))["webhookSubscriptions"]
        assert "410" in subscription["disabledReason"]
        (shown,) = await deliveries(vendor)
        assert shown["status"] == "FAILED" and shown["attemptCount"] == 1
        # The server's own change is audited like any other, by the system.
        [event] = await AuditEvent.filter(
            organization_id=vendor.organization.id, actor_kind="SYSTEM", target_id=made["subscription"]["id"]
        )
        assert event.action == "WEBHOOK_SUBSCRIPTION_UPDATED"
        assert event.changes["active"] == {"before": True, "after": False}
        await register(vendor)  # nothing is sent to a disabled subscription
        assert len(inbox.requests) == 1
        again = (await vendor.gql(UPDATE, {"i": {"subscriptionId": made["subscription"]["id"], "active": True}}))[
            "updateWebhookSubscription"
        ]
        assert again["subscription"]["active"] is True and again["subscription"]["disabledReason"] is None


async def test_after_a_rotation_both_secrets_sign_for_a_day(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        made = await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        rotated = (await vendor.gql(ROTATE, {"i": {"subscriptionId": made["subscription"]["id"]}}))[
            "rotateWebhookSecret"
        ]
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
        assert rotated["subscription"]["previousSecretValidUntil"] is not None
        await register(vendor)

        async def arrived() -> bool:
            return len(inbox.requests) >= 1

        await wait(arrived, 30)
    request = inbox.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (made["secret"], rotated["secret"]):
        Webhook(secret).verify(request.body, request.headers)


async def test_the_secret_is_kept_encrypted(client):
    vendor = await make_vendor(client)
    made = await subscribe(vendor, "http://127.0.0.1:9/never", ["USER_UPDATED"])
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict('SELECT * FROM "webhook_subscription"')
    assert made["secret"] not in json.dumps(rows, default=str)
    assert made["secret"].removeprefix("whsec_") not in json.dumps(rows, default=str)


async def test_update_checks_the_url_and_events_and_delete_stops_sending(client):
    vendor = await make_vendor(client)
    made = await subscribe(vendor, "http://127.0.0.1:9/a", ["USER_UPDATED"])
    sid = made["subscription"]["id"]
    refused = (await vendor.gql(UPDATE, {"i": {"subscriptionId": sid, "url": "https://192.168.0.10/x"}}))[
        "updateWebhookSubscription"
    ]
    assert [e["code"] for e in refused["errors"]] == ["WEBHOOK_URL_NOT_ALLOWED"]
    empty = (await vendor.gql(UPDATE, {"i": {"subscriptionId": sid, "events": []}}))["updateWebhookSubscription"]
    assert [e["code"] for e in empty["errors"]] == ["INVALID_INPUT"]
    changed = (await vendor.gql(UPDATE, {"i": {"subscriptionId": sid, "events": ["PATIENT_UPDATED", "USER_UPDATED"]}}))[
        "updateWebhookSubscription"
    ]
    assert changed["subscription"]["events"] == ["PATIENT_UPDATED", "USER_UPDATED"]
    deleted = (await vendor.gql(DELETE, {"i": {"subscriptionId": sid}}))["deleteWebhookSubscription"]
    assert deleted["errors"] == []
    assert (await vendor.gql(SUBSCRIPTIONS))["webhookSubscriptions"] == []
    before = await WebhookEvent.filter(organization_id=vendor.organization.id).count()
    await register(vendor)
    assert await WebhookEvent.filter(organization_id=vendor.organization.id).count() == before
    gone = (await vendor.gql(DELETE, {"i": {"subscriptionId": sid}}))["deleteWebhookSubscription"]
    assert [e["code"] for e in gone["errors"]] == ["NOT_FOUND"]


# --- who hears of what ------------------------------------------------------------------


async def test_a_narrowed_consumer_hears_only_of_what_it_may_read(client):
    vendor = await make_vendor(client)
    support = support_cli_actor(vendor.organization.id)
    with receiver() as inbox:
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED", "SCHEDULE_CHANGED"])
        # Support takes patients away from it: it may no longer read them, nor hear of them.
        await set_api_consumer_permissions(support, vendor.consumer.issuer, ["MANAGE_SCHEDULE"])
        await register_patient(
            support,
            {"first_name": "Ada", "last_name": unique("Quiet"), "date_of_birth": date(1985, 12, 10)},
            [],
        )
        dr = await practitioner(vendor.organization.id)
        week = [{"weekday": Weekday.MONDAY, "start": time(9), "end": time(17)}]
        await set_working_hours(support, await key_of(dr), week)

        async def told() -> bool:
            return len(inbox.requests) >= 1

        await wait(told, 30)
    assert [r.json["type"] for r in inbox.requests] == ["SCHEDULE_CHANGED"]
    assert await WebhookEvent.filter(organization_id=vendor.organization.id, type="PATIENT_REGISTERED").count() == 0


async def test_a_deactivated_consumer_or_an_api_switched_off_hears_of_nothing(client):
    vendor = await make_vendor(client)
    support = support_cli_actor(vendor.organization.id)
    with receiver() as inbox:
        inbox.hold = True  # the first delivery waits at the receiver
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)
        await asyncio.to_thread(inbox.arrived.wait, 30)
        await register(vendor)  # its delivery is pending when the consumer is deactivated
        await set_api_consumer_active(support, vendor.consumer.issuer, False)
        inbox.release.set()
        await register_patient(
            support, {"first_name": "Bo", "last_name": unique("Late"), "date_of_birth": date(1990, 1, 2)}, []
        )

        async def settled() -> bool:
            rows = await WebhookDelivery.filter(subscription__consumer_id=vendor.consumer.id)
            return len(rows) == 2 and {r.status for r in rows} == {"DELIVERED", "CANCELLED"}

        await wait(settled, 30)
        assert len(inbox.requests) == 1  # the pending one was cancelled, the last never written
        await set_api_consumer_active(support, vendor.consumer.issuer, True)
        await update_organization(support, enterprise_api_enabled=False)
        await register_patient(
            support, {"first_name": "Cy", "last_name": unique("Off"), "date_of_birth": date(1991, 1, 2)}, []
        )
    assert await WebhookDelivery.filter(subscription__consumer_id=vendor.consumer.id).count() == 2


# --- who sees what ----------------------------------------------------------------------


async def test_a_consumer_sees_and_manages_only_its_own_and_owner_and_support_see_all(client):
    clinic = await make_clinic(client)
    other = await make_vendor(client)
    # A second consumer of the same clinic.
    from chrgraph.resolvers.consumers.manage import create_api_consumer
    from tests.helpers import Vendor, public_pem, rsa_key

    key = rsa_key(1)
    second = Vendor(
        clinic.organization,
        await create_api_consumer(
            support_cli_actor(clinic.organization.id), name=unique("second"), public_key=public_pem(key), kid="k1"
        ),
        key,
        client,
    )
    with receiver() as inbox:
        mine = await subscribe(clinic.vendor, inbox.url, ["PATIENT_REGISTERED"])
        theirs = await subscribe(second, inbox.url, ["PATIENT_REGISTERED"])
        await subscribe(other, inbox.url, ["PATIENT_REGISTERED"])
        await register(clinic.vendor)

        async def two() -> bool:
            return len(inbox.requests) >= 2

        await wait(two, 30)

    own = (await clinic.vendor.gql(SUBSCRIPTIONS))["webhookSubscriptions"]
    assert [s["id"] for s in own] == [mine["subscription"]["id"]]
    assert len(await deliveries(clinic.vendor)) == 1
    for session in (clinic.owner, clinic.support):
        every = (await session.gql(SUBSCRIPTIONS))["webhookSubscriptions"]
        assert {s["id"] for s in every} == {mine["subscription"]["id"], theirs["subscription"]["id"]}
        assert len(await deliveries(session)) == 2

    # Another consumer's subscription is NOT_FOUND, never FORBIDDEN.
    touched = (await clinic.vendor.gql(DELETE, {"i": {"subscriptionId": theirs["subscription"]["id"]}}))[
        "deleteWebhookSubscription"
    ]
    assert [e["code"] for e in touched["errors"]] == ["NOT_FOUND"]
    (their_delivery,) = await deliveries(second)
    refused = (await clinic.vendor.gql(REDELIVER, {"i": {"deliveryId": their_delivery["id"]}}))["redeliverWebhookEvent"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]

    # The owner and support may redeliver any; the message id stays the same.
    for session in (clinic.owner, clinic.support):
        again = (await session.gql(REDELIVER, {"i": {"deliveryId": their_delivery["id"]}}))["redeliverWebhookEvent"]
        assert again["errors"] == [] and again["delivery"]["status"] == "PENDING"
        assert again["delivery"]["messageId"] == their_delivery["messageId"]

    # The audit log: another vendor's subscription shows its field names, never its values
    # (a receiver URL can carry that vendor's token); its own, and to the owner, in full.
    async def subscription_changes(session, subscription_id: str) -> list[dict]:
        found = await session.gql(AUDIT, {"f": {"targetId": subscription_id}})
        [event] = [
            e["node"] for e in found["auditEvents"]["edges"] if e["node"]["action"] == "WEBHOOK_SUBSCRIPTION_CREATED"
        ]
        return event["changes"]

    theirs_seen = await subscription_changes(clinic.vendor, theirs["subscription"]["id"])
    assert {c["field"]: c["after"] for c in theirs_seen}["url"] == "[HIDDEN]"
    assert inbox.url not in json.dumps(theirs_seen)
    assert inbox.url in json.dumps(await subscription_changes(second, theirs["subscription"]["id"]))
    assert inbox.url in json.dumps(await subscription_changes(clinic.vendor, mine["subscription"]["id"]))
    assert inbox.url in json.dumps(await subscription_changes(clinic.owner, theirs["subscription"]["id"]))

    # Sessions manage no subscriptions: that is the consumer's own business.
    response = await clinic.owner.post(CREATE, {"i": {"url": inbox.url, "events": ["PATIENT_REGISTERED"]}})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    member = await clinic.member(permissions_of=["Practitioner"])
    response = await member.post(SUBSCRIPTIONS)
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_redelivery_sends_the_same_webhook_id_again(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await register(vendor)

        async def delivered() -> bool:
            return any(d["status"] == "DELIVERED" for d in await deliveries(vendor))

        await wait(delivered, 30)
        (shown,) = await deliveries(vendor)
        again = (await vendor.gql(REDELIVER, {"i": {"deliveryId": shown["id"]}}))["redeliverWebhookEvent"]
        assert again["errors"] == []

        async def twice() -> bool:
            return len(inbox.requests) >= 2

        await wait(twice, 30)
    assert inbox.ids()[0] == inbox.ids()[1] == shown["messageId"]


async def test_deliveries_filter_by_subscription_event_and_status(client):
    vendor = await make_vendor(client)
    with receiver() as inbox:
        a = await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED", "PATIENT_UPDATED"])
        await register(vendor)

        async def both() -> bool:
            return len(inbox.requests) >= 2

        await wait(both, 30)
    assert len(await deliveries(vendor)) == 2
    assert len(await deliveries(vendor, subscriptionId=a["subscription"]["id"])) == 1
    assert len(await deliveries(vendor, event="PATIENT_UPDATED")) == 0
    assert len(await deliveries(vendor, status="PENDING")) == 0


# --- events from every place that makes the change ---------------------------------------


async def test_a_deactivation_that_cancels_appointments_tells_subscribers_of_each(client):
    from chrgraph.resolvers.deactivation.deactivate_user import Choice, Handover

    vendor = await make_vendor(client)
    org = vendor.organization.id
    dr = await practitioner(org)
    with receiver() as inbox:
        await subscribe(vendor, inbox.url, ["APPOINTMENT_CANCELLED", "USER_DEACTIVATED"])
        booked = []
        for hour in (9, 10):
            made = (
                await vendor.gql(
                    BOOK,
                    {
                        "i": {
                            "practitionerId": dr,
                            "patientId": await patient(org),
                            "start": at(4, hour),
                            "durationMinutes": 30,
                        }
                    },
                )
            )["bookAppointment"]
            booked.append(made["appointment"]["id"])
        user = await User.get(id=await key_of(dr))
        await deactivate_user(
            support_cli_actor(org),
            user.id,
            appointments=Choice(Handover.CANCEL),
            recurring_questionnaires=Choice(),
            sent_questionnaires=Choice(),
            forward_inbox_to_user_id=None,
            lab_integration_successors={},
        )

        async def three() -> bool:
            return len(inbox.requests) >= 3

        await wait(three, 30)
    kinds = sorted(
        (r.json["type"], r.json["data"].get("appointmentId") or r.json["data"].get("userId")) for r in inbox.requests
    )
    assert kinds == sorted(
        [("APPOINTMENT_CANCELLED", booked[0]), ("APPOINTMENT_CANCELLED", booked[1]), ("USER_DEACTIVATED", dr)]
    )


async def test_an_event_nobody_subscribed_to_writes_nothing(client):
    vendor = await make_vendor(client)
    await register(vendor)
    assert await WebhookEvent.filter(organization_id=vendor.organization.id).count() == 0
    assert await WebhookDelivery.filter(organization_id=vendor.organization.id).count() == 0


async def test_a_payload_names_records_by_global_id_and_fields_by_name_only(client):
    vendor = await make_vendor(client)
    await subscribe(vendor, "http://127.0.0.1:9/never", ["PATIENT_REGISTERED", "PATIENT_UPDATED"])
    await register(
        vendor,
        firstName="Zelda",
        lastName="Quixotic-Marsh",
        healthCardNumber="9876543217",
        dateOfBirth=str(date(1971, 3, 4)),
    )
    (event,) = await WebhookEvent.filter(organization_id=vendor.organization.id)
    text = json.dumps(event.payload)
    for value in ("Zelda", "Quixotic", "9876543217", "1971-03-04"):
        assert value not in text
    assert event.payload["data"]["changedFields"] == sorted(event.payload["data"]["changedFields"])


def test_what_a_consumer_needs_to_hear_of_an_event_is_what_it_needs_to_read_its_record():
    from chrgraph.audit.webhooks import READ_PERMISSION, WebhookEventType
    from chrgraph.schema.reads import READ_RULES

    record = {"APPOINTMENT": "Appointment", "PATIENT": "Patient", "USER": "User", "SCHEDULE": "Schedule"}
    assert set(READ_PERMISSION) == set(WebhookEventType)
    for event_type, permission in READ_PERMISSION.items():
        rule = READ_RULES[record[event_type.split("_")[0]]]
        assert isinstance(rule, type) and rule.consumer and rule.permission == permission.value, event_type
