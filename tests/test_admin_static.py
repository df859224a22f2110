"""The admin client's files as the server serves them: the security headers on /admin,
client routes answered with index.html, the bundled GraphiQL on a browser's GET /graphql,
and a clear one-line page before anything is built."""

from __future__ import annotations

import pytest

from chrgraph.http import admin
from tests.browser.helpers import ensure_built

STRICT = "default-src 'self'; frame-ancestors 'none'"


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    ensure_built()


async def test_admin_pages_carry_the_security_headers(client):
    for path in ("/admin", "/admin/", "/admin/members", "/admin/members/abc/deactivate"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == STRICT
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert '<div id="root">' in response.text


async def test_assets_are_served_and_unknown_ones_are_not_found(client):
    page = (await client.get("/admin/")).text
    asset = page.split('src="/admin/assets/')[1].split('"')[0]
    response = await client.get(f"/admin/assets/{asset}")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-security-policy"] == STRICT
    assert (await client.get("/admin/assets/nothing-here.js")).status_code == 404
    # GraphiQL's page is /graphql's answer, with its own policy; under /admin it is the client.
    assert '<div id="root">' in (await client.get("/admin/graphiql.html")).text
    # A path that tries to leave the folder is the client's page, never a file outside it.
    outside = await client.get("/admin/..%2F..%2F__init__.py")
    assert "import" not in outside.text


async def test_graphql_in_a_browser_is_the_bundled_graphiql(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'") and "frame-ancestors 'none'" in policy
    assert "/admin/assets/graphiql" in response.text
    assert "http://" not in response.text and "https://" not in response.text


async def test_before_a_build_a_page_says_how_to_build(client, monkeypatch, tmp_path):
    monkeypatch.setattr(admin, "STATIC_DIR", tmp_path)
    response = await client.get("/admin/members")
    assert response.status_code == 200
    assert "make admin" in response.text
    ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "make admin" in ide.text
