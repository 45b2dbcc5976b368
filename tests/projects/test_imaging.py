"""Decoding is bounded: pixels are checked from the header before any is decoded, and decodes hold slots.

Olivia (the owner) uploads pictures; the ingest of provider outputs shares the same slots.
"""

import io
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFile

from generation import ingest
from projects import imaging
from projects.imaging import DecodeBusyError, checked_upload, decode_bytes, decode_slot
from projects.models import ShotImage
from tests.factories import build_tree

pytestmark = pytest.mark.django_db


def encode(picture: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture
def decodes(monkeypatch) -> dict[str, int]:
    """Counts decodes (Pillow's ImageFile.load with tiles to decode; every format goes through it), most at once."""
    seen = {"calls": 0, "active": 0, "most": 0}
    lock = threading.Lock()
    real = ImageFile.ImageFile.load

    def load(self):
        if not self.tile:  # already decoded: load() only hands back the pixels
            return real(self)
        with lock:
            seen["calls"] += 1
            seen["active"] += 1
            seen["most"] = max(seen["most"], seen["active"])
        try:
            time.sleep(0.05)
            return real(self)
        finally:
            with lock:
                seen["active"] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def test_a_huge_picture_in_a_tiny_file_is_refused_from_its_header_without_decoding(decodes, settings):
    bomb = encode(Image.new("1", (7680, 5156)), "PNG")  # 39.6 megapixels in a few KB
    assert len(bomb) < 50_000
    with pytest.raises(ValidationError, match="7680 x 5156 pixels; the limit is 10 megapixels"):
        checked_upload(upload(bomb))
    assert decodes["calls"] == 0


def test_no_more_pictures_are_decoded_at_once_than_the_setting_allows(decodes, settings):
    settings.IMAGE_DECODE_CONCURRENCY = 2
    data = encode(Image.new("RGB", (200, 100), (200, 40, 40)), "PNG")
    results = []
    threads = [threading.Thread(target=lambda: results.append(checked_upload(upload(data)))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 6 and all(r.size == (200, 100) for r in results)
    assert decodes["calls"] == 6 and decodes["most"] == 2


@pytest.mark.parametrize(
    ("mode", "fmt", "options", "per_pixel"),
    [
        ("RGB", "JPEG", {}, 4),
        ("RGB", "JPEG", {"progressive": True, "subsampling": 0}, 10),  # the DCT coefficients, 2 bytes a sample
        ("CMYK", "JPEG", {"progressive": True}, 16),
        ("P", "PNG", {}, 5),
        ("RGBA", "PNG", {}, 8),
        ("RGBA", "WEBP", {"lossless": True}, 16),
    ],
)
def test_the_memory_a_decode_needs_is_read_from_the_header(mode, fmt, options, per_pixel):
    with Image.open(io.BytesIO(encode(Image.new(mode, (100, 50)), fmt, **options))) as probe:
        assert decode_bytes(probe) == 100 * 50 * per_pixel


def test_a_webp_takes_every_slot_while_a_png_needs_one(settings, monkeypatch):
    settings.IMAGE_DECODE_CONCURRENCY = 2
    settings.UPLOAD_MAX_PIXELS = 100_000  # a slot is 800 KB: a 300 x 300 WebP needs 1.44 MB, the PNG 360 KB
    monkeypatch.setattr(imaging, "DECODE_WAIT_SECONDS", 0.05)
    webp = encode(Image.new("RGBA", (300, 300)), "WEBP", lossless=True)
    png = encode(Image.new("RGB", (300, 300)), "PNG")
    with decode_slot(Image.new("RGB", (1, 1))):
        with pytest.raises(ValidationError, match="Other pictures are being processed; try again in a moment"):
            checked_upload(upload(webp, "a.webp"))
        assert checked_upload(upload(png)).size == (300, 300)
    assert checked_upload(upload(webp, "a.webp")).size == (300, 300)


def test_a_busy_upload_tells_olivia_to_try_again(owner_client, project, settings, monkeypatch):
    (shot,) = build_tree(project, scenes=1, shots=1)
    settings.IMAGE_DECODE_CONCURRENCY = 1
    monkeypatch.setattr(imaging, "DECODE_WAIT_SECONDS", 0.05)
    data = encode(Image.new("RGB", (64, 36)), "PNG")
    with decode_slot(Image.new("RGB", (1, 1))):
        response = owner_client.post(
            reverse("shot_upload", args=[project.pk, shot.pk]),
            {"image": SimpleUploadedFile("p.png", data, content_type="image/png")},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 422 and "try again in a moment" in response.content.decode()
    assert not ShotImage.objects.exists()


def test_ingest_waits_for_a_free_slot(settings):
    settings.IMAGE_DECODE_CONCURRENCY = 1
    data = encode(Image.new("RGB", (40, 30)), "PNG")
    done = []
    worker = threading.Thread(target=lambda: done.append(ingest.from_bytes(data, kind="image")))
    with decode_slot(Image.new("RGB", (1, 1))):
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and not done
    worker.join(5)
    assert done[0].meta == {"width": 40, "height": 30}
    done[0].path.unlink()


def test_decode_slot_gives_up_after_its_timeout(settings):
    settings.IMAGE_DECODE_CONCURRENCY = 1
    with decode_slot(Image.new("RGB", (1, 1))), pytest.raises(DecodeBusyError):
        with decode_slot(Image.new("RGB", (1, 1)), timeout=0.01):
            pass


def test_pillow_refuses_anywhere_a_picture_over_twice_the_largest_limit():
    assert Image.MAX_IMAGE_PIXELS == max(imaging.PROVIDER_OUTPUT_MAX_PIXELS, 10_000_000) == ingest.MAX_IMAGE_PIXELS
    bomb = encode(Image.new("1", (10_000, 8_001)), "PNG")
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))


def test_a_rotated_photo_is_kept_upright_with_its_thumbnail(owner_client, project):
    (shot,) = build_tree(project, scenes=1, shots=1)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    photo = encode(Image.new("RGB", (640, 320), (30, 90, 200)), "JPEG", exif=exif.tobytes())
    response = owner_client.post(
        reverse("shot_upload", args=[project.pk, shot.pk]),
        {"image": SimpleUploadedFile("photo.jpg", photo, content_type="image/jpeg")},
    )
    assert response.status_code == 200
    image = ShotImage.objects.get()
    assert (image.width, image.height) == (320, 640)
    with image.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (240, 480)
