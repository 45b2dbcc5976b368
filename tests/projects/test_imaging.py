"""Decoding is bounded: pixels and memory are checked from the header before any is decoded, and all decodes
in the process together hold at most IMAGE_DECODE_BUDGET_MB.

Olivia (the owner) uploads pictures, as phones and cameras make them; the ingest of provider outputs shares
the same budget.
"""

import io
import struct
import threading
import time
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageChops, ImageFile, ImageOps

from generation import ingest
from projects import imaging
from projects.imaging import DecodeBusyError, checked_upload, decode_bytes, decode_memory
from projects.models import ShotImage
from tests.factories import build_tree

pytestmark = pytest.mark.django_db

MB = 1_000_000


def encode(picture: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def png_header(width: int, height: int, color_type: int) -> bytes:
    """A PNG whose header claims width x height (color type 6: RGBA, 8 bits), refused before its pixels are read.

    Chunk layout from the PNG specification (W3C, 3rd edition, 5.3 and 11.2.1)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def photo(size: tuple[int, int], *, orientation: int = 1) -> bytes:
    """A baseline JPEG as a phone or camera saves it: portraits are stored sideways with an EXIF orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(Image.new("RGB", size, (90, 120, 160)), "JPEG", exif=exif.tobytes())


@pytest.fixture
def decodes(monkeypatch) -> dict[str, int]:
    """Counts decodes (Pillow's ImageFile.load with tiles to decode; every format goes through it), most at
    once, and the most memory (decode_bytes of each picture) decoding at once."""
    seen = {"calls": 0, "active": 0, "most": 0, "active_bytes": 0, "most_bytes": 0}
    lock = threading.Lock()
    real = ImageFile.ImageFile.load

    def load(self):
        if not self.tile:  # already decoded: load() only hands back the pixels
            return real(self)
        needed = decode_bytes(self)
        with lock:
            seen["calls"] += 1
            seen["active"] += 1
            seen["active_bytes"] += needed
            seen["most"] = max(seen["most"], seen["active"])
            seen["most_bytes"] = max(seen["most_bytes"], seen["active_bytes"])
        try:
            time.sleep(0.05)
            return real(self)
        finally:
            with lock:
                seen["active"] -= 1
                seen["active_bytes"] -= needed

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def test_a_huge_picture_in_a_tiny_file_is_refused_from_its_header_without_decoding(decodes):
    bomb = encode(Image.new("1", (7680, 5156)), "PNG")  # 39.6 megapixels in a few KB
    assert len(bomb) < 50_000
    with pytest.raises(ValidationError, match="7680 x 5156 pixels; the limit is 25 megapixels"):
        checked_upload(upload(bomb))
    assert decodes["calls"] == 0


def test_decodes_at_once_never_hold_more_than_the_budget(decodes, settings):
    settings.IMAGE_DECODE_BUDGET_MB = 4
    large = encode(Image.new("RGB", (600, 400), (200, 40, 40)), "PNG")  # 1.7 MB with its thumbnail's work
    small = encode(Image.new("RGB", (200, 100), (40, 200, 40)), "PNG")  # 160 KB
    with Image.open(io.BytesIO(large)) as probe:
        assert 1.3 * MB < decode_bytes(probe) < 2 * MB  # two fit in the budget, three do not
    results = []
    threads = [
        threading.Thread(target=lambda data=data: results.append(checked_upload(upload(data))))
        for data in [large, large, small, large, small, large, large, small]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8 and decodes["calls"] == 8
    assert decodes["most"] >= 2 and decodes["most_bytes"] <= 4 * MB, decodes


@pytest.mark.parametrize(
    ("mode", "fmt", "options", "per_pixel"),
    [
        ("RGB", "JPEG", {}, 4),
        ("RGB", "JPEG", {"progressive": True, "subsampling": 0}, 10),  # the DCT coefficients, 2 bytes a sample
        ("CMYK", "JPEG", {"progressive": True}, 16),
        ("P", "PNG", {}, 5),
        ("RGBA", "PNG", {}, 8),
        ("RGBA", "WEBP", {"lossless": True}, 16),
        ("RGB", "WEBP", {"lossless": True}, 16),  # decoded through libwebp's RGBA canvases all the same
    ],
)
def test_the_memory_a_decode_needs_is_read_from_the_header(mode, fmt, options, per_pixel):
    data = encode(Image.new(mode, (100, 50)), fmt, **options)
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.mode == mode
        # Below the thumbnail's size the thumbnail is a copy (4 bytes a pixel); libwebp holds the whole file.
        assert decode_bytes(probe) == 100 * 50 * (per_pixel + 4) + (len(data) if fmt == "WEBP" else 0)


def test_a_photo_stored_sideways_is_turned_upright_a_band_at_a_time(monkeypatch):
    sideways = photo((1200, 900), orientation=6)
    with Image.open(io.BytesIO(sideways)) as probe:
        # Image.transpose of the whole would hold the picture twice (8 bytes a pixel); bands of 1 MB instead.
        assert decode_bytes(probe) == 1200 * 900 * 4 + 4 * (480 * 900) + 3 * imaging.TURN_BAND_BYTES
    turned = []
    real = Image.Image.transpose

    def transpose(self, method):
        turned.append(self.width * self.height)
        return real(self, method)

    monkeypatch.setattr(Image.Image, "transpose", transpose)
    checked = checked_upload(upload(sideways, "portrait.jpg"))
    assert checked.size == (900, 1200)
    checked.png.close()
    assert sum(turned) == 1200 * 900 and max(turned) <= imaging.TURN_BAND_BYTES // 4


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_turned_as_pillow_turns_it(orientation, monkeypatch):
    monkeypatch.setattr(imaging, "TURN_BAND_BYTES", 700)  # bands of a few rows or columns
    exif = Image.Exif()
    exif[0x0112] = orientation
    source = Image.effect_noise((61, 37), 90).convert("RGB")
    data = encode(source, "PNG", exif=exif.tobytes())
    checked = checked_upload(upload(data))
    with Image.open(checked.png) as stored, Image.open(io.BytesIO(data)) as expected:
        upright = ImageOps.exif_transpose(expected)
        assert stored.size == upright.size == checked.size
        assert ImageChops.difference(stored.convert("RGB"), upright.convert("RGB")).getbbox() is None
    checked.png.close()


def test_a_12_megapixel_phone_photo_and_a_24_megapixel_camera_photo_are_accepted(settings):
    assert settings.UPLOAD_MAX_PIXELS == 25_000_000 and settings.IMAGE_DECODE_BUDGET_MB == 160
    phone = checked_upload(upload(photo((4032, 3024), orientation=6), "IMG_0001.jpg"))  # a portrait
    assert phone.size == (3024, 4032)
    phone.png.close()
    camera = checked_upload(upload(photo((6000, 4000)), "DSC_0001.jpg"))
    assert camera.size == (6000, 4000)
    camera.png.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            png_header(6000, 4000, color_type=6),
            "This 24-megapixel PNG with transparency needs 196 MB to process; the limit is 160 MB. "
            "Save it as JPEG, or make it at most 19.4 megapixels.",
        ),
        (
            encode(Image.new("RGBA", (4032, 3024)), "WEBP", lossless=True, method=0),
            "This 12.2-megapixel WebP with transparency needs 200 MB to process; the limit is 160 MB. "
            "Save it as JPEG, or make it at most 9.6 megapixels.",
        ),
    ],
    ids=["24-mp-rgba-png", "12-mp-rgba-webp"],
)
def test_a_picture_needing_more_than_the_budget_is_refused_with_what_would_fit(decodes, data, message):
    with pytest.raises(ValidationError) as refused:
        checked_upload(upload(data))
    assert refused.value.messages == [message]
    assert decodes["calls"] == 0


def test_the_size_the_refusal_names_is_accepted(decodes):
    fits = encode(Image.new("RGBA", (3578, 2683)), "WEBP", lossless=True, method=0)  # 9.6 MP, as 4032 x 3024
    with Image.open(io.BytesIO(fits)) as probe:
        assert probe.mode == "RGBA" and 150 * MB < decode_bytes(probe) <= 160 * MB
    checked = checked_upload(upload(fits, "fits.webp"))
    assert checked.size == (3578, 2683) and decodes["calls"] == 1
    checked.png.close()


class Holder:
    """A thread that takes image's share of the budget, keeps it until let go, then gives it back."""

    def __init__(self, image: Image.Image) -> None:
        self.holding, self.let_go = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run, args=(image,))
        self.thread.start()

    def run(self, image: Image.Image) -> None:
        with decode_memory(image, timeout=5):
            self.holding.set()
            self.let_go.wait(5)

    def release(self) -> None:
        self.let_go.set()
        self.thread.join(5)


def test_a_decode_larger_than_the_budget_waits_to_run_alone_and_holds_all_of_it(settings):
    settings.IMAGE_DECODE_BUDGET_MB = 1
    small, huge = Image.new("RGB", (100, 100)), Image.new("RGB", (2000, 2000))  # 80 KB; 16 MB, a provider's
    assert decode_bytes(small) < MB < decode_bytes(huge)
    with decode_memory(small):
        provider_output = Holder(huge)
        assert not provider_output.holding.wait(0.3)  # 920 KB are free, but it needs the whole budget
    assert provider_output.holding.wait(5)
    with pytest.raises(DecodeBusyError):  # it holds all of it: nothing else runs
        with decode_memory(small, timeout=0.05):
            pass
    provider_output.release()
    with decode_memory(small, timeout=0.05):
        pass


def test_a_waiting_large_decode_is_not_overtaken_by_small_ones(settings):
    settings.IMAGE_DECODE_BUDGET_MB = 1
    half, large, small = Image.new("RGB", (200, 200)), Image.new("RGB", (400, 400)), Image.new("RGB", (10, 10))
    assert decode_bytes(half) + decode_bytes(small) < MB < decode_bytes(half) + decode_bytes(large) <= 2 * MB
    with decode_memory(half):
        first = Holder(large)
        assert not first.holding.wait(0.1)
        with pytest.raises(DecodeBusyError):  # it would fit, but the large one came first
            with decode_memory(small, timeout=0.05):
                pass
    assert first.holding.wait(5)
    first.release()


def test_a_busy_upload_tells_olivia_to_try_again(owner_client, project, settings, monkeypatch):
    (shot,) = build_tree(project, scenes=1, shots=1)
    settings.IMAGE_DECODE_BUDGET_MB = 1
    monkeypatch.setattr(imaging, "DECODE_WAIT_SECONDS", 0.05)
    data = encode(Image.new("RGB", (64, 36)), "PNG")
    with decode_memory(Image.new("RGB", (2000, 2000))):  # the whole budget
        response = owner_client.post(
            reverse("shot_upload", args=[project.pk, shot.pk]),
            {"image": SimpleUploadedFile("p.png", data, content_type="image/png")},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 422 and "try again in a moment" in response.content.decode()
    assert not ShotImage.objects.exists()


def test_ingest_waits_for_room_in_the_budget(settings):
    settings.IMAGE_DECODE_BUDGET_MB = 1
    data = encode(Image.new("RGB", (40, 30)), "PNG")
    with decode_memory(Image.new("RGB", (2000, 2000))):
        done = []
        worker = threading.Thread(target=lambda: done.append(ingest.from_bytes(data, kind="image")))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and not done
    worker.join(5)
    assert done[0].meta == {"width": 40, "height": 30}
    done[0].path.unlink()


def test_decode_memory_gives_up_after_its_timeout(settings):
    settings.IMAGE_DECODE_BUDGET_MB = 1
    with decode_memory(Image.new("RGB", (2000, 2000))), pytest.raises(DecodeBusyError):
        with decode_memory(Image.new("RGB", (1, 1)), timeout=0.01):
            pass


def test_pillow_refuses_anywhere_a_picture_over_twice_the_largest_limit():
    assert Image.MAX_IMAGE_PIXELS == max(imaging.PROVIDER_OUTPUT_MAX_PIXELS, 25_000_000) == ingest.MAX_IMAGE_PIXELS
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
