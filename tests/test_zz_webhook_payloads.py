"""No webhook payload carries PHI. Runs late (zz): it scans every payload the suite's
webhook tests produced (the outbox of the test database, and every body a receiver got)
for the values of the patient and user fields that identify or describe a person, and of
the identifiers, questionnaires, inbox messages and cancellation reasons."""

from __future__ import annotations

import json
import re
from typing import Any

from chrgraph.audit.webhooks import WebhookEventType
from chrgraph.db.models import Appointment, Patient, PatientIdentifier, User, WebhookEvent
from tests.test_webhooks import register, subscribe
from tests.webhook_receiver import ALL_PAYLOADS

PATIENT_FIELDS = ("first_name", "last_name", "date_of_birth", "email", "phone", "health_card_number")
USER_FIELDS = (
    "email",
    "login_email",
    "first_name",
    "last_name",
    "display_name",
    "title",
    "position",
    "billing_number",
    "expected_end_of_training",
    "locum_start",
    "locum_end",
)
# Global ids are base64: a short name can turn up inside one by chance, so ids are taken
# out before the scan (they are checked to be ids of our records by the payload builder).
ID_KEYS = ("id", "organizationId")
# The names of the changed fields are the schema's own words (checked below to be
# identifiers), not values: a person's value may happen to spell one ("Position", "status").
NAME_KEYS = ("changedFields",)
FIELD_NAME = re.compile(r"^[a-z][A-Za-z0-9]{0,63}$")
# The envelope (type, id, occurredAt, organizationId) is the server's own words, checked by
# shape; the scan reads `data`. A person's date (a locum start of today) is a substring of
# today's timestamp without the payload saying anything about them.
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        skipped = (*ID_KEYS, *NAME_KEYS)
        return [leaf for k, v in value.items() if not (k in skipped or k.endswith("Id")) for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [str(value)]


async def _personal_values() -> set[str]:
    values: set[str] = set()
    for fields, model in ((PATIENT_FIELDS, Patient), (USER_FIELDS, User)):
        for row in await model.all().values(*fields):
            values.update(str(v) for v in row.values() if v not in (None, ""))
    values.update(v for v in await PatientIdentifier.all().values_list("value", flat=True) if v)
    values.update(v for v in await Appointment.all().values_list("cancel_reason", flat=True) if v)
    return values


async def test_no_webhook_payload_of_the_suite_carries_personal_data(vendor):
    # At least one payload of every kind this file can make, whatever ran before it.
    await subscribe(vendor, "http://127.0.0.1:9/never", [e.value for e in WebhookEventType])
    await register(vendor, email="scan@patients.test", phone="+16135550199", healthCardNumber="1234567890")

    payloads = [json.dumps(e) for e in await WebhookEvent.all().values_list("payload", flat=True)]
    payloads += [body.decode() for body in ALL_PAYLOADS]
    assert payloads
    values = await _personal_values()
    for text in payloads:
        payload = json.loads(text)
        assert set(payload) == {"type", "id", "occurredAt", "organizationId", "data"}
        assert payload["type"] in {e.value for e in WebhookEventType}, payload
        assert INSTANT.match(payload["occurredAt"]), payload
        assert re.match(r"^msg_[A-Za-z0-9]+$", payload["id"]), payload
        names = payload["data"].get("changedFields", [])
        assert all(isinstance(n, str) and FIELD_NAME.match(n) for n in names), payload
        leaves = _leaves(payload["data"])
        for value in values:
            hit = value in leaves or (len(value) >= 6 and any(value in leaf for leaf in leaves))
            assert not hit, f"a webhook payload carries a personal value: {payload}"
