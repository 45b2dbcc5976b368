"""Request bodies are refused before they are read: the ASGI middleware per route, and Daphne's Twisted request
under the largest limit.

The fake ASGI app and receive follow the ASGI HTTP spec (https://asgi.readthedocs.io/en/latest/specs/www.html):
`http.request` messages with `body` and `more_body`, `http.disconnect`, then `http.response.start` and
`http.response.body`. The Twisted side runs on Twisted's own HTTPChannel with its StringTransport and Clock
(twisted.internet.testing), the way Twisted's tests drive it.
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from daphne import http_protocol
from django.urls import reverse
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web import http

from generation.views import MAX_WEBHOOK_BYTES
from videopipe import bodylimit
from videopipe.bodylimit import MULTIPART_MARGIN, BodyCap, BodyLimitMiddleware, install_daphne_cap, limit_for

# ASGI middleware -------------------------------------------------------------------------------------------


def run(coroutine) -> object:
    """asyncio.run on a thread of its own: a browser test earlier in the run leaves Playwright's loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class App:
    """A strict ASGI HTTP app: reads the whole body (as Django's ASGIHandler does), then answers 200 with it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.called = False

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        self.called = True
        body = b""
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect":
                return  # Django's read_body: RequestAborted, no answer
            assert message["type"] == "http.request"
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"got %d bytes" % len(body)})


class Client:
    """The server side: hands out body messages one at a time and records what was asked for and answered."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.reads = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        assert self.reads < len(self.chunks), "read past the end of the body"
        chunk = self.chunks[self.reads]
        self.reads += 1
        return {"type": "http.request", "body": chunk, "more_body": self.reads < len(self.chunks)}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def call(path: str, chunks: list[bytes], *, declared: int | None = None, headers: list | None = None):
    app = App()
    client = Client(chunks)
    scope_headers = list(headers or [])
    if declared is not None:
        scope_headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": scope_headers}
    run(BodyLimitMiddleware(app)(scope, client.receive, client.send))
    return app, client


def test_it_refuses_a_declared_length_over_the_limit_without_reading_a_byte():
    app, client = call(reverse("login"), [b"x" * 10], declared=10_000_000)
    assert client.status == 413 and client.reads == 0 and not app.called
    assert b"The request is too large (10.0 MB); at most 66 KB is accepted here." in client.body


def test_it_stops_reading_a_streamed_body_once_it_passes_the_limit(settings):
    settings.ANONYMOUS_BODY_MAX_BYTES = 10_000
    chunks = [b"x" * 4096] * 10  # 40 KB, no length declared
    app, client = call(reverse("login"), chunks, headers=[(b"hx-request", b"true")])
    assert client.reads == 3  # 12 KB read: past the limit, and not one message more
    assert [m["type"] for m in app.received] == ["http.request", "http.request", "http.disconnect"]
    assert client.status == 413 and client.headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert client.body == b"The request is too large; at most 10 KB is accepted here."


def test_a_body_within_its_limit_passes_through_unchanged():
    chunks = [b"a" * 1000, b"b" * 1000]
    app, client = call(reverse("login"), chunks, declared=2000)
    assert app.received == [
        {"type": "http.request", "body": b"a" * 1000, "more_body": True},
        {"type": "http.request", "body": b"b" * 1000, "more_body": False},
    ]
    assert client.status == 200 and client.body == b"got 2000 bytes"


def test_websockets_and_lifespan_are_not_touched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    run(BodyLimitMiddleware(app)({"type": "websocket", "path": "/ws/"}, None, None))
    assert seen == ["websocket"]


def test_each_route_has_its_own_limit(settings):
    assert limit_for(reverse("shot_upload", args=[1, 2])) == settings.UPLOAD_MAX_BYTES + MULTIPART_MARGIN
    assert limit_for(reverse("music_upload", args=[1])) == settings.MUSIC_UPLOAD_MAX_MB * 1024 * 1024 + 64 * 1024
    assert limit_for(reverse("replicate_webhook")) == MAX_WEBHOOK_BYTES == 1024 * 1024
    for anonymous in (reverse("login"), reverse("signup"), reverse("admin:login")):
        assert limit_for(anonymous) == settings.ANONYMOUS_BODY_MAX_BYTES == 64 * 1024
    assert limit_for(reverse("dashboard")) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit_for("/no/such/page/") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert bodylimit.largest_limit() == settings.MUSIC_UPLOAD_MAX_MB * 1024 * 1024 + 64 * 1024


def test_an_upload_route_takes_what_the_login_page_refuses():
    size = 3 * 1024 * 1024
    _, upload = call(reverse("shot_upload", args=[1, 2]), [b"x" * size], declared=size)
    _, login = call(reverse("login"), [b"x" * size], declared=size)
    assert (upload.status, login.status) == (200, 413)


def test_the_webhook_gets_json_and_a_browser_a_page():
    _, webhook = call(
        reverse("replicate_webhook"), [b""], declared=2_000_000, headers=[(b"content-type", b"application/json")]
    )
    assert webhook.headers[b"content-type"] == b"application/json"
    assert json.loads(webhook.body) == {"error": "The request is too large (2.0 MB); at most 1.0 MB is accepted here."}
    _, page = call(reverse("dashboard"), [b""], declared=50_000_000, headers=[(b"accept", b"text/html,*/*")])
    assert page.headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h1>Request too large</h1>" in page.body


# Daphne's Twisted request ----------------------------------------------------------------------------------


class Capped(BodyCap, http.Request):
    """BodyCap on Twisted's plain Request; process() records the body the application would get."""

    body_cap = 1000
    body_budget = 2500
    processed: list[bytes]

    def process(self) -> None:
        self.processed.append(self.content.read())


class Connections:
    """Twisted HTTP connections on one clock, each with a StringTransport standing for the socket."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.processed: list[bytes] = []

    def __call__(self) -> tuple[http.HTTPChannel, StringTransport]:
        made = http.HTTPChannel()
        made.requestFactory = Capped
        made.callLater = self.clock.callLater
        transport = StringTransport()
        made.makeConnection(transport)
        return made, transport


@pytest.fixture
def channel(monkeypatch) -> Connections:
    connections = Connections()
    monkeypatch.setattr(BodyCap, "in_flight", 0)
    monkeypatch.setattr(Capped, "processed", connections.processed, raising=False)
    return connections


def head(length: int | None = None, *extra: bytes) -> bytes:
    lines = [b"POST /accounts/login/ HTTP/1.1", b"Host: example.com", *extra]
    lines.append(b"Content-Length: %d" % length if length is not None else b"Transfer-Encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_daphne_refuses_a_declared_length_over_the_cap_at_the_header(channel):
    made, transport = channel()
    made.dataReceived(head(5000, b"Expect: 100-continue", b"HX-Request: true"))
    answer = transport.value()
    assert answer.startswith(b"HTTP/1.1 413 Content Too Large\r\n") and b"Connection: close\r\n" in answer
    assert answer.endswith(b"\r\n\r\nThe request is too large (5 KB); at most 1 KB is accepted here.")
    assert b"100 Continue" not in answer  # the client was not invited to send
    made.dataReceived(b"x" * 4000)
    assert not transport.disconnecting  # still reading (and dropping) what the client sends
    made.dataReceived(b"x" * 1000)
    assert transport.disconnecting and not transport.disconnected  # all read: a clean close
    assert channel.processed == [] and made.requests[0].content.getvalue() == b""


def test_daphne_aborts_a_refused_client_that_keeps_sending(channel):
    made, transport = channel()
    made.dataReceived(head(10**9) + b"x" * 5000)
    channel.clock.advance(BodyCap.linger_seconds)
    assert transport.disconnected


def test_daphne_counts_a_chunked_body_and_refuses_it_midway(channel):
    made, transport = channel()
    made.dataReceived(head() + b"258\r\n" + b"x" * 600 + b"\r\n")
    assert transport.value() == b""
    made.dataReceived(b"258\r\n" + b"x" * 600 + b"\r\n")
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    made.dataReceived(b"258\r\n" + b"x" * 600 + b"\r\n0\r\n\r\n")
    assert transport.disconnecting and channel.processed == []


def test_daphne_hands_over_a_body_within_the_cap_without_parsing_it(channel):
    made, transport = channel()
    body = b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nsecret\r\n--b--\r\n'
    made.dataReceived(head(len(body), b"Content-Type: multipart/form-data; boundary=b") + body)
    assert channel.processed == [body] and transport.value() == b""
    assert made.requests[0].args == {}  # Twisted's own form parsing (10x a body's size in memory) is off


def test_daphne_holds_complete_bodies_in_hand_to_a_budget(channel):
    first, _ = channel()
    first.dataReceived(head(900) + b"x" * 900)
    second, _ = channel()
    second.dataReceived(head(900) + b"x" * 900)
    assert BodyCap.in_flight == 1800
    third, busy = channel()
    third.dataReceived(head(900, b"Accept: application/json") + b"x" * 900)
    assert busy.value().startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 5\r\n" in busy.value()
    assert busy.value().endswith(b'"The server is busy receiving other uploads; try again in a moment."}')
    assert busy.disconnecting and len(channel.processed) == 2

    first.requests[0].finish()
    second.connectionLost(Exception("gone"))
    assert BodyCap.in_flight == 0
    again, transport = channel()
    again.dataReceived(head(900) + b"x" * 900)
    assert len(channel.processed) == 3 and transport.value() == b""


def test_a_body_larger_than_the_budget_is_handed_over_alone(channel, monkeypatch):
    monkeypatch.setattr(Capped, "body_budget", 500)
    alone, _ = channel()
    alone.dataReceived(head(900) + b"x" * 900)
    assert len(channel.processed) == 1
    small, busy = channel()
    small.dataReceived(head(10) + b"x" * 10)
    assert busy.value().startswith(b"HTTP/1.1 503 ")


def test_the_cap_is_installed_in_daphnes_request_class(monkeypatch, settings):
    # Importing videopipe.asgi (other tests do) installs it; start from Daphne's own class.
    daphne_request = next(c for c in http_protocol.WebRequest.__mro__ if c.__module__ == "daphne.http_protocol")
    monkeypatch.setattr(http_protocol, "WebRequest", daphne_request)
    install_daphne_cap()
    install_daphne_cap()  # once only: importing the app again must not stack subclasses
    request_class = http_protocol.HTTPFactory(server=None).buildProtocol(None).requestFactory
    assert request_class.__bases__ == (BodyCap, daphne_request)
    assert request_class.body_cap == bodylimit.largest_limit()
    assert request_class.body_budget == bodylimit.largest_limit() + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
