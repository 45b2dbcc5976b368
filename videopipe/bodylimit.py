"""Request bodies are refused before they are read, so a hostile upload cannot fill the web process.

Two layers, because Daphne reads a whole body before the application sees any of it: Twisted's Request
buffers it (in memory under 100 KB, a temporary file above), then Daphne's WebRequest.process() reads all of
it and puts every chunk on the application's queue at once. An ASGI middleware alone would see the body only
once it is in memory.

- `BodyCap`, installed in Daphne by `install_daphne_cap`, works while Twisted receives the body: one over the
  largest route limit is answered 413 (a declared Content-Length at the header, a chunked body as it passes
  the cap), and complete bodies are handed to the application only up to a budget (503 past it).
- `BodyLimitMiddleware` (any ASGI server) applies each route's own limit: a declared length over it is
  refused without reading, a streamed body as soon as it passes it.
"""

import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Boundaries, part headers, the CSRF token and a form's other fields around an uploaded file.
MULTIPART_MARGIN = 64 * 1024
TOO_LARGE = "Request too large"


def serving_with_daphne() -> bool:
    """True in a process started as `daphne …` or `python -m daphne …` (not in tests, shells or workers)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return Path(sys.argv[0]).name == "daphne" or (spec is not None and spec.name.split(".")[0] == "daphne")


def route_limits() -> dict[str, int]:
    """Body limits by URL name; every other route gets DATA_UPLOAD_MAX_MEMORY_SIZE."""
    from generation.views import MAX_WEBHOOK_BYTES  # noqa: PLC0415 - needs the app registry ready

    anonymous = settings.ANONYMOUS_BODY_MAX_BYTES
    return {
        "shot_upload": settings.UPLOAD_MAX_BYTES + MULTIPART_MARGIN,
        "music_upload": settings.MUSIC_UPLOAD_MAX_MB * 1024 * 1024 + MULTIPART_MARGIN,
        "replicate_webhook": MAX_WEBHOOK_BYTES,
        "login": anonymous,
        "signup": anonymous,
        "admin:login": anonymous,
    }


def limit_for(path: str) -> int:
    try:
        name = resolve(path).view_name
    except Resolver404:
        name = ""
    return route_limits().get(name, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def largest_limit() -> int:
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, *route_limits().values())


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1000:.0f} KB"


def too_large(limit: int, size: int | None) -> str:
    declared = f" ({_size(size)})" if size is not None else ""
    return f"The request is too large{declared}; at most {_size(limit)} is accepted here."


def answer(headers: Mapping[bytes, bytes], title: str, message: str) -> tuple[bytes, bytes]:
    """(content type, body) of a refusal: plain text for htmx (the page shows it), JSON for JSON, else HTML."""
    accept = headers.get(b"accept", b"")
    if headers.get(b"hx-request"):
        return b"text/plain; charset=utf-8", message.encode()
    if b"json" in headers.get(b"content-type", b"") or (b"json" in accept and b"html" not in accept):
        return b"application/json", json.dumps({"error": message}).encode()
    page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{escape(message)}</p>"
    return b"text/html; charset=utf-8", page.encode()


class BodyLimitMiddleware:
    """Wraps the HTTP app: a body over its route's limit gets 413, and the app sees a disconnect instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        limit = limit_for(path.removeprefix(root) if root else path)
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _answer_413(send, answer(headers, TOO_LARGE, too_large(limit, int(length))))
            return

        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django reads a disconnect as an aborted request and stops; nothing more is read.
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the app's answer to the "disconnect"; ours follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if refused and not started:
            await _answer_413(send, answer(headers, TOO_LARGE, too_large(limit, None)))


async def _answer_413(send: Send, reply: tuple[bytes, bytes]) -> None:
    content_type, body = reply
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Daphne ------------------------------------------------------------------------------------------------


class BodyCap:
    """Mixed into a twisted.web.http.Request: bodies over body_cap are refused before they are buffered, and
    bodies handed to the application at once are held to body_budget bytes.

    Twisted calls gotLength when the headers are in (before any body byte is stored) and handleContentChunk
    for each piece of body; the request reaches requestReceived, then process() (Daphne), once the body is
    complete, and Daphne then holds all of it in memory until the application has read it. So a complete body
    that would take the bodies in the application's hands past body_budget is answered 503 (Retry-After);
    one larger than the budget is let through only alone.

    It also stops Twisted parsing form bodies into request.args, which Daphne never reads: Twisted reads a
    whole multipart body into memory and through the email parser, about ten times its size (a 40 MB POST
    took Daphne from 120 MB to 609 MB).
    """

    body_cap = 0
    body_budget = 0
    # After a 413, what the client still sends is read and dropped for this long: closing a socket with
    # unread data sends a reset, which can destroy the answer before the client reads it.
    linger_seconds = 2.0
    # Bytes of complete bodies handed to the application and not yet answered, over the whole process
    # (Twisted calls every request on the reactor's one thread).
    in_flight = 0
    _body_received = 0
    _reserved = 0
    _refused = False
    _linger: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
        if length is not None and length > self.body_cap:
            self._refuse(length)
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self._refused:
            return
        self._body_received += len(data)
        if self._body_received > self.body_cap:
            self._refuse(None)
        else:
            super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802 - Twisted's name
        if self._refused:
            # The whole body arrived and was dropped; nothing is left unread, so the close is clean.
            if self._linger is not None and self._linger.active():
                self._linger.cancel()
            self.channel.loseConnection()
            return
        size = self.content.tell()
        if size and BodyCap.in_flight and BodyCap.in_flight + size > self.body_budget:
            busy = "The server is busy receiving other uploads; try again in a moment."
            self._answer(b"503 Service Unavailable", "Busy", busy, b"Retry-After: 5\r\n")
            self.channel.loseConnection()
            logger.warning("Refused a %s-byte body: %s bytes of bodies already in hand", size, BodyCap.in_flight)
            return
        self._reserved = size
        BodyCap.in_flight += size
        super().requestReceived(command, path, version)

    def finish(self) -> None:
        self._release()
        super().finish()

    def connectionLost(self, reason: object) -> None:  # noqa: N802 - Twisted's name
        self._release()
        super().connectionLost(reason)

    def _release(self) -> None:
        BodyCap.in_flight -= self._reserved
        self._reserved = 0

    def _refuse(self, size: int | None) -> None:
        self._refused = True
        self.content = BytesIO()
        # Twisted answers `Expect: 100-continue` right after gotLength; the client must not be invited to send.
        self.requestHeaders.removeHeader(b"Expect")
        self._answer(b"413 Content Too Large", TOO_LARGE, too_large(self.body_cap, size))
        self._linger = self.channel.callLater(self.linger_seconds, self._abort)
        logger.warning("Refused a request body over %s bytes (declared: %s)", self.body_cap, size)

    def _answer(self, status: bytes, title: str, message: str, extra: bytes = b"") -> None:
        """Write a whole answer straight to the connection (it is closed after, so nothing follows it)."""
        headers = {name.lower(): values[-1] for name, values in self.requestHeaders.getAllRawHeaders()}
        content_type, body = answer(headers, title, message)
        head = b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n" % (
            status,
            content_type,
            len(body),
        )
        self.channel.transport.write(head + extra + b"\r\n" + body)

    def _abort(self) -> None:
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.abortConnection()


def install_daphne_cap() -> None:
    """Make Daphne's HTTP requests a BodyCap, capped at the largest route limit.

    Daphne offers no hook for this: its HTTPFactory.buildProtocol gives every connection the request class
    named WebRequest in daphne.http_protocol, read at each call, so that name is pointed at a subclass.
    """
    from daphne import http_protocol  # noqa: PLC0415 - only where Daphne is installed

    if not issubclass(http_protocol.WebRequest, BodyCap):

        class CappedWebRequest(BodyCap, http_protocol.WebRequest):
            pass

        http_protocol.WebRequest = CappedWebRequest
    http_protocol.WebRequest.body_cap = largest_limit()
    # Room for the largest body and the small ones (forms) that keep arriving while it is being handled.
    http_protocol.WebRequest.body_budget = largest_limit() + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
