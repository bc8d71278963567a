"""Uploaded photos: accepted by what they are (decoded with Pillow), not by their name or the
type the browser declares; re-encoded so that no metadata (EXIF: GPS position, camera,
owner) is kept; scaled down to a size worth storing, with a thumbnail."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from portal.domain.errors import FieldError, _

# What Pillow calls the formats we take, and the content type each is served with.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_BYTES = 5 * 1024 * 1024
# Refused before decoding, against decompression bombs (a tiny file that decodes to
# gigabytes); 40 megapixels is more than the default photo of any phone camera.
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560  # the stored photo's longest side: plenty to judge damage, light to send
THUMB_SIDE = 320
QUALITY = 85
MAX_NAME = 60


@dataclass(frozen=True)
class Upload:
    """One file as it came in (its name only for messages)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Picture:
    """An accepted photo as it will be stored."""

    content_type: str
    data: bytes
    width: int
    height: int
    thumb: bytes
    thumb_width: int
    thumb_height: int


class Rejected(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def display_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 1] + "…"
    return name or _("(no name)")


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or pnginfo= is passed: the new file carries pixels only.
    if fmt == "JPEG":
        img.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=QUALITY, method=4)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def process(upload: Upload) -> Picture:
    """The photo re-encoded, or Rejected with a message saying why."""
    data = upload.data
    if not data:
        raise Rejected(_("%(name)s is empty."))
    if len(data) > MAX_BYTES:
        raise Rejected(_("%(name)s is larger than %(max)s MB."), max=MAX_BYTES // (1024 * 1024))
    not_a_photo = _("%(name)s is not a JPEG, PNG or WebP picture.")
    with warnings.catch_warnings():
        # Pillow warns about very large images; they are refused below by our own limit.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except Image.DecompressionBombError:
            raise Rejected(
                _("%(name)s has too many pixels (at most %(max)s megapixels)."),
                max=MAX_PIXELS // 1_000_000,
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise Rejected(not_a_photo) from None
    fmt = img.format or ""
    if fmt not in FORMATS:
        raise Rejected(not_a_photo)
    width, height = img.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise Rejected(
            _("%(name)s has too many pixels (at most %(max)s megapixels)."),
            max=MAX_PIXELS // 1_000_000,
        )
    try:
        # JPEG decodes straight at a reduced scale when that is all we keep.
        img.draft("RGB", (MAX_SIDE, MAX_SIDE))
        img.load()
        # Turn the pixels the way the camera was held, since the EXIF saying so goes.
        img = ImageOps.exif_transpose(img)
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (
            img.mode == "P" and "transparency" in img.info
        )
        img = img.convert("RGBA" if has_alpha and fmt != "JPEG" else "RGB")
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        photo = _encode(img, fmt)
        small = img.copy()
        small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        thumb = _encode(small, fmt)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # Truncated or corrupt data behind a valid header.
        raise Rejected(not_a_photo) from None
    return Picture(
        content_type=FORMATS[fmt],
        data=photo,
        width=img.width,
        height=img.height,
        thumb=thumb,
        thumb_width=small.width,
        thumb_height=small.height,
    )


def check(
    uploads: list[Upload], *, field: str, max_count: int, errors: list[FieldError]
) -> list[Picture]:
    """Every upload processed; a FieldError per refused one (and for too many) in `errors`."""
    if len(uploads) > max_count:
        errors.append(
            FieldError(
                field,
                _("At most %(max)s photos (%(count)s chosen)."),
                {"max": max_count, "count": len(uploads)},
            )
        )
        return []
    pictures = []
    for upload in uploads:
        try:
            pictures.append(process(upload))
        except Rejected as exc:
            params = {"name": display_name(upload.filename), **exc.params}
            errors.append(FieldError(field, exc.message, params))
    return pictures
