"""Pictures we keep: thumbnails for the grids, and user uploads checked and re-encoded before storing."""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

THUMB_SIZE = (480, 480)
ALLOWED = {"PNG", "JPEG", "WEBP"}


def thumbnail_bytes(source: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(source).convert("RGB")
    image.thumbnail(THUMB_SIZE, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=82, method=4)
    return buffer.getvalue()


def checked_upload(upload: UploadedFile) -> tuple[bytes, tuple[int, int]]:
    """PNG bytes of an uploaded picture, or ValidationError saying why it was refused.

    The bytes are decoded by Pillow (PNG, JPEG and WebP only), the declared size
    is checked before any pixel is decoded, and the picture is re-encoded, so
    whatever else the file carried (scripts, metadata, trailing data) is dropped.
    """
    if upload.size > settings.UPLOAD_MAX_BYTES:
        limit = settings.UPLOAD_MAX_BYTES / 1_000_000
        raise ValidationError(f"The file is {upload.size / 1_000_000:.1f} MB; the limit is {limit:.0f} MB.")
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in ALLOWED:
                raise ValidationError(f"Upload a PNG, JPEG or WebP image, not {kind or 'this file type'}.")
            if width * height > settings.UPLOAD_MAX_PIXELS or max(width, height) > 12_000:
                megapixels = settings.UPLOAD_MAX_PIXELS // 1_000_000
                raise ValidationError(f"The image is {width} x {height} pixels; the limit is {megapixels} megapixels.")
            probe.load()
            image = ImageOps.exif_transpose(probe).convert("RGB")
    except ValidationError:
        raise
    except Image.DecompressionBombError as exc:
        megapixels = settings.UPLOAD_MAX_PIXELS // 1_000_000
        raise ValidationError(f"The image is far too large; the limit is {megapixels} megapixels.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("That file is not a readable PNG, JPEG or WebP image.") from exc
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), image.size
