"""Rules of anonymous requests and HTTP answers that need a mutation."""

from __future__ import annotations

import pytest

from tests.accounts import PASSWORD, make_clinic

LOGIN = 'mutation { login(input: {email: "%s", password: "%s"}) { token errors { code } } }'
LOGOUT = "mutation { logout { errors { code } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


async def test_an_anonymous_login_is_allowed(client, clinic):
    response = await client.post("/graphql", json={"query": LOGIN % (f"owner@{clinic.domain}.test", PASSWORD)})
    assert response.status_code == 200
    assert response.json()["data"]["login"]["token"].startswith("chs_")


async def test_anonymous_login_next_to_another_field_is_refused(client):
    doc = 'mutation { login(input: {email: "a@b.test", password: "x"}) { token } logout { errors { code } } }'
    response = await client.post("/graphql", json={"query": doc})
    assert response.status_code == 401


async def test_a_login_with_failing_credentials_is_refused(client, clinic):
    response = await client.post(
        "/graphql",
        json={"query": LOGIN % ("a@b.test", "x")},
        headers={"Authorization": "Bearer chs_" + "B" * 43},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"


async def test_a_mutation_over_get_is_405(clinic):
    response = await clinic.owner.client.get(
        "/graphql", params={"query": LOGOUT}, headers={"Authorization": f"Bearer {clinic.owner.token}"}
    )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    # and nothing happened: the session still works
    assert (await clinic.owner.post("{ viewer { kind } }")).status_code == 200


async def test_a_batch_holding_a_mutation_is_refused_as_one_object(clinic):
    batch = [{"query": "{ viewer { kind } }"}, {"query": LOGOUT}]
    response = await clinic.owner.client.post(
        "/graphql", json=batch, headers={"Authorization": f"Bearer {clinic.owner.token}"}
    )
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, dict) and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert (await clinic.owner.post("{ viewer { kind } }")).status_code == 200


async def test_payloads_carry_errors_and_the_changed_object(clinic):
    doc = """mutation($i: UpdateOrganizationInput!) {
      updateOrganization(input: $i) { organization { name province } errors { code field message } } }"""
    bad = (await clinic.support.gql(doc, {"i": {"province": "XX"}}))["updateOrganization"]
    assert bad["organization"] is None and bad["errors"][0]["field"] == ["province"]
    good = (await clinic.support.gql(doc, {"i": {"name": "Renamed", "province": "QC"}}))["updateOrganization"]
    assert good == {"organization": {"name": "Renamed", "province": "QC"}, "errors": []}
