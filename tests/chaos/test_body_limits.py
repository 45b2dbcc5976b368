"""Hostile bodies against a real Daphne: every one is refused and Daphne stays under 400 MB.

Before the limits a 300 MB upload took Daphne from 221 MB to 3.8 GB, a 100 MB anonymous POST to the login
page added 1.2 GB, and six 39.6-megapixel PNGs of 40 KB each, posted at once, took 1.58 GB. The worst pictures
still accepted are the largest that fit the decode budget (IMAGE_DECODE_BUDGET_MB), of each costly kind.
"""

import io
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from projects.imaging import decode_bytes, fitting_size, megapixels
from projects.models import ShotImage
from tests.chaos.web import Web, daphne
from tests.factories import build_tree

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LIMIT_MB = 400
MB = 1024 * 1024
BOUNDARY = "chaos-boundary-7d1f"


def multipart(field: str, size: int) -> tuple[dict[str, str], Callable[[], Iterator[bytes]]]:
    """Headers and a body generator: one file field of `size` zero bytes, made as sent, never held whole."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        chunk = bytes(MB)
        left = size
        while left > 0:
            yield chunk[: min(left, MB)]
            left -= MB
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return headers, body


def declared(headers: dict[str, str], body: Callable[[], Iterator[bytes]]) -> dict[str, str]:
    return {**headers, "Content-Length": str(sum(len(piece) for piece in body()))}


@cache
def picture(fmt: str, mode: str, size: tuple[int, int], orientation: int = 1) -> bytes:
    """A tiny file of a huge picture: one colour compresses to almost nothing."""
    buffer = io.BytesIO()
    options = {"lossless": True, "method": 0} if fmt == "WEBP" else {}
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6: stored sideways, as phones and cameras save portraits
    Image.new(mode, size).save(buffer, format=fmt, exif=exif.tobytes(), **options)
    return buffer.getvalue()


def largest(fmt: str, mode: str, budget: int, orientation: int = 1) -> bytes:
    """The largest 4:3 picture of this kind within the pixel limit whose decode needs at most budget."""
    with Image.open(io.BytesIO(picture(fmt, mode, (4000, 3000), orientation))) as sample:
        width, height = fitting_size(sample, budget)
    scale = min(1.0, (settings.UPLOAD_MAX_PIXELS / (width * height)) ** 0.5)
    data = picture(fmt, mode, (int(width * scale), int(height * scale)), orientation)
    with Image.open(io.BytesIO(data)) as probe:
        assert 0.95 * budget < decode_bytes(probe) <= budget or scale < 1, (fmt, mode, decode_bytes(probe))
    return data


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(result is not None for result in results), "a request did not finish"
    return results


def test_hostile_bodies_are_refused_and_daphne_stays_under_400_mb(teammate, project):
    (shot,) = build_tree(project, scenes=1, shots=1)
    upload_url = reverse("shot_upload", args=[project.pk, shot.pk])
    music_url = reverse("music_upload", args=[project.pk])
    login_url = reverse("login")
    rows: list[tuple[str, str, float, float]] = []

    with daphne() as web:
        editor = web.browser(teammate, headers={"HX-Request": "true"})
        stranger = web.browser()

        # Warm: templates compiled, the upload path (Pillow, storage) imported, one small picture stored.
        assert stranger.get(login_url).status_code == 200
        assert editor.get(reverse("iterate_shot", args=[project.pk, shot.pk])).status_code == 200
        small = {"image": ("small.png", picture("PNG", "RGB", (320, 180)), "image/png")}
        assert editor.post(upload_url, files=small).status_code == 200
        baseline = web.peak_rss_mb()

        def attack(name: str, calls: list[Callable[[], httpx.Response]], web: Web = web) -> list[int]:
            start = time.monotonic()
            statuses = [response.status_code for response in at_once(calls)]
            rows.append((name, "/".join(map(str, sorted(set(statuses)))), time.monotonic() - start, web.peak_rss_mb()))
            return statuses

        def post(client: httpx.Client, url: str, field: str, size: int, *, chunked: bool = False) -> httpx.Response:
            headers, body = multipart(field, size)
            return client.post(url, content=body(), headers=headers if chunked else declared(headers, body))

        assert attack("300 MB upload, declared", [lambda: post(editor, upload_url, "image", 300 * MB)]) == [413]
        chunked = [lambda: post(editor, upload_url, "image", 300 * MB, chunked=True)]
        assert attack("300 MB upload, chunked", chunked) == [413]
        assert attack("100 MB anonymous login POST", [lambda: post(stranger, login_url, "password", 100 * MB)]) == [413]
        assert attack("1 MB anonymous login POST", [lambda: post(stranger, login_url, "password", MB)]) == [413]
        chunked = [lambda: post(stranger, login_url, "password", 10 * MB, chunked=True)]
        assert attack("10 MB login POST, chunked", chunked) == [413]

        bomb = {"image": ("bomb.png", picture("PNG", "1", (7680, 5156)), "image/png")}
        bombs = [lambda: editor.post(upload_url, files=bomb)] * 6
        assert attack("six 39.6 MP PNGs at once", bombs) == [422] * 6
        refused = editor.post(upload_url, files=bomb).text
        assert f"7680 x 5156 pixels; the limit is {megapixels(settings.UPLOAD_MAX_PIXELS)} megapixels" in refused
        assert ShotImage.objects.filter(shot=shot).count() == 1  # only the warm-up picture

        # The worst still accepted, all at once: six pictures just under the decode budget (two sideways JPEG
        # portraits at half of it each, so they decode together, then two RGBA PNGs and two RGBA WebPs at all
        # of it), and ten anonymous 50 MB bodies to the music upload (its limit).
        budget = settings.IMAGE_DECODE_BUDGET_MB * 1_000_000
        worst = [largest("JPEG", "RGB", budget // 2, orientation=6)] * 2
        worst += [largest("PNG", "RGBA", budget)] * 2 + [largest("WEBP", "RGBA", budget)] * 2
        sizes, uploads = [], []
        for data in worst:
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format.lower()
                sizes.append(f"{megapixels(probe.width * probe.height)} MP {probe.format}")
            uploads.append({"image": (f"worst.{kind}", data, f"image/{kind}")})
        pictures = [lambda files=files: editor.post(upload_url, files=files) for files in uploads]
        bodies = [lambda: post(stranger, music_url, "track", 50 * MB)] * 10
        name = f"six pictures at the budget ({', '.join(dict.fromkeys(sizes))}) + ten 50 MB bodies"
        statuses = attack(name, pictures + bodies)
        assert statuses[:6] == [200] * 6, statuses
        # The bodies reach the login redirect, or, past the budget of bodies in hand, a 503 to retry.
        assert set(statuses[6:]) <= {302, 503} and 302 in statuses[6:], statuses
        assert ShotImage.objects.filter(shot=shot).count() == 7
        peak = web.peak_rss_mb()

    print(f"\nDaphne peak RSS (VmHWM), limit {LIMIT_MB} MB; baseline after warm-up {baseline:.0f} MB")
    print(f"{'attack':90} {'status':>11} {'seconds':>8} {'peak MB':>8}")
    for name, status, seconds, after in rows:
        print(f"{name:90} {status:>11} {seconds:8.1f} {after:8.0f}")
    assert peak < LIMIT_MB, f"Daphne reached {peak:.0f} MB"
