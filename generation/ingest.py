"""Media ingest: copy a provider's output into our storage, safely.

Replicate deletes outputs after an hour, so they are fetched at once. Only
https URLs on allow-listed hosts (replicate.delivery and its subdomains by
default) are fetched; the host name is resolved once and every address must
be public, and the connection goes to that vetted address (with the real host
name for TLS), so DNS cannot be re-pointed between check and fetch. Redirects
are followed only within the same host. Size and time are capped. Whatever
arrives is decoded (Pillow for images, PyAV for video and audio) before it is
kept; anything that does not decode is refused.
"""

import ipaddress
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import av
import httpx
from django.conf import settings
from PIL import Image

from projects.imaging import PROVIDER_OUTPUT_MAX_PIXELS, decode_memory

MAX_IMAGE_PIXELS = PROVIDER_OUTPUT_MAX_PIXELS
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
# Demuxer names PyAV reports; anything else (an image pipe, say) is not a clip.
VIDEO_CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}
AUDIO_CONTAINERS = {"wav", "mp3", "ogg", "flac", "aac", "mov", "mp4", "m4a", "matroska", "webm"}


class IngestError(Exception):
    """The output could not be fetched or is not acceptable media."""


@dataclass
class Media:
    path: Path
    kind: str
    extension: str
    meta: dict


def _host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == allowed or host.endswith("." + allowed) for allowed in settings.INGEST_ALLOWED_HOSTS)


def _vetted_address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise IngestError(f"Cannot resolve {host}: {exc}") from exc
    addresses = {info[4][0] for info in infos}
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if settings.INGEST_ALLOW_INSECURE_LOCAL and ip.is_loopback:
            continue
        if not ip.is_global or ip.is_multicast:
            raise IngestError(f"{host} resolves to a non-public address ({ip}); refused.")
    return sorted(addresses)[0]


def _check_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if settings.INGEST_ALLOW_INSECURE_LOCAL else ("https",)
    if parts.scheme not in allowed_schemes:
        raise IngestError(f"Only https URLs are fetched, not {parts.scheme or 'this'}: {url[:100]}")
    if not parts.hostname or not _host_allowed(parts.hostname):
        raise IngestError(f"{parts.hostname or 'That host'} is not an allowed media host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, parts.scheme, port


def fetch(url: str, *, kind: str, max_bytes: int | None = None) -> Media:
    """Download url into a temporary file and check it decodes as kind (image, video or audio)."""
    max_bytes = max_bytes or settings.INGEST_MAX_BYTES
    deadline = time.monotonic() + settings.INGEST_TIMEOUT_SECONDS
    host, _, _ = _check_url(url)
    for _hop in range(4):
        host_now, scheme, port = _check_url(url)
        if host_now != host:
            raise IngestError(f"Refused a redirect from {host} to another host ({host_now}).")
        address = _vetted_address(host, port)
        parts = urlsplit(url)
        netloc = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))
        request_timeout = httpx.Timeout(max(1.0, deadline - time.monotonic()))
        with httpx.Client(timeout=request_timeout, follow_redirects=False) as client:
            request = client.build_request(
                "GET", pinned, headers={"Host": parts.netloc}, extensions={"sni_hostname": host}
            )
            response = client.send(request, stream=True)
            try:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise IngestError(f"Fetching the output failed with HTTP {response.status_code}.")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise IngestError(f"The output is {declared} bytes; the limit is {max_bytes}.")
                return _receive(response, kind=kind, max_bytes=max_bytes, deadline=deadline)
            finally:
                response.close()
    raise IngestError("Too many redirects.")


def _receive(response: httpx.Response, *, kind: str, max_bytes: int, deadline: float) -> Media:
    handle = tempfile.NamedTemporaryFile(prefix="ingest-", delete=False)
    path = Path(handle.name)
    try:
        size = 0
        with handle:
            for chunk in response.iter_bytes(256 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise IngestError(f"The output is larger than {max_bytes} bytes; refused.")
                if time.monotonic() > deadline:
                    raise IngestError("Fetching the output took too long; refused.")
                handle.write(chunk)
        return check(path, kind=kind)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def from_bytes(data: bytes, *, kind: str) -> Media:
    handle = tempfile.NamedTemporaryFile(prefix="ingest-", delete=False)
    with handle:
        handle.write(data)
    try:
        return check(Path(handle.name), kind=kind)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def check(path: Path, *, kind: str) -> Media:
    """Decode the file as kind; return what it is, or raise IngestError."""
    if kind == "image":
        return _check_image(path)
    return _check_av(path, kind)


def _check_image(path: Path) -> Media:
    try:
        with Image.open(path) as probe:
            fmt = probe.format
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise IngestError(f"The image is {width}x{height}; more than {MAX_IMAGE_PIXELS} pixels is refused.")
            probe.verify()
        # The full decode shares the process's decode budget with uploads (the embedded worker runs in the web
        # process); it waits for room, as a job may, and one larger than the budget waits to run alone.
        with Image.open(path) as full, decode_memory(full):
            full.load()
    except IngestError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise IngestError(f"The output is not a readable image: {exc}") from exc
    if fmt not in EXTENSIONS:
        raise IngestError(f"Images must be PNG, JPEG or WebP, not {fmt}.")
    return Media(path=path, kind="image", extension=EXTENSIONS[fmt], meta={"width": width, "height": height})


def _check_av(path: Path, kind: str) -> Media:
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise IngestError(f"The output has no {kind} stream.")
            stream = streams[0]
            for _frame in container.decode(stream):
                break
            else:
                raise IngestError(f"The output's {kind} stream has no decodable frames.")
            duration = float(container.duration / av.time_base) if container.duration else None
            fmt = container.format.name
    except IngestError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise IngestError(f"The output is not readable {kind}: {exc}") from exc
    meta: dict = {"duration": duration, "format": fmt}
    containers = VIDEO_CONTAINERS if kind == "video" else AUDIO_CONTAINERS
    if not set(fmt.split(",")) & containers:
        raise IngestError(f"The output is {fmt}, not a {kind} file.")
    if kind == "video":
        meta |= {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "codec": stream.codec_context.name,
        }
        extension = "mp4" if "mp4" in fmt else "webm" if "webm" in fmt else "mov" if "mov" in fmt else "mp4"
    else:
        meta |= {"sample_rate": stream.codec_context.sample_rate, "channels": stream.codec_context.channels}
        extension = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "flac": "flac"}.get(fmt.split(",")[0], "m4a")
    return Media(path=path, kind=kind, extension=extension, meta=meta)
