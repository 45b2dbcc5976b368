"""Pictures we keep: thumbnails for the grids, and user uploads checked and re-encoded before storing.

Decoding is where a small file becomes a lot of memory: a 40 KB PNG can claim 40 megapixels, 160 MB once
decoded, 320 MB with its RGB conversion. So the pixel count is read from the header (Pillow's `Image.open`
reads nothing more) and checked before any pixel is decoded, and every full decode in the process holds
decode slots (`decode_slot`), so all decodes together never hold more than
IMAGE_DECODE_CONCURRENCY x UPLOAD_MAX_PIXELS x 8 bytes (160 MB with the defaults).
"""

import ctypes
import io
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

THUMB_SIZE = (480, 480)
ALLOWED = {"PNG", "JPEG", "WEBP"}
# The largest picture any path accepts: provider outputs (generation.ingest) are checked against this.
PROVIDER_OUTPUT_MAX_PIXELS = 40_000_000
# Pillow's own guard (a warning above it, DecompressionBombError at twice it, raised by Image.open) backs up
# every other Image.open in the process at the largest limit we accept anywhere.
Image.MAX_IMAGE_PIXELS = max(settings.UPLOAD_MAX_PIXELS, PROVIDER_OUTPUT_MAX_PIXELS)
# An upload waits this long for decode slots before the user is asked to try again.
DECODE_WAIT_SECONDS = 30.0


class DecodeBusyError(Exception):
    """No decode slot became free in time."""


class _Slots:
    """A counting semaphore whose holders take one slot or several."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.changed = threading.Condition()

    def acquire(self, count: int, timeout: float | None) -> bool:
        with self.changed:
            if not self.changed.wait_for(lambda: self.free >= count, timeout):
                return False
            self.free -= count
            return True

    def release(self, count: int) -> None:
        with self.changed:
            self.free += count
            self.changed.notify_all()


_slots_lock = threading.Lock()
_slots: dict[int, _Slots] = {}


def decode_bytes(image: Image.Image) -> int:
    """The memory that decoding image and converting it to RGB holds at its peak, from the header alone.

    Measured with Pillow 13 on 12.5-megapixel pictures, in bytes a pixel: PNG 1-bit, palette or grey 4.8,
    16-bit grey 5.8, RGBA 7.7; baseline JPEG 4.3, progressive 9.6, progressive CMYK 11.6; RGBA WebP 15.5.
    """
    mode = image.mode
    native = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    per_pixel = native + (0 if mode == "RGB" else 4)
    if image.format == "WEBP":
        per_pixel += 8  # libwebp's canvas, and the copy of its pixels Pillow decodes from
    elif image.format == "JPEG" and image.info.get("progressive"):
        per_pixel += 2 * len(image.getbands())  # libjpeg keeps every DCT coefficient of a progressive picture
    return image.width * image.height * per_pixel


@contextmanager
def decode_slot(image: Image.Image, *, timeout: float | None = None) -> Iterator[None]:
    """Hold decode slots while the whole of image (its header already checked) is decoded.

    The process has IMAGE_DECODE_CONCURRENCY slots, each worth UPLOAD_MAX_PIXELS x 8 bytes (a picture at
    4 bytes a pixel plus its RGB conversion). A picture that needs more (WebP, progressive JPEG) takes
    several; one that needs more than all of them (a large provider output) runs alone.
    """
    size = settings.IMAGE_DECODE_CONCURRENCY
    with _slots_lock:
        # One set per configured size, so a changed setting (tests) gets its own.
        slots = _slots.setdefault(size, _Slots(size))
    unit = settings.UPLOAD_MAX_PIXELS * 8
    count = min(size, max(1, -(-decode_bytes(image) // unit)))
    if not slots.acquire(count, timeout):
        raise DecodeBusyError("Other pictures are being processed; try again in a moment.")
    try:
        yield
    finally:
        slots.release(count)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def return_large_allocations_to_os() -> None:
    """Make glibc give allocations of 1 MB and more straight back to the OS when they are freed.

    glibc raises its mmap threshold (up to 32 MB) after the first large free, so later pictures (Pillow
    allocates them in blocks of up to 16 MB) come from per-thread heaps that keep the memory once freed;
    decodes in different request threads then add up in RSS although their slots never overlapped (six
    10 MP pictures through two slots measured 155 to 270 MB over baseline; with this, 155 MB every time).
    Setting the threshold turns that adjustment off.
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to set


def megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"


def thumbnail_bytes(source: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(source).convert("RGB")
    image.thumbnail(THUMB_SIZE, Image.Resampling.LANCZOS)
    return _webp(image)


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=82, method=4)
    return buffer.getvalue()


def _small_copy(image: Image.Image) -> Image.Image:
    """The thumbnail-sized copy, made straight from the picture (Image.thumbnail shrinks a full copy)."""
    width, height = image.size
    scale = min(THUMB_SIZE[0] / width, THUMB_SIZE[1] / height, 1.0)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


@dataclass
class CheckedPicture:
    """An upload decoded, checked and re-encoded: the PNG in a temporary file (at its start), its thumbnail."""

    png: IO[bytes]
    thumbnail: bytes
    size: tuple[int, int]


def checked_upload(upload: UploadedFile) -> CheckedPicture:
    """The uploaded picture re-encoded as PNG, or ValidationError saying why it was refused.

    The bytes are decoded by Pillow (PNG, JPEG and WebP only), the declared size
    is checked before any pixel is decoded, and the picture is re-encoded, so
    whatever else the file carried (scripts, metadata, trailing data) is dropped.
    The PNG goes to a temporary file, not memory; the caller stores and closes it.
    """
    if upload.size > settings.UPLOAD_MAX_BYTES:
        limit = settings.UPLOAD_MAX_BYTES / 1_000_000
        raise ValidationError(f"The file is {upload.size / 1_000_000:.1f} MB; the limit is {limit:.0f} MB.")
    limit = settings.UPLOAD_MAX_PIXELS
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in ALLOWED:
                raise ValidationError(f"Upload a PNG, JPEG or WebP image, not {kind or 'this file type'}.")
            if width * height > limit or max(width, height) > 12_000:
                raise ValidationError(
                    f"The image is {width} x {height} pixels; the limit is {megapixels(limit)} megapixels."
                )
            with decode_slot(probe, timeout=DECODE_WAIT_SECONDS):
                return _reencoded(probe)
    except ValidationError:
        raise
    except DecodeBusyError as exc:
        raise ValidationError(str(exc)) from exc
    except Image.DecompressionBombError as exc:
        raise ValidationError(f"The image is far too large; the limit is {megapixels(limit)} megapixels.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("That file is not a readable PNG, JPEG or WebP image.") from exc


def _reencoded(probe: Image.Image) -> CheckedPicture:
    """Decode once, keeping at most two full-size copies alive: the decoded picture and its RGB conversion."""
    probe.load()
    ImageOps.exif_transpose(probe, in_place=True)
    image = probe if probe.mode == "RGB" else probe.convert("RGB")
    if image is not probe:
        probe.close()  # frees the decoded pixels now rather than when the caller's `with` ends
    thumbnail = _webp(_small_copy(image))
    png = tempfile.TemporaryFile()  # handed to the caller, who stores and closes it
    try:
        image.save(png, format="PNG")
    except BaseException:
        png.close()
        raise
    png.seek(0)
    return CheckedPicture(png=png, thumbnail=thumbnail, size=image.size)
