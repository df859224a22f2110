"""uploadPortalBackgroundImage and removePortalBackgroundImage: recognised by content,
refused by declared size before decoding, re-encoded without metadata, served
publicly at an unguessable URL that answers 404 once replaced or removed."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from chrgraph.db.models import AuditEvent, PortalImage
from tests.accounts import make_clinic

UPLOAD = """mutation($i: UploadPortalBackgroundImageInput!) { uploadPortalBackgroundImage(input: $i) {
  image { url contentType width height size } errors { code field message } } }"""
REMOVE = """mutation { removePortalBackgroundImage {
  portalSettings { backgroundImage { url } } errors { code field } } }"""
SETTINGS = "{ portalSettings { backgroundImage { url contentType width height size } } }"
HISTORY = "{ portalSettingsHistory { edges { node { action } } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def image_bytes(kind: str, size=(64, 32), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format=kind, **save)
    return buffer.getvalue()


def png_declaring(width: int, height: int, compressed_zeros: int = 20 * 1024 * 1024) -> bytes:
    """A small PNG whose header declares width×height; its pixel data is a short run of
    compressed zeros (decoding it would need width×height×3 bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * compressed_zeros, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_with_gps_and_orientation() -> bytes:
    """A 64×32 JPEG whose EXIF holds GPS coordinates, a description, and orientation 6
    (shown rotated a quarter turn: 32×64), with a comment."""
    exif = Image.Exif()
    exif[0x010E] = "SECRET-DESCRIPTION"  # ImageDescription
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (45.0, 25.0, 13.0), 3: "W", 4: (75.0, 41.0, 59.0)}  # GPS IFD
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 8, 8))  # a marker in the top-left corner
    image.save(buffer, format="JPEG", exif=exif.tobytes(), comment=b"SECRET-COMMENT", quality=95)
    return buffer.getvalue()


async def upload(session, data: bytes, filename: str = "background.bin", content_type: str = "image/png"):
    operations = json.dumps({"query": UPLOAD, "variables": {"i": {"file": None}}})
    return await session.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {session.token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.i.file"]})},
        files={"0": (filename, data, content_type)},
    )


async def uploaded(session, data: bytes, **kw) -> dict:
    response = await upload(session, data, **kw)
    assert response.status_code == 200, response.text
    result = response.json()["data"]["uploadPortalBackgroundImage"]
    assert result["errors"] == [], result
    return result["image"]


async def refused(session, data: bytes, **kw) -> dict:
    response = await upload(session, data, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result = body["data"]["uploadPortalBackgroundImage"]
    assert result["image"] is None
    [error] = result["errors"]
    assert error["field"] == ["file"]
    return error


async def test_a_png_is_re_encoded_stored_and_served_without_credentials(client, clinic):
    image = await uploaded(clinic.owner, image_bytes("PNG"))
    assert (image["contentType"], image["width"], image["height"]) == ("image/png", 64, 32)
    served = await client.get(image["url"])
    assert served.status_code == 200
    assert len(served.content) == image["size"]
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in served.headers["cache-control"] and "public" in served.headers["cache-control"]
    assert len(image["url"].rsplit("/", 1)[1]) >= 40
    again = await client.get(image["url"], headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    assert (await clinic.support.gql(SETTINGS))["portalSettings"]["backgroundImage"] == image


async def test_a_png_declaring_13000_by_13000_is_refused_from_its_header(client, clinic):
    bomb = png_declaring(13000, 13000)
    assert len(bomb) < 64 * 1024
    before = await PortalImage.all().count()
    error = await refused(clinic.owner, bomb)
    assert error["code"] == "IMAGE_TOO_LARGE"
    assert "40 megapixels" in error["message"]
    assert await PortalImage.all().count() == before
    assert (await clinic.owner.gql(SETTINGS))["portalSettings"]["backgroundImage"] is None


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (30000, 30000),  # beyond what the imaging library itself refuses
        (7000, 7000),  # each side fits, 49 megapixels do not
        (8001, 1),  # one pixel wider than a side may be
    ],
)
async def test_declared_sizes_beyond_the_limits_are_refused(clinic, width, height):
    assert (await refused(clinic.owner, png_declaring(width, height, 1024)))["code"] == "IMAGE_TOO_LARGE"


async def test_a_real_9000_by_10_image_is_refused_for_its_side(clinic):
    error = await refused(clinic.owner, image_bytes("PNG", (9000, 10)))
    assert error["code"] == "IMAGE_TOO_LARGE" and "8,000" in error["message"]


async def test_an_image_of_exactly_8000_by_5000_is_accepted(clinic):
    image = await uploaded(clinic.owner, image_bytes("JPEG", (8000, 5000)), content_type="image/jpeg")
    assert (image["width"], image["height"]) == (8000, 5000)


async def test_a_jpeg_keeps_no_exif_gps_or_comment_and_is_turned_upright(client, clinic):
    data = jpeg_with_gps_and_orientation()
    assert b"SECRET-DESCRIPTION" in data and b"SECRET-COMMENT" in data
    image = await uploaded(clinic.owner, data, content_type="image/jpeg")
    assert (image["contentType"], image["width"], image["height"]) == ("image/jpeg", 32, 64)
    stored = (await client.get(image["url"])).content
    assert b"SECRET" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as served:
        assert served.format == "JPEG" and served.size == (32, 64)
        assert len(served.getexif()) == 0 and served.getexif().get_ifd(0x8825) == {}
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(served.info)
        red, green, blue = served.convert("RGB").getpixel((28, 3))  # the marker, now top-right
        assert blue > 150 and red < 100


async def test_bytes_appended_after_a_png_and_its_text_chunks_are_dropped(client, clinic):
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "SECRET-TEXT-CHUNK")
    payload = b"<script>alert('SECRET-TRAILER')</script>" * 100
    data = image_bytes("PNG", pnginfo=meta) + payload
    image = await uploaded(clinic.owner, data)
    stored = (await client.get(image["url"])).content
    assert b"SECRET" not in stored
    assert stored.endswith(b"IEND\xaeB`\x82")
    assert image["size"] == len(stored) < len(data)
    with Image.open(io.BytesIO(stored)) as served:
        assert served.size == (64, 32) and served.text == {}


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("a text file named .png", b"just some text, honestly\n" * 10, "image/png"),
        ("a GIF", image_bytes("GIF"), "image/gif"),
        ("a PNG cut short", image_bytes("PNG", (400, 300), compress_level=0)[:2000], "image/png"),
        ("an empty file", b"", "image/png"),
    ],
)
async def test_what_is_not_a_whole_png_or_jpeg_is_refused_and_nothing_is_stored(clinic, name, data, content_type):
    before = await PortalImage.all().count()
    assert (await refused(clinic.owner, data, content_type=content_type))["code"] == "UNSUPPORTED_IMAGE", name
    assert await PortalImage.all().count() == before


async def test_a_file_over_5_mib_is_refused(clinic):
    big = image_bytes("PNG") + b"\x00" * (5 * 1024 * 1024)
    assert (await refused(clinic.owner, big))["code"] == "IMAGE_TOO_LARGE"


async def test_a_replaced_image_answers_404_and_the_new_one_is_served(client, clinic):
    first = await uploaded(clinic.owner, image_bytes("PNG"))
    second = await uploaded(clinic.owner, image_bytes("JPEG"), content_type="image/jpeg")
    gone = await client.get(first["url"])
    assert gone.status_code == 404 and gone.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(second["url"])).status_code == 200
    assert await PortalImage.filter(organization_id=clinic.organization.id).count() == 1


async def test_removing_the_image_makes_its_url_answer_404_and_is_audited(client, clinic):
    image = await uploaded(clinic.owner, image_bytes("PNG"))
    result = (await clinic.owner.gql(REMOVE))["removePortalBackgroundImage"]
    assert result == {"portalSettings": {"backgroundImage": None}, "errors": []}
    assert (await client.get(image["url"])).status_code == 404
    [event] = await AuditEvent.filter(organization_id=clinic.organization.id, action="PORTAL_BACKGROUND_REMOVED")
    assert event.changes["sha256"]["after"] is None
    actions = [e["node"]["action"] for e in (await clinic.owner.gql(HISTORY))["portalSettingsHistory"]["edges"]]
    assert actions[:2] == ["PORTAL_BACKGROUND_REMOVED", "PORTAL_BACKGROUND_UPLOADED"]


async def test_removing_when_there_is_no_image_changes_nothing(clinic):
    result = (await clinic.support.gql(REMOVE))["removePortalBackgroundImage"]
    assert result == {"portalSettings": {"backgroundImage": None}, "errors": []}
    assert not await AuditEvent.filter(
        organization_id=clinic.organization.id, action="PORTAL_BACKGROUND_REMOVED"
    ).exists()


async def test_support_and_a_portal_manager_may_remove_the_image(clinic):
    admin = await clinic.member(permissions_of=["Administrator"])
    for caller in (clinic.support, admin):
        await uploaded(caller, image_bytes("PNG"))
        assert (await caller.gql(REMOVE))["removePortalBackgroundImage"]["errors"] == []


async def test_front_desk_and_api_consumers_may_not_remove_the_image(client, clinic):
    image = await uploaded(clinic.owner, image_bytes("PNG"))
    desk = await clinic.member(permissions_of=["Front desk"])
    for caller in (desk, clinic.vendor):
        body = (await caller.post(REMOVE)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None or body["data"]["removePortalBackgroundImage"] is None
    assert (await client.get(image["url"])).status_code == 200


async def test_an_unknown_or_malformed_token_answers_404(client):
    for token in ("x", "A" * 43, "A" * 500):
        response = await client.get(f"/portal/background/{token}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
