"""The portal's background image: checked from its header before any pixel is
decoded, re-encoded before it is stored, served without credentials at an
unguessable URL, replaced or removed (the old URL then answers 404).

Pillow is fenced in here: nothing else in the package opens an uploaded image."""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import threading
import warnings
from dataclasses import dataclass
from typing import Any, cast

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Organization, PortalImage
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 8_000
# Pillow's format name -> the content type the image is stored and served with. MPO is
# a JPEG with extra frames (some phone cameras write it); its first frame is kept.
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg"}
_STORED_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG"}
# Modes each encoder writes as they are; anything else is converted first.
_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}
_JPEG_MODES = {"L", "RGB", "CMYK"}
# One image is decoded at a time per process: a 40-megapixel image takes about 160 MB
# while it is re-encoded, and uploads are rare administrative actions.
_decoding = threading.Lock()


@dataclass(frozen=True)
class CleanImage:
    """An image as it is stored: re-encoded, without metadata or trailing bytes."""

    content_type: str
    width: int
    height: int
    data: bytes


SIZE_LIMIT = f"Images are at most {MAX_SIDE:,} pixels a side and {MAX_PIXELS // 1_000_000} megapixels"


def _too_large(message: str) -> OperationFailed:
    return fail(ErrorCode.IMAGE_TOO_LARGE, message, "file")


def _unsupported(message: str = "Send a PNG or JPEG image.") -> OperationFailed:
    return fail(ErrorCode.UNSUPPORTED_IMAGE, message, "file")


def _open_header(data: bytes) -> Image.Image:
    """Open lazily: Pillow reads the header (format and declared size) only."""
    try:
        # Pillow warns about, then refuses, very large declared sizes; either way the
        # image is too large for us, and a warning must not turn into an error page.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(SIZE_LIMIT + ".") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unsupported() from exc


def check_declared_size(width: int, height: int) -> None:
    """At most MAX_SIDE pixels a side and MAX_PIXELS in all (IMAGE_TOO_LARGE)."""
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise _too_large(f"{SIZE_LIMIT}; this one is {width}×{height}.")


def _encode(source: Image.Image, content_type: str) -> bytes:
    image: Image.Image = source
    options: dict[str, Any] = {}
    if content_type == "image/jpeg":
        if image.mode not in _JPEG_MODES:
            image = image.convert("RGB")
        # The source's own quantization keeps the stored size close to the upload's.
        tables = getattr(source, "quantization", None)
        if tables and image is source:
            options["qtables"] = tables
            sampling = JpegImagePlugin.get_sampling(source)
            if sampling != -1:
                options["subsampling"] = sampling
        else:
            options["quality"] = 90
    elif image.mode not in _PNG_MODES:
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format=_STORED_FORMAT[content_type], **options)
    return buffer.getvalue()


def clean_image(data: bytes) -> CleanImage:
    """Recognise a PNG or JPEG by its content, refuse it by its declared size before
    decoding, then decode and re-encode it: EXIF (GPS included), text chunks,
    comments, colour profiles and anything after the image's end are dropped. The
    EXIF orientation is applied first, so the image looks as it did.

    Raises OperationFailed with IMAGE_TOO_LARGE or UNSUPPORTED_IMAGE. Blocking: run it
    in a worker thread."""
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large("Images are at most 5 MiB.")
    with _decoding:
        source = _open_header(data)
        with source:
            kind = source.format
            if kind not in CONTENT_TYPES:
                raise _unsupported()
            check_declared_size(*source.size)
            try:
                source.load()
                ImageOps.exif_transpose(source, in_place=True)
            except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
                raise _unsupported("The image is damaged or incomplete: send a whole PNG or JPEG.") from exc
            # Only what draws the pixels survives; the encoders read the rest from here.
            info = source.info
            source.info = {"transparency": info["transparency"]} if "transparency" in info else {}
            content_type = CONTENT_TYPES[kind]
            return CleanImage(content_type, source.width, source.height, _encode(source, content_type))


async def upload_background_image(actor: Actor, data: bytes) -> PortalImage:
    """Store a new background; the one it replaces is deleted (its URL answers 404)."""
    clean = await asyncio.to_thread(clean_image, data)
    digest = hashlib.sha256(clean.data).hexdigest()
    async with atomic() as conn:
        # Serialize uploads and removals of one organization.
        org = await Organization.filter(id=actor.organization_id).using_db(conn).select_for_update().get()
        replaced = await _delete_current(conn, actor.data)
        image = await actor.data.create(
            PortalImage,
            token=secrets.token_urlsafe(32),
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
            size=len(clean.data),
            sha256=digest,
            data=clean.data,
            using_db=conn,
        )
        await events.record(
            conn,
            actor,
            AuditAction.PORTAL_BACKGROUND_UPLOADED,
            "PortalImage",
            org.public_id,  # the portal's image: the organization's portal
            {
                "contentType": clean.content_type,
                "width": clean.width,
                "height": clean.height,
                "size": len(clean.data),
                "uploadedSize": len(data),
                "sha256": digest,
                "replacedSha256": replaced,
            },
        )
    return image


async def remove_background_image(actor: Actor) -> bool:
    """Remove the background (its URL answers 404). Returns whether there was one;
    removing none changes and records nothing."""
    async with atomic() as conn:
        org = await Organization.filter(id=actor.organization_id).using_db(conn).select_for_update().get()
        query = actor.data.portal_images.filter(current=True)
        current = await query.using_db(conn).first()
        if current is None:
            return False
        await _delete_current(conn, actor.data)
        await events.record(
            conn,
            actor,
            AuditAction.PORTAL_BACKGROUND_REMOVED,
            "PortalImage",
            org.public_id,
            {"sha256": {"before": current.sha256, "after": None}},
        )
    return True


async def _delete_current(conn, data: OrganizationData) -> str | None:
    """Delete the organization's stored background(s); the SHA-256 of the one shown, if
    any (what its audit events name it by: an image has no global id, and its key is
    never recorded)."""
    query = data.portal_images.using_db(conn)
    rows = cast(list[tuple[int, str]], await query.order_by("-id").values_list("id", "sha256"))
    if rows:
        await data.portal_images.filter(id__in=[key for key, _ in rows]).using_db(conn).delete()
    return rows[0][1] if rows else None


async def current_background(data: OrganizationData) -> PortalImage | None:
    return await data.portal_images.filter(current=True).first()


async def served_background(token: str) -> PortalImage | None:
    """The image behind a public URL, or None (unknown, replaced or removed)."""
    if not 20 <= len(token) <= 64:
        return None
    return await PortalImage.filter(token=token, current=True).first()
