"""The GraphQL multipart request (uploads): a `map` is followed step by step through the
variables the operation sent, and anything it cannot follow is 400 BAD_REQUEST, for
anonymous and authenticated callers alike — never a 500."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from chrgraph.db.models import ApiLog, PortalImage
from tests.accounts import make_clinic

UPLOAD = """mutation($i: UploadPortalBackgroundImageInput!) { uploadPortalBackgroundImage(input: $i) {
  image { contentType width height } errors { code field } } }"""
SENT_VARIABLES = {"i": {"file": None}, "list": [None], "text": "a string", "number": 7, "nothing": None}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


async def post_upload(
    client: httpx.AsyncClient,
    mapping: Any,
    *,
    authorization: str | None = None,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": SENT_VARIABLES if variables is None else variables}
    return await client.post(
        "/graphql",
        headers={**({"Authorization": authorization} if authorization else {}), **(headers or {})},
        data={"operations": json.dumps(operations), "map": json.dumps(mapping)},
        files={"0": ("background.png", png(), "image/png")},
    )


def assert_bad_request(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "errors": [
            {"message": "multipart/form-data is only for GraphQL file uploads.", "extensions": {"code": "BAD_REQUEST"}}
        ]
    }


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


UNFOLLOWABLE_MAPS = [
    pytest.param({"0": ["variables.missing"]}, id="a-variable-the-operation-does-not-have"),
    pytest.param({"0": ["variables.missing.file"]}, id="a-step-through-a-missing-variable"),
    pytest.param({"0": ["variables.i.missing"]}, id="a-member-the-input-does-not-have"),
    pytest.param({"0": ["variables.list.1"]}, id="an-index-past-the-lists-end"),
    pytest.param({"0": ["variables.list.99999999999999999999"]}, id="a-huge-index"),
    pytest.param({"0": ["variables.list.-1"]}, id="a-negative-index"),
    pytest.param({"0": ["variables.list.00"]}, id="an-index-with-a-leading-zero"),
    pytest.param({"0": ["variables.list.\u0661"]}, id="an-index-in-arabic-digits"),
    pytest.param({"0": ["variables.list.x"]}, id="a-name-into-a-list"),
    pytest.param({"0": ["variables.text.0"]}, id="an-index-into-a-string"),
    pytest.param({"0": ["variables.text.upper"]}, id="a-name-into-a-string"),
    pytest.param({"0": ["variables.number.x"]}, id="a-step-into-a-number"),
    pytest.param({"0": ["variables.nothing.x"]}, id="a-step-into-null"),
    pytest.param({"0": ["variables.i.file", "variables.i.file.name"]}, id="a-step-into-the-file-just-placed"),
    pytest.param({"0": ["variables"]}, id="the-variables-themselves"),
    pytest.param({"0": ["operations.i.file"]}, id="outside-the-variables"),
    pytest.param({"0": ["variables..file"]}, id="an-empty-step"),
    pytest.param({"0": [7]}, id="a-path-that-is-a-number"),
    pytest.param({"0": [None]}, id="a-path-that-is-null"),
    pytest.param({"0": [["variables", "i", "file"]]}, id="a-path-that-is-a-list"),
    pytest.param({"0": "variables.i.file"}, id="paths-that-are-a-string"),
    pytest.param({"1": ["variables.i.file"]}, id="a-file-that-was-not-sent"),
    pytest.param({}, id="an-empty-map"),
    pytest.param(["variables.i.file"], id="a-map-that-is-a-list"),
]


@pytest.mark.parametrize("mapping", UNFOLLOWABLE_MAPS)
async def test_a_map_the_variables_cannot_follow_is_a_bad_request_for_a_signed_in_user(clinic, mapping):
    response = await post_upload(clinic.client, mapping, authorization=f"Bearer {clinic.owner.token}")
    assert_bad_request(response)


@pytest.mark.parametrize("mapping", UNFOLLOWABLE_MAPS)
async def test_a_map_the_variables_cannot_follow_is_a_bad_request_for_an_anonymous_caller(client, mapping):
    assert_bad_request(await post_upload(client, mapping))


@pytest.mark.parametrize("mapping", UNFOLLOWABLE_MAPS[:4])
async def test_a_map_the_variables_cannot_follow_is_a_bad_request_for_a_consumer(clinic, mapping):
    response = await post_upload(clinic.client, mapping, authorization=f"Bearer {clinic.vendor.token()}")
    assert_bad_request(response)


async def test_a_map_into_an_operation_without_variables_is_a_bad_request(clinic):
    response = await post_upload(
        clinic.client, {"0": ["variables.i.file"]}, authorization=f"Bearer {clinic.owner.token}", variables={}
    )
    assert_bad_request(response)


async def test_operations_or_map_sent_as_a_file_is_a_bad_request(clinic):
    operations = json.dumps({"query": UPLOAD, "variables": SENT_VARIABLES}).encode()
    mapping = json.dumps({"0": ["variables.i.file"]}).encode()
    for files in (
        {"operations": ("o.json", operations), "map": (None, mapping)},
        {"operations": (None, operations), "map": ("m.json", mapping)},
    ):
        response = await clinic.client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {clinic.owner.token}"},
            files={**files, "0": ("background.png", png(), "image/png")},
        )
        assert_bad_request(response)


async def test_an_upload_whose_map_was_refused_changes_nothing(clinic):
    before = await PortalImage.filter(organization_id=clinic.organization.id).count()
    await post_upload(clinic.client, {"0": ["variables.list.1"]}, authorization=f"Bearer {clinic.owner.token}")
    assert await PortalImage.filter(organization_id=clinic.organization.id).count() == before


async def test_a_map_into_a_list_index_or_a_nested_member_places_the_file(clinic):
    """The well-formed paths still work: the file lands where the map says."""
    response = await post_upload(
        clinic.client, {"0": ["variables.i.file"]}, authorization=f"Bearer {clinic.owner.token}"
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["uploadPortalBackgroundImage"]
    assert payload["errors"] == [] and payload["image"]["width"] == 40


async def test_a_consumers_upload_is_logged_with_the_variables_it_sent(clinic):
    """The API log keeps the variables as sent, each file described (form part, name,
    content type, size, SHA-256), never its bytes."""
    request_id = "upload-log-" + clinic.domain[-12:]
    response = await post_upload(
        clinic.client,
        {"0": ["variables.i.file"]},
        authorization=f"Bearer {clinic.vendor.token()}",
        headers={"X-Request-Id": request_id},
    )
    assert response.status_code == 200, response.text
    row = await ApiLog.get(client_request_id=request_id)
    image = png()
    described = {
        "upload": {
            "part": "0",
            "filename": "background.png",
            "contentType": "image/png",
            "size": len(image),
            "sha256": hashlib.sha256(image).hexdigest(),
        }
    }
    assert row.variables == {**SENT_VARIABLES, "i": {"file": described}}
