"""Media ingest safety: only vetted hosts and addresses are fetched, and only decodable media is kept.

A real HTTP server on 127.0.0.1 plays the provider's file host. Nothing here
ever connects to a non-loopback address: refusals under the production policy
happen before any connection (a recording client proves it), and under the
local-fake policy name resolution is restricted to loopback.
"""

import io
import socket
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from generation import ingest
from generation.ingest import IngestError
from generation.providers.offline import image, music, video

LIMIT = 64 * 1024
REAL_CLIENT = httpx.Client


def encode(picture: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return buffer.getvalue()


def noisy_png(size: int = 256) -> bytes:
    """A real PNG that does not compress: about 3 bytes a pixel."""
    rng = np.random.default_rng(1)
    return encode(Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)), "PNG")


def claiming_size(png: bytes, width: int, height: int) -> bytes:
    """The same PNG with an IHDR (and a valid CRC) that claims another size."""
    assert png[12:16] == b"IHDR"
    chunk = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def send_body(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.path)
        port = server.server_address[1]
        media = server.media
        match self.path:
            case "/still.png":
                self.send_body(media["png"], "image/png")
            case "/clip.mp4":
                self.send_body(media["mp4"], "video/mp4")
            case "/page.png":
                self.send_body(b"<!doctype html><html><body>Not an image</body></html>", "image/png")
            case "/big.png":
                self.send_body(media["big"], "image/png")
            case "/chunked.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                body = media["big"]
                for start in range(0, len(body), 8192):
                    piece = body[start : start + 8192]
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            case "/metadata":
                self.redirect("http://169.254.169.254/latest/meta-data")
            case "/elsewhere":
                self.redirect(f"http://localhost:{port}/still.png")
            case "/again":
                self.redirect("/still.png")
            case "/again-absolute":
                self.redirect(f"http://127.0.0.1:{port}/still.png")
            case "/loop":
                self.redirect("/loop")
            case _:
                self.send_response(404)
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"not found")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the client hangs up on refused bodies; that is the point


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, bytes]:
    still = tmp_path_factory.mktemp("media") / "still.png"
    png = image.to_png(image.draw(prompt="Harbor at dawn, wide shot", aspect_ratio="1:1", seed=3))
    still.write_bytes(png)
    mp4 = video.animate(image_path=still, duration=1, aspect_ratio="16:9", resolution="480p", prompt="pan", seed=0)
    big = noisy_png()
    assert len(big) > 3 * LIMIT
    return {"png": png, "mp4": mp4, "big": big}


@pytest.fixture(scope="module")
def server(media) -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.media = media
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def requests(server) -> list[str]:
    server.requests.clear()
    return server.requests


@pytest.fixture
def base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(autouse=True)
def own_tempdir(monkeypatch, tmp_path) -> Path:
    """Ingest writes its temporary files here, so leftovers can be counted exactly."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def leftovers() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob("ingest-*"))


class RecordingClient:
    """Stands in for httpx.Client: builds the request it would send, records it, and sends nothing."""

    sent: list[httpx.Request] = []

    class StoppedError(Exception):
        pass

    def __init__(self, **kwargs) -> None:
        self._real = REAL_CLIENT(**kwargs)

    def __enter__(self) -> "RecordingClient":
        return self

    def __exit__(self, *exc) -> None:
        self._real.close()

    def build_request(self, *args, **kwargs) -> httpx.Request:
        return self._real.build_request(*args, **kwargs)

    def send(self, request: httpx.Request, **kwargs) -> None:
        RecordingClient.sent.append(request)
        raise RecordingClient.StoppedError


@pytest.fixture
def production_policy(settings, monkeypatch) -> list[httpx.Request]:
    settings.INGEST_ALLOW_INSECURE_LOCAL = False
    settings.INGEST_ALLOWED_HOSTS = ["replicate.delivery"]
    RecordingClient.sent = []
    monkeypatch.setattr(ingest.httpx, "Client", RecordingClient)

    def no_dns(host, *args, **kwargs):
        raise AssertionError(f"Nothing should resolve {host} here")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    return RecordingClient.sent


def resolving(monkeypatch, *addresses: str) -> list[str]:
    """Make cdn.replicate.delivery resolve to addresses; return the names looked up."""
    looked_up = []

    def fake(host, port, *args, **kwargs):
        looked_up.append(host)
        assert host.rstrip(".") == "cdn.replicate.delivery"
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return looked_up


@pytest.fixture
def local_policy(settings, monkeypatch) -> None:
    settings.INGEST_ALLOW_INSECURE_LOCAL = True
    settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.INGEST_TIMEOUT_SECONDS = 10
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise AssertionError(f"A test tried to resolve {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


# The production policy: https on replicate.delivery only, public addresses only


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://replicate.delivery/x.png", "Only https URLs"),
        ("ftp://replicate.delivery/x.png", "Only https URLs"),
        ("file:///etc/passwd", "Only https URLs"),
        ("https://127.0.0.1/x.png", "127.0.0.1 is not an allowed media host"),
        ("https://169.254.169.254/latest/meta-data", "not an allowed media host"),
        ("https://replicate.delivery.evil.com/x.png", "not an allowed media host"),
        ("https://evilreplicate.delivery/x.png", "not an allowed media host"),
        ("https://replicate.delivery@evil.com/x.png", "evil.com is not an allowed media host"),
        ("https:///x.png", "not an allowed media host"),
    ],
)
def test_it_refuses_urls_outside_the_policy_before_connecting(production_policy, url, message):
    with pytest.raises(IngestError, match=message):
        ingest.fetch(url, kind="image")
    assert production_policy == []
    assert leftovers() == []


def test_it_refuses_plain_http_even_to_a_live_server(production_policy, base, requests):
    with pytest.raises(IngestError, match="Only https URLs"):
        ingest.fetch(f"{base}/still.png", kind="image")
    assert requests == []
    assert production_policy == []


@pytest.mark.parametrize(
    "addresses",
    [
        ("169.254.169.254",),
        ("10.0.0.5",),
        ("127.0.0.1",),
        ("192.168.1.20",),
        ("100.64.0.1",),
        ("0.0.0.0",),
        ("::1",),
        ("fd00::5",),
        ("fe80::1%eth0",),
        ("::ffff:169.254.169.254",),
        ("93.184.215.14", "10.0.0.5"),  # one bad answer among good ones is enough
    ],
)
def test_it_refuses_an_allowed_host_that_resolves_to_a_non_public_address(production_policy, monkeypatch, addresses):
    looked_up = resolving(monkeypatch, *addresses)
    with pytest.raises(IngestError, match="resolves to a non-public address"):
        ingest.fetch("https://cdn.replicate.delivery/x.png", kind="image")
    assert looked_up == ["cdn.replicate.delivery"]
    assert production_policy == []
    assert leftovers() == []


def test_it_refuses_a_host_that_does_not_resolve(production_policy, monkeypatch):
    def gone(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", gone)
    with pytest.raises(IngestError, match=r"Cannot resolve cdn\.replicate\.delivery"):
        ingest.fetch("https://cdn.replicate.delivery/x.png", kind="image")
    assert production_policy == []


def test_it_connects_to_the_vetted_address_with_the_real_host_name(production_policy, monkeypatch):
    resolving(monkeypatch, "93.184.215.14")
    with pytest.raises(RecordingClient.StoppedError):
        ingest.fetch("https://cdn.replicate.delivery/abc/out-0.png?x=1", kind="image")
    (request,) = production_policy
    assert str(request.url) == "https://93.184.215.14/abc/out-0.png?x=1"
    assert request.headers["host"] == "cdn.replicate.delivery"
    assert request.extensions["sni_hostname"] == "cdn.replicate.delivery"


def test_it_allows_the_delivery_host_itself_and_a_trailing_dot(production_policy, monkeypatch):
    resolving(monkeypatch, "93.184.215.14")
    with pytest.raises(RecordingClient.StoppedError):
        ingest.fetch("https://cdn.replicate.delivery./x.png", kind="image")
    assert len(production_policy) == 1


def test_it_still_refuses_private_addresses_under_the_local_policy(settings, production_policy, monkeypatch):
    settings.INGEST_ALLOW_INSECURE_LOCAL = True
    resolving(monkeypatch, "10.0.0.5")
    with pytest.raises(IngestError, match=r"non-public address \(10\.0\.0\.5\)"):
        ingest.fetch("https://cdn.replicate.delivery/x.png", kind="image")
    assert production_policy == []


# The local policy, against the fake file host on loopback


def test_it_fetches_a_png(local_policy, base, media):
    result = ingest.fetch(f"{base}/still.png", kind="image")
    assert (result.kind, result.extension, result.meta) == ("image", "png", {"width": 768, "height": 768})
    assert result.path.is_file()
    assert result.path.parent == Path(tempfile.gettempdir())
    assert result.path.read_bytes() == media["png"]


def test_it_fetches_an_mp4(local_policy, base, media):
    result = ingest.fetch(f"{base}/clip.mp4", kind="video")
    assert (result.kind, result.extension) == ("video", "mp4")
    assert result.meta["codec"] == "h264"
    assert (result.meta["width"], result.meta["height"]) == (854, 480)
    assert result.meta["duration"] == pytest.approx(1, abs=0.2)
    assert result.path.read_bytes() == media["mp4"]
    with av.open(str(result.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_it_refuses_a_video_that_is_asked_for_as_audio_only_when_it_has_no_audio(local_policy, base):
    # The offline clip carries an AAC track, so as audio it is acceptable; the PNG is not.
    assert ingest.fetch(f"{base}/clip.mp4", kind="audio").meta["sample_rate"] == 48000
    with pytest.raises(IngestError, match=r"no audio stream|not readable audio"):
        ingest.fetch(f"{base}/still.png", kind="audio")
    assert [p for p in leftovers() if p.stat().st_size == 0] == []


def test_it_refuses_an_html_page_named_png(local_policy, base, requests):
    with pytest.raises(IngestError, match="not a readable image"):
        ingest.fetch(f"{base}/page.png", kind="image")
    assert requests == ["/page.png"]
    assert leftovers() == []


def test_it_refuses_a_redirect_to_the_metadata_address(local_policy, base, requests):
    with pytest.raises(IngestError, match=r"169\.254\.169\.254 is not an allowed media host"):
        ingest.fetch(f"{base}/metadata", kind="image")
    assert requests == ["/metadata"]
    assert leftovers() == []


def test_it_refuses_a_redirect_to_another_host_even_when_that_host_is_allowed(settings, local_policy, base, requests):
    settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1", "localhost", "169.254.169.254"]
    with pytest.raises(IngestError, match=r"redirect from 127\.0\.0\.1 to another host \(169\.254\.169\.254\)"):
        ingest.fetch(f"{base}/metadata", kind="image")
    with pytest.raises(IngestError, match=r"redirect from 127\.0\.0\.1 to another host \(localhost\)"):
        ingest.fetch(f"{base}/elsewhere", kind="image")
    assert requests == ["/metadata", "/elsewhere"]


@pytest.mark.parametrize("path", ["/again", "/again-absolute"])
def test_it_follows_a_redirect_on_the_same_host(local_policy, base, media, requests, path):
    result = ingest.fetch(f"{base}{path}", kind="image")
    assert result.path.read_bytes() == media["png"]
    assert requests == [path, "/still.png"]


def test_it_gives_up_after_a_few_redirects(local_policy, base, requests):
    with pytest.raises(IngestError, match="Too many redirects"):
        ingest.fetch(f"{base}/loop", kind="image")
    assert requests == ["/loop"] * 4


def test_it_refuses_an_http_error(local_policy, base):
    with pytest.raises(IngestError, match="HTTP 404"):
        ingest.fetch(f"{base}/missing.png", kind="image")
    assert leftovers() == []


def test_it_accepts_the_big_png_under_a_big_enough_limit(local_policy, base, media):
    # The control for the two refusals below: the body itself is a fine image.
    result = ingest.fetch(f"{base}/chunked.png", kind="image", max_bytes=len(media["big"]))
    assert result.path.read_bytes() == media["big"]
    assert result.meta == {"width": 256, "height": 256}


def test_it_refuses_a_declared_length_over_the_limit(local_policy, base, media):
    with pytest.raises(IngestError, match=f"is {len(media['big'])} bytes; the limit is {LIMIT}"):
        ingest.fetch(f"{base}/big.png", kind="image", max_bytes=LIMIT)
    assert leftovers() == []


def test_it_refuses_a_chunked_body_that_grows_over_the_limit(local_policy, base):
    with pytest.raises(IngestError, match=f"larger than {LIMIT} bytes"):
        ingest.fetch(f"{base}/chunked.png", kind="image", max_bytes=LIMIT)
    assert leftovers() == []


def test_it_takes_the_size_limit_from_settings(settings, local_policy, base):
    settings.INGEST_MAX_BYTES = LIMIT
    with pytest.raises(IngestError, match=f"the limit is {LIMIT}"):
        ingest.fetch(f"{base}/big.png", kind="image")
    with pytest.raises(IngestError, match=f"larger than {LIMIT} bytes"):
        ingest.fetch(f"{base}/chunked.png", kind="image")
    assert leftovers() == []


# from_bytes: what a provider hands back in memory


def test_it_refuses_a_png_that_claims_to_be_huge():
    tiny = encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")
    with pytest.raises(IngestError, match="not a readable image"):
        ingest.from_bytes(claiming_size(tiny, 50_000, 50_000), kind="image")
    with pytest.raises(IngestError, match="7000x7000; more than 40000000 pixels"):
        ingest.from_bytes(claiming_size(tiny, 7000, 7000), kind="image")
    assert leftovers() == []


def test_it_refuses_images_over_the_pixel_limit(monkeypatch):
    monkeypatch.setattr(ingest, "MAX_IMAGE_PIXELS", 0)
    with pytest.raises(IngestError, match="more than 0 pixels"):
        ingest.from_bytes(encode(Image.new("RGB", (1, 1)), "PNG"), kind="image")
    assert leftovers() == []


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_it_accepts_png_jpeg_and_webp(fmt, extension):
    data = encode(Image.new("RGB", (40, 30), (20, 120, 200)), fmt)
    result = ingest.from_bytes(data, kind="image")
    assert (result.kind, result.extension, result.meta) == ("image", extension, {"width": 40, "height": 30})
    assert result.path.read_bytes() == data


def test_it_refuses_a_gif():
    with pytest.raises(IngestError, match="PNG, JPEG or WebP, not GIF"):
        ingest.from_bytes(encode(Image.new("P", (40, 30)), "GIF"), kind="image")
    assert leftovers() == []


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_it_refuses_a_truncated_png(media, keep):
    data = media["png"]
    with pytest.raises(IngestError, match="not a readable image"):
        ingest.from_bytes(data[: int(len(data) * keep)], kind="image")
    assert leftovers() == []


def test_it_refuses_a_png_with_a_broken_checksum(media):
    broken = bytearray(media["png"])
    broken[29] ^= 0xFF  # the IHDR CRC
    with pytest.raises(IngestError, match="not a readable image"):
        ingest.from_bytes(bytes(broken), kind="image")


def test_it_accepts_wav_as_audio():
    data = music.compose(prompt="A calm morning", duration=2, seed=1)
    result = ingest.from_bytes(data, kind="audio")
    assert (result.kind, result.extension) == ("audio", "wav")
    assert (result.meta["sample_rate"], result.meta["channels"]) == (48000, 2)
    assert result.meta["duration"] == pytest.approx(2, abs=0.05)
    assert result.path.read_bytes() == data


def test_it_refuses_audio_without_an_audio_stream_and_video_without_a_video_stream(media):
    with pytest.raises(IngestError, match="no video stream"):
        ingest.from_bytes(music.compose(prompt="calm", duration=1), kind="video")
    with pytest.raises(IngestError, match="not readable audio"):
        ingest.from_bytes(b"<html>certainly not audio</html>" * 20, kind="audio")
    assert leftovers() == []


def test_it_refuses_a_still_image_offered_as_video(tmp_path):
    from generation.ingest import IngestError, check
    from generation.providers.offline import image as offline_image

    still = tmp_path / "still.png"
    offline_image.draw(prompt="x").save(still)
    with pytest.raises(IngestError, match="not a video file"):
        check(still, kind="video")
