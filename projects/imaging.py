"""Pictures we keep: thumbnails for the grids, and user uploads checked and re-encoded before storing.

Decoding is where a small file becomes a lot of memory: a 40 KB PNG can claim 40 megapixels, 160 MB once
decoded, 320 MB with its RGB conversion. So the pixel count is read from the header (Pillow's `Image.open`
reads nothing more) and checked before any pixel is decoded, and every full decode in the process holds
what `decode_bytes` says it needs out of one budget of IMAGE_DECODE_BUDGET_MB (`decode_memory`), so all
decodes together hold at most that (160 MB with the defaults). An upload that needs more than the whole
budget is refused; a provider output that does (generation.ingest, up to 40 MP) waits to run alone.
"""

import ctypes
import io
import math
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps

THUMB_SIZE = (480, 480)
THUMB_REDUCING_GAP = 2.0
# A picture is turned upright (EXIF orientation) this much at a time; see `_turned`.
TURN_BAND_BYTES = 1_000_000
TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # EXIF orientation to the turn that shows the picture upright (as Pillow's ImageOps.exif_transpose)
SWAPPING_TURNS = {TURNS[5], TURNS[6], TURNS[7], TURNS[8]}  # width and height trade places
# These put the first band last: columns from the right (ROTATE_90, TRANSVERSE), rows from the bottom.
BACKWARD_TURNS = {TURNS[3], TURNS[4], TURNS[7], TURNS[8]}
ALLOWED = {"PNG", "JPEG", "WEBP"}
# The largest picture any path accepts: provider outputs (generation.ingest) are checked against this.
PROVIDER_OUTPUT_MAX_PIXELS = 40_000_000
# Pillow's own guard (a warning above it, DecompressionBombError at twice it, raised by Image.open) backs up
# every other Image.open in the process at the largest limit we accept anywhere.
Image.MAX_IMAGE_PIXELS = max(settings.UPLOAD_MAX_PIXELS, PROVIDER_OUTPUT_MAX_PIXELS)
# An upload waits this long for room in the decode budget before the user is asked to try again.
DECODE_WAIT_SECONDS = 30.0
MB = 1_000_000  # IMAGE_DECODE_BUDGET_MB and the sizes users read are decimal megabytes


class DecodeBusyError(Exception):
    """The decode budget did not have room in time."""


class _Budget:
    """A semaphore of bytes, served in arrival order so a large decode is not overtaken by small ones for ever."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.queue: deque[object] = deque()
        self.changed = threading.Condition()

    def acquire(self, count: int, timeout: float | None) -> bool:
        ticket = object()
        with self.changed:
            self.queue.append(ticket)
            try:
                granted = self.changed.wait_for(lambda: self.queue[0] is ticket and self.free >= count, timeout)
                if granted:
                    self.free -= count
                return granted
            finally:
                self.queue.remove(ticket)  # granted or given up: the next in line may fit now
                self.changed.notify_all()

    def release(self, count: int) -> None:
        with self.changed:
            self.free += count
            self.changed.notify_all()


_budgets_lock = threading.Lock()
_budgets: dict[int, _Budget] = {}


def budget_bytes() -> int:
    return settings.IMAGE_DECODE_BUDGET_MB * MB


def _bytes_per_pixel(image: Image.Image) -> int:
    """Measured with Pillow 13 (decode, RGB conversion and re-encode), in bytes a pixel: PNG 1-bit, palette or
    grey 4.8, 16-bit grey 5.8, RGBA 7.7; baseline JPEG 4.0 plus the thumbnail's copy, progressive 7.0 (4:2:0)
    to 9.6 (4:4:4), progressive CMYK 11.6; WebP 16.0 with or without alpha, plus its file. Turning a photo
    upright adds nothing (`_turned`).
    """
    mode = image.mode
    if image.format == "WEBP":
        # libwebp's two RGBA canvases and Pillow's copy of the frame (4 each), then the picture at 4: RGB is
        # decoded into the canvases too, and the canvases stay while an RGBA picture is converted.
        return 16
    native = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    per_pixel = native + (0 if mode == "RGB" else 4)
    if image.format == "JPEG" and image.info.get("progressive"):
        per_pixel += 2 * len(image.getbands())  # libjpeg keeps every DCT coefficient of a progressive picture
    return per_pixel


def _turn(image: Image.Image) -> Image.Transpose | None:
    """The turn the header (EXIF, or XMP, orientation) asks for, if any.

    Image.getexif reads only what Image.open found; PNG's own decodes the whole picture first, looking for an
    eXIf chunk after the pixels (the PNG spec places it before them), so such a late chunk is not obeyed.
    """
    return TURNS.get(Image.Image.getexif(image).get(0x0112, 1))


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    scale = min(THUMB_SIZE[0] / width, THUMB_SIZE[1] / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _thumbnail_work_pixels(width: int, height: int) -> int:
    """The pixels `_small_copy` holds besides the picture: Pillow's reduced copy (Image.resize's reducing_gap)
    and the horizontal pass of the resize; at most about 2.8 MP (a 2879 x 2879 picture), 0.4 MP at 12 MP."""
    target_width, target_height = _thumbnail_size(width, height)
    factor_x = int(width / target_width / THUMB_REDUCING_GAP) or 1
    factor_y = int(height / target_height / THUMB_REDUCING_GAP) or 1
    reduced = (-(-width // factor_x), -(-height // factor_y)) if factor_x > 1 or factor_y > 1 else None
    rows = reduced[1] if reduced else height
    return (reduced[0] * reduced[1] if reduced else 0) + target_width * rows


def _file_bytes(image: Image.Image) -> int:
    """The size of the file image was opened from (0 when unknown), leaving its position as it was."""
    try:
        position = image.fp.tell()
        size = image.fp.seek(0, io.SEEK_END)
        image.fp.seek(position)
    except (AttributeError, OSError, ValueError):
        return 0
    return size


def _needed(image: Image.Image, width: int, height: int) -> int:
    """What decoding a picture of image's kind (format, mode, orientation, file) at width x height needs."""
    turn = _turn(image)
    upright = (height, width) if turn in SWAPPING_TURNS else (width, height)  # the thumbnail is made upright
    needed = width * height * _bytes_per_pixel(image) + 4 * _thumbnail_work_pixels(*upright)
    if turn is not None:
        needed += 3 * TURN_BAND_BYTES  # a band, turned, and its bytes
    if image.format == "WEBP":
        needed += _file_bytes(image)  # libwebp is handed the whole file and keeps it until the image is closed
    return needed


def decode_bytes(image: Image.Image) -> int:
    """The memory that decoding image, converting it to RGB and re-encoding it hold at their peak, from the
    header (and for WebP the file's size) alone: a 12 MP baseline JPEG 53 MB, 24 MP 100 MB (measured 53, 100).
    """
    return _needed(image, *image.size)


@contextmanager
def decode_memory(image: Image.Image, *, timeout: float | None = None) -> Iterator[None]:
    """Hold decode_bytes(image) out of the process's budget while the whole of image (its header already
    checked) is decoded, waiting in line until the budget has room; DecodeBusyError after timeout seconds.

    A decode that needs more than the whole budget (only a provider output can) waits until it is alone and
    holds all of it: the budget's bound is then that one picture.
    """
    size = budget_bytes()
    with _budgets_lock:
        # One budget per configured size, so a changed setting (tests) gets its own.
        budget = _budgets.setdefault(size, _Budget(size))
    count = min(size, max(1, decode_bytes(image)))
    if not budget.acquire(count, timeout):
        raise DecodeBusyError("Other pictures are being processed; try again in a moment.")
    try:
        yield
    finally:
        budget.release(count)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def return_large_allocations_to_os() -> None:
    """Make glibc give allocations of 1 MB and more straight back to the OS when they are freed.

    glibc raises its mmap threshold (up to 32 MB) after the first large free, so later pictures (Pillow
    allocates them in blocks of up to 16 MB) come from per-thread heaps that keep the memory once freed;
    decodes in different request threads then add up in RSS although their budgets never overlapped (six
    10 MP pictures decoded two at a time measured 155 to 270 MB over baseline; with this, 155 MB every time).
    Setting the threshold turns that adjustment off.
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to set


def megapixels(pixels: float) -> str:
    value = pixels / 1_000_000
    return f"{value:.1f}".removesuffix(".0") if value >= 1 else f"{value:g}"


def fitting_size(image: Image.Image, budget: int) -> tuple[int, int]:
    """The largest size of image's shape and kind, in steps of a tenth of a megapixel, whose decode needs at
    most budget: searched down from the bytes a pixel, as the thumbnail's share does not shrink in proportion.
    """
    width, height = image.size
    tenths = int(budget / _bytes_per_pixel(image) / 100_000)
    while tenths > 1:
        scaled_width = max(1, int(math.sqrt(tenths * 100_000 * width / height)))
        scaled = (scaled_width, tenths * 100_000 // scaled_width)
        if _needed(image, *scaled) <= budget:
            return scaled
        tenths -= 1
    return (1, 1)


def _too_much_to_process(image: Image.Image, needed: int, budget: int) -> str:
    """Why image (its decode needing more than the whole budget) is refused, and what would be accepted."""
    width, height = image.size
    kind = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}.get(image.format or "", image.format or "image")
    if image.format == "JPEG" and image.info.get("progressive"):
        kind = f"progressive {kind}"
    if image.mode == "CMYK":
        kind = f"CMYK {kind}"
    if "A" in image.getbands() or "transparency" in image.info:
        kind = f"{kind} with transparency"
    fits = fitting_size(image, budget)
    smaller = f"at most {megapixels(fits[0] * fits[1])} megapixels"
    baseline_jpeg = 4 * width * height + 4 * _thumbnail_work_pixels(width, height)  # RGB, as stored
    is_baseline_jpeg = image.format == "JPEG" and image.mode == "RGB" and not image.info.get("progressive")
    if is_baseline_jpeg or baseline_jpeg > budget:
        advice = f"Make it {smaller}."
    else:
        advice = f"Save it as {'a baseline RGB JPEG' if image.format == 'JPEG' else 'JPEG'}, or make it {smaller}."
    return (
        f"This {megapixels(width * height)}-megapixel {kind} needs {math.ceil(needed / MB)} MB to process; "
        f"the limit is {math.ceil(budget / MB)} MB. {advice}"
    )


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
    return image.resize(_thumbnail_size(width, height), Image.Resampling.LANCZOS, reducing_gap=THUMB_REDUCING_GAP)


@dataclass
class CheckedPicture:
    """An upload decoded, checked and re-encoded: the PNG in a temporary file (at its start), its thumbnail."""

    png: IO[bytes]
    thumbnail: bytes
    size: tuple[int, int]


def checked_upload(upload: UploadedFile) -> CheckedPicture:
    """The uploaded picture re-encoded as PNG, or ValidationError saying why it was refused.

    The bytes are decoded by Pillow (PNG, JPEG and WebP only), the declared size and the memory its decode
    needs are checked before any pixel is decoded, and the picture is re-encoded, so
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
            needed, budget = decode_bytes(probe), budget_bytes()
            if needed > budget:
                raise ValidationError(_too_much_to_process(probe, needed, budget))
            with decode_memory(probe, timeout=DECODE_WAIT_SECONDS):
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
    turn = _turn(probe)
    probe.load()
    image = probe if probe.mode == "RGB" else probe.convert("RGB")
    if image is not probe:
        probe.close()  # frees the decoded pixels now rather than when the caller's `with` ends
    if turn is not None:
        image = _turned(image, turn)
    thumbnail = _webp(_small_copy(image))
    png = tempfile.TemporaryFile()  # handed to the caller, who stores and closes it
    try:
        image.save(png, format="PNG")
    except BaseException:
        png.close()
        raise
    png.seek(0)
    return CheckedPicture(png=png, thumbnail=thumbnail, size=image.size)


def _turned(image: Image.Image, turn: Image.Transpose) -> Image.Image:
    """image (RGB) turned, closing it: never two full-size copies (Image.transpose holds both, 8 bytes a pixel).

    The picture is cut into bands that each become whole rows once turned (columns when the axes swap); the
    turned bands wait in a temporary file until the picture is freed, then are pasted into the new one.
    """
    width, height = image.size
    swaps = turn in SWAPPING_TURNS
    across, along = (width, height) if swaps else (height, width)
    step = max(1, TURN_BAND_BYTES // (4 * along))
    bands: list[tuple[int, int]] = []  # (row in the turned picture, rows)
    with tempfile.TemporaryFile() as staged:
        for start in range(0, across, step):
            end = min(start + step, across)
            box = (start, 0, end, height) if swaps else (0, start, width, end)
            staged.write(image.crop(box).transpose(turn).tobytes())
            bands.append((across - end if turn in BACKWARD_TURNS else start, end - start))
        image.close()
        staged.seek(0)
        turned = Image.new("RGB", (along, across))
        for row, rows in bands:
            turned.paste(Image.frombytes("RGB", (along, rows), staged.read(along * rows * 3)), (0, row))
    return turned
