"""The support account renames an organization's domain (its unique slug) with
updateOrganization, as `chrgraph org set --new-domain` does: checked, unique, audited."""

from __future__ import annotations

from chrgraph.db.models import AuditEvent, Organization
from tests.accounts import make_clinic
from tests.helpers import unique

UPDATE = """mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
  organization { domain } errors { code field } } }"""


async def test_support_renames_the_domain_and_a_taken_or_malformed_one_changes_nothing(client):
    clinic, other = await make_clinic(client), await make_clinic(client)
    before = clinic.organization.domain

    taken = (await clinic.support.gql(UPDATE, {"i": {"domain": other.organization.domain}}))["updateOrganization"]
    assert taken == {"organization": None, "errors": [{"code": "DOMAIN_TAKEN", "field": ["domain"]}]}
    for bad in ("UPPER", "-dash", "a" * 64, "spa ce"):
        refused = (await clinic.support.gql(UPDATE, {"i": {"domain": bad}}))["updateOrganization"]
        assert refused["errors"] == [{"code": "INVALID_INPUT", "field": ["domain"]}], bad
    assert (await Organization.get(id=clinic.organization.id)).domain == before

    new = unique("clinic").lower()
    renamed = (await clinic.support.gql(UPDATE, {"i": {"domain": new}}))["updateOrganization"]
    assert renamed == {"organization": {"domain": new}, "errors": []}
    event = await AuditEvent.filter(organization_id=clinic.organization.id, action="ORGANIZATION_UPDATED").first()
    assert event is not None and event.changes == {"domain": {"before": before, "after": new}}
    # Only the support account changes the organization's settings.
    answer = (await clinic.owner.post(UPDATE, {"i": {"domain": unique("mine").lower()}})).json()
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
