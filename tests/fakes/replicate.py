"""A fake Replicate on 127.0.0.1: real HTTP, the predictions API, signed webhooks.

It speaks what the official client sends: create by model
(POST /v1/models/{owner}/{name}/predictions), get, list, cancel, file uploads,
and serves output files. Each prediction runs on a timer (starting,
processing after `delay`, then succeeded or failed) and, when the create asked
for a webhook, delivers start and completed events signed with the
`standardwebhooks` package. Switches: delays, create failures (429, 500),
failing predictions, duplicate and reordered webhooks.
"""

import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks import Webhook

from generation.providers.offline import image as offline_image

SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXZpZGVvcGlwZS13ZWJob29rcw=="


@dataclass
class Prediction:
    id: str
    model: str
    input: dict
    webhook: str | None
    events: list[str]
    status: str = "starting"
    output: object = None
    error: str | None = None
    logs: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(tz=UTC).isoformat())

    def payload(self, base: str) -> dict:
        return {
            "id": self.id,
            "model": self.model,
            "version": "fake-version",
            "input": self.input,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "logs": self.logs,
            "metrics": {"predict_time": 0.5} if self.status == "succeeded" else {},
            "created_at": self.created_at,
            "urls": {"get": f"{base}/v1/predictions/{self.id}", "cancel": f"{base}/v1/predictions/{self.id}/cancel"},
        }


@dataclass
class Switches:
    delay: float = 0.2  # seconds before processing, and again before completion
    create_failures: list[int] = field(default_factory=list)  # statuses to answer the next creates with
    outcome: str = "succeeded"
    completed_copies: int = 1  # how many times to deliver the completed webhook, concurrently
    reorder: bool = False  # deliver "start" after "completed"
    output_kind: str = "image"
    hold: bool = False  # never finish on its own (for cancel and sweeper tests)
    # Create the prediction, then answer the create with an error, or too late: the client cannot know it exists.
    create_then_error: list[int] = field(default_factory=list)
    create_answer_delay: float = 0.0


class FakeReplicate:
    def __init__(self) -> None:
        self.switches = Switches()
        self.predictions: dict[str, Prediction] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.creates: list[float] = []  # time of every create request, accepted or not
        self.deliveries: list[tuple[str, str]] = []  # (event status, http status)
        self.webhook = Webhook(SECRET)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._get(self)

            def do_POST(self) -> None:
                fake._post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # HTTP ---------------------------------------------------------------

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, body: object, content_type: str = "application/json"
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        if handler.headers.get("Authorization") != "Bearer test-token":
            self._send(handler, 401, {"title": "Unauthenticated", "detail": "Invalid token"})
            return False
        return True

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path.startswith("/files/"):
            data, content_type = self.files.get(path.removeprefix("/files/"), (b"", ""))
            self._send(handler, 200 if data else 404, data or {"detail": "gone"}, content_type or "application/json")
            return
        if not self._authorized(handler):
            return
        if path == "/v1/predictions":
            results = [p.payload(self.url) for p in reversed(self.predictions.values())]
            self._send(handler, 200, {"results": results, "next": None, "previous": None})
        elif match := re.fullmatch(r"/v1/predictions/([\w-]+)", path):
            prediction = self.predictions.get(match.group(1))
            self._send(
                handler,
                200 if prediction else 404,
                prediction.payload(self.url) if prediction else {"detail": "Not found"},
            )
        else:
            self._send(handler, 404, {"detail": "Not found"})

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if not self._authorized(handler):
            return
        path = handler.path.split("?")[0]
        if match := re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/predictions", path):
            self._create(handler, f"{match.group(1)}/{match.group(2)}", json.loads(body))
        elif match := re.fullmatch(r"/v1/predictions/([\w-]+)/cancel", path):
            prediction = self.predictions.get(match.group(1))
            if prediction and prediction.status not in ("succeeded", "failed", "canceled"):
                prediction.status = "canceled"
            self._send(handler, 200 if prediction else 404, prediction.payload(self.url) if prediction else {})
        elif path == "/v1/files":
            name = f"upload-{uuid.uuid4().hex}"
            self.files[name] = (body, "application/octet-stream")
            self._send(handler, 201, {"id": name, "urls": {"get": f"{self.url}/files/{name}"}, "name": name})
        else:
            self._send(handler, 404, {"detail": "Not found"})

    def _create(self, handler: BaseHTTPRequestHandler, model: str, body: dict) -> None:
        with self._lock:
            self.creates.append(time.monotonic())
            failure = self.switches.create_failures.pop(0) if self.switches.create_failures else None
        if failure:
            headers_body = {
                "title": "Too many requests" if failure == 429 else "Server error",
                "detail": f"fake {failure}",
                "status": failure,
            }
            self._send(handler, failure, headers_body)
            return
        prediction = Prediction(
            id=f"pred{next(self._counter)}{uuid.uuid4().hex[:6]}",
            model=model,
            input=body.get("input", {}),
            webhook=body.get("webhook"),
            events=body.get("webhook_events_filter") or ["start", "output", "logs", "completed"],
        )
        self.predictions[prediction.id] = prediction
        threading.Thread(target=self._run, args=(prediction,), daemon=True).start()
        with self._lock:
            late_error = self.switches.create_then_error.pop(0) if self.switches.create_then_error else None
            delay, self.switches.create_answer_delay = self.switches.create_answer_delay, 0.0
        if delay:
            time.sleep(delay)
        if late_error:
            self._send(
                handler, late_error, {"title": "Server error", "detail": "fake lost answer", "status": late_error}
            )
            return
        try:
            self._send(handler, 201, prediction.payload(self.url))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting; the prediction exists all the same

    # Lifecycle ------------------------------------------------------------

    def output_file(self, prediction: Prediction) -> str:
        name = f"{prediction.id}.png"
        picture = offline_image.draw(prompt=str(prediction.input.get("prompt", "fake")), seed=7)
        self.files[name] = (offline_image.to_png(picture), "image/png")
        return f"{self.url}/files/{name}"

    def _run(self, prediction: Prediction) -> None:
        time.sleep(self.switches.delay)
        if prediction.status == "canceled":
            return
        prediction.status = "processing"
        prediction.logs = "generating 40%"
        start_payload = prediction.payload(self.url)
        if not self.switches.reorder:
            self.deliver(prediction, start_payload, "start")
        time.sleep(self.switches.delay)
        if self.switches.hold or prediction.status == "canceled":
            return
        if self.switches.outcome == "succeeded":
            prediction.output = [self.output_file(prediction)]
            prediction.status = "succeeded"
        else:
            prediction.status = "failed"
            prediction.error = "NSFW content detected"
        completed = prediction.payload(self.url)
        threads = [
            threading.Thread(target=self.deliver, args=(prediction, completed, "completed"))
            for _ in range(self.switches.completed_copies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.switches.reorder:
            self.deliver(prediction, start_payload, "start")

    def deliver(
        self, prediction: Prediction, payload: dict, event: str, *, webhook_id: str | None = None
    ) -> int | None:
        if not prediction.webhook or event not in prediction.events:
            return None
        body = json.dumps(payload)
        msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        now = datetime.now(tz=UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, now, body),
            "content-type": "application/json",
        }
        response = httpx.post(prediction.webhook, content=body, headers=headers, timeout=30)
        with self._lock:
            self.deliveries.append((payload["status"], str(response.status_code)))
        return response.status_code
