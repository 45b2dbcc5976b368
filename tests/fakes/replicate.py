"""A fake Replicate on 127.0.0.1, as strict as Replicate: real HTTP, the stored contracts, signed webhooks.

It speaks what the official client (replicate 1.0.7) sends and parses, and
refuses what Replicate refuses, from the model contracts kept in
generation/contracts/replicate/*.json:

- POST /v1/models/{owner}/{name}/predictions runs official models only; an
  unknown model, or a community model there, answers 404 "The requested
  resource could not be found." as api.replicate.com does. POST /v1/predictions
  takes `version` ("<id>", "owner/name:<id>", or "owner/name" for an official
  model); an unknown version answers 422 "Invalid version or not permitted".
- The body: `input` required, no unknown top-level keys, `webhook` an https URL
  (http on loopback is accepted: the tests' server), `webhook_events_filter`
  only start/output/logs/completed. The input is validated against the
  version's Input schema; refusals answer 422 "Input validation failed" with
  `invalid_fields` (see replicate_rules.py for the wording).
- File inputs must be URLs: one the fake's files API issued (and that still
  exists), a data: URI, or an http(s) URL it can fetch (a presigned S3 URL, say).
  A file that cannot be fetched fails the prediction, as Cog's download does.
- /v1/files: multipart upload (`content`, optional `metadata`) answering 201
  with the File the client parses; GET metadata; content at /v1/files/{id}/download.
  `uploads` keeps every upload so tests can see local media went through it.
- Outputs follow each model's Output schema with real media of the right kind
  (PNG/JPEG/WebP stills, MP4 clips of the asked length, with a soundtrack only
  for models that make their own, MP3/WAV/FLAC audio), served on loopback.
- GET /v1/models/{owner}/{name} (and .../versions/{id}) publish the contract's
  schema as latest_version.openapi_schema; `switches.published` overrides it.
- GET /v1/predictions lists newest first, `switches.list_page_size` (100, as
  Replicate) a page, with `next`/`previous` cursor URLs and the `created_after`
  / `created_before` / `source` filters; list items are the documented list
  fields (no logs, no webhook). GET /v1/predictions/{id} is the full object,
  with `webhook` and `webhook_events_filter` when the create set a webhook
  (`switches.webhook_in_payload` drops them, as the documented example does).
  Every list request is kept in `listings`. See replicate_records.prediction_page.

Each prediction runs on a timer (starting, processing after `delay`, then
succeeded or failed) and, when the create asked for a webhook, delivers start
and completed events signed with `standardwebhooks`. Switches: delays, create
failures (429, 500, 422), failing predictions, duplicate and reordered webhooks,
held predictions, answers lost after the create.

Sources for the API's behaviour:
- https://replicate.com/docs/reference/http (predictions.create, models.predictions.create, files, models.get)
- https://sdks.replicate.com/resources/files/methods/create (files: content, metadata, the File's fields)
- https://replicate.com/changelog/2024-05-01-improved-validation-for-api-prediction-payloads (invalid_fields)
- https://replicate.com/changelog/2025-08-05-run-all-models-with-the-same-api-endpoint (version formats)
- https://replicate.com/docs/topics/webhooks (https webhooks, events start/output/logs/completed)
- https://replicate.com/docs/reference/http#predictions.list (100 a page, newest first, created_after/created_before),
  the OpenAPI-generated client replicate/replicate-python-beta (predictions.list, CursorURLPage follows `next`
  as given), replicate-python 1.0.7 pagination.Page (next/previous/results); see
  generation/contracts/replicate/README.md for the rest of the list contract and what is inferred.
- 422 and 404 bodies as quoted from api.replicate.com answers in public repositories
  ("- input.output_format: output_format must be one of the following: ...",
  "The specified version does not exist (or perhaps you don't have permission to use it?)",
  {"detail": "The requested resource could not be found.", "status": 404} for an unversioned community model).
"""

import base64
import itertools
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks import Webhook

from generation import contracts
from generation.contracts import Contract
from tests.fakes import replicate_media as media
from tests.fakes import replicate_rules as rules
from tests.fakes.replicate_records import (
    ListError,
    Prediction,
    StoredFile,
    Switches,
    multipart,
    now,
    prediction_page,
    version_id,
)

SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXZpZGVvcGlwZS13ZWJob29rcw=="
# What each model makes; the Output schema says one URI or a list of them.
KINDS = {
    "black-forest-labs/flux-schnell": "image",
    "black-forest-labs/flux-dev": "image",
    "wan-video/wan-2.5-i2v": "video",
    "kwaivgi/kling-v2.1": "video",
    "sync/lipsync-2": "lipsync",
    "minimax/speech-02-turbo": "speech",
    "meta/musicgen": "music",
}
CHARACTERS_PER_SECOND = 15  # a speaking pace, so longer text makes longer speech


class FakeReplicate:
    def __init__(self) -> None:
        self.switches = Switches()
        self.contracts = contracts.replicate_contracts()
        self.predictions: dict[str, Prediction] = {}
        self.uploads: dict[str, StoredFile] = {}  # everything POSTed to /v1/files, by id
        self.delivered: dict[str, tuple[bytes, str]] = {}  # outputs served at /files/<name>
        self.creates: list[float] = []  # time of every create request, accepted or not
        self.refused: list[dict] = []  # the 4xx answers to creates, newest last
        self.deliveries: list[tuple[str, str]] = []  # (event status, http status)
        self.listings: list[str] = []  # the query of every GET /v1/predictions, in order
        self.downloads_started = 0  # GETs of outputs, answered or not
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

            def do_DELETE(self) -> None:
                fake._delete(self)

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
            self._send(handler, 401, {"title": "Unauthenticated", "detail": "Invalid token", "status": 401})
            return False
        return True

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path.startswith("/files/"):  # the outputs' delivery host: no token, as replicate.delivery
            self.downloads_started += 1
            time.sleep(self.switches.download_delay)
            data, content_type = self.delivered.get(path.removeprefix("/files/"), (b"", ""))
            self._send(handler, 200 if data else 404, data or {"detail": "gone"}, content_type or "application/json")
            return
        if match := re.fullmatch(r"/v1/files/([\w-]+)/download", path):
            # Replicate signs this URL (owner, expiry, signature); the fake serves the content as is.
            stored = self.uploads.get(match.group(1))
            self._send(handler, 200 if stored else 404, stored.data if stored else rules.not_found(),
                       stored.content_type if stored else "application/json")  # fmt: skip
            return
        if not self._authorized(handler):
            return
        if path == "/v1/predictions":
            query = handler.path.partition("?")[2]
            with self._lock:
                self.listings.append(query)
                predictions = list(self.predictions.values())
            try:
                page = prediction_page(predictions, base=self.url, query=query, size=self.switches.list_page_size)
            except ListError as refused:
                self._send(handler, refused.status, refused.body)
                return
            self._send(handler, 200, page)
        elif match := re.fullmatch(r"/v1/predictions/([\w-]+)", path):
            prediction = self.predictions.get(match.group(1))
            self._send(handler, 200 if prediction else 404, self._full(prediction) if prediction else rules.not_found())
        elif path == "/v1/files":
            self._send(handler, 200, {"results": [f.payload(self.url) for f in self.uploads.values()], "next": None})
        elif match := re.fullmatch(r"/v1/files/([\w-]+)", path):
            stored = self.uploads.get(match.group(1))
            self._send(handler, 200 if stored else 404, stored.payload(self.url) if stored else rules.not_found())
        elif match := re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)", path):
            contract = self.contracts.get(f"{match.group(1)}/{match.group(2)}")
            self._send(
                handler, 200 if contract else 404, self.model_payload(contract) if contract else rules.not_found()
            )
        elif match := re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/versions/(\w+)", path):
            contract = self.contracts.get(f"{match.group(1)}/{match.group(2)}")
            found = contract is not None and version_id(contract) == match.group(3)
            self._send(handler, 200 if found else 404, self.version_payload(contract) if found else rules.not_found())
        else:
            self._send(handler, 404, rules.not_found())

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if not self._authorized(handler):
            return
        path = handler.path.split("?")[0]
        if match := re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/predictions", path):
            contract = self.contracts.get(f"{match.group(1)}/{match.group(2)}")
            # Only official models run by name; a community model is "not found" here, as on Replicate.
            self._create(handler, contract if contract and contract.official else None, body, by_version=False)
        elif path == "/v1/predictions":
            self._create(handler, None, body, by_version=True)
        elif match := re.fullmatch(r"/v1/predictions/([\w-]+)/cancel", path):
            prediction = self.predictions.get(match.group(1))
            if prediction and prediction.status not in ("succeeded", "failed", "canceled"):
                prediction.status = "canceled"
                prediction.completed_at = now()
            self._send(handler, 200 if prediction else 404, self._full(prediction) if prediction else rules.not_found())
        elif path == "/v1/files":
            self._upload(handler, body)
        else:
            self._send(handler, 404, rules.not_found())

    def _delete(self, handler: BaseHTTPRequestHandler) -> None:
        if not self._authorized(handler):
            return
        match = re.fullmatch(r"/v1/files/([\w-]+)", handler.path.split("?")[0])
        stored = self.uploads.pop(match.group(1), None) if match else None
        self._send(handler, 204 if stored else 404, b"" if stored else rules.not_found())

    def _upload(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = multipart(handler.headers.get("Content-Type", ""), body)
        if "content" not in parts:
            fields = [{"type": "required", "field": "", "description": "content is required"}]
            self._send(handler, 422, rules.validation_failed(fields))
            return
        filename, content_type, data = parts["content"]
        stored = StoredFile(
            id=uuid.uuid4().hex[:26],
            name=filename or "file",
            content_type=content_type or "application/octet-stream",
            data=data,
            metadata=json.loads(parts["metadata"][2] or b"{}") if "metadata" in parts else {},
        )
        self.uploads[stored.id] = stored
        self._send(handler, 201, stored.payload(self.url))

    def _full(self, prediction: Prediction) -> dict:
        return prediction.payload(self.url, with_webhook=self.switches.webhook_in_payload)

    def model_payload(self, contract: Contract) -> dict:
        owner, name = contract.model.split("/")
        return {
            "url": f"https://replicate.com/{contract.model}",
            "owner": owner,
            "name": name,
            "description": f"The fake's copy of {contract.model}",
            "visibility": "public",
            "github_url": None,
            "paper_url": None,
            "license_url": None,
            "run_count": len([p for p in self.predictions.values() if p.model == contract.model]),
            "cover_image_url": None,
            "default_example": None,
            "latest_version": self.version_payload(contract),
        }

    def version_payload(self, contract: Contract) -> dict:
        schema = self.switches.published.get(contract.model) or {
            "openapi": "3.0.2",
            "info": {"title": "Cog", "version": "0.1.0"},
            "components": contract.openapi["components"],
        }
        return {"id": version_id(contract), "created_at": "2025-01-01T00:00:00Z", "cog_version": "0.9.0",
                "openapi_schema": schema}  # fmt: skip

    # Creating -------------------------------------------------------------

    def _by_version(self, ref: object) -> Contract | None:
        if not isinstance(ref, str):
            return None
        name, _, wanted = ref.partition(":") if "/" in ref else ("", "", ref)
        if name and not wanted:  # "owner/name": official models only (2025-08-05)
            contract = self.contracts.get(name)
            return contract if contract and contract.official else None
        for contract in self.contracts.values():
            if version_id(contract) == wanted and (not name or name == contract.model):
                return contract
        return None

    def _refuse(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        with self._lock:
            self.refused.append(body)
        self._send(handler, status, body)

    def _create(
        self, handler: BaseHTTPRequestHandler, contract: Contract | None, raw: bytes, *, by_version: bool
    ) -> None:
        with self._lock:
            self.creates.append(time.monotonic())
            failure = self.switches.create_failures.pop(0) if self.switches.create_failures else None
        if failure:
            title = {429: "Too many requests", 422: "Input validation failed"}.get(failure, "Server error")
            self._send(handler, failure, rules.problem(failure, title, f"fake {failure}"))
            return
        if not by_version and contract is None:
            self._refuse(handler, 404, rules.not_found())
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._refuse(handler, 400, rules.problem(400, "Bad request", "The body is not JSON."))
            return
        if fields := rules.body_problems(body, by_version=by_version):
            self._refuse(handler, 422, rules.validation_failed(fields))
            return
        if by_version and (contract := self._by_version(body["version"])) is None:
            self._refuse(handler, 422, rules.invalid_version())
            return
        if fields := rules.input_problems(contract, body["input"]):
            self._refuse(handler, 422, rules.validation_failed(fields))
            return
        seq = next(self._counter)
        prediction = Prediction(
            id=f"pred{seq}{uuid.uuid4().hex[:6]}",
            seq=seq,
            model=contract.model,
            version=version_id(contract),
            via="version" if by_version else "model",
            input=body["input"],
            webhook=body.get("webhook"),
            events=body.get("webhook_events_filter") or ["start", "output", "logs", "completed"],
        )
        self.predictions[prediction.id] = prediction
        threading.Thread(target=self._run, args=(prediction, contract), daemon=True).start()
        with self._lock:
            late_error = self.switches.create_then_error.pop(0) if self.switches.create_then_error else None
            delay, self.switches.create_answer_delay = self.switches.create_answer_delay, 0.0
            delay += self.switches.create_answer_hold
        if delay:
            time.sleep(delay)
        if late_error:
            self._send(handler, late_error, rules.problem(late_error, "Server error", "fake lost answer"))
            return
        try:
            self._send(handler, 201, self._full(prediction))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting; the prediction exists all the same

    # Running --------------------------------------------------------------

    def read_input(self, url: str) -> bytes:
        """What the model downloads for a file input: our files API, a data: URI, or any http(s) URL."""
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        if match := re.fullmatch(
            re.escape(self.url) + r"/v1/files/([\w-]+)(/download)?", url.split("?", maxsplit=1)[0]
        ):
            stored = self.uploads.get(match.group(1))
            if stored is None:
                raise LookupError(f"{url} was deleted or never uploaded")
            return stored.data
        response = httpx.get(url, timeout=10, follow_redirects=True)
        if response.status_code != 200:
            raise LookupError(f"{url} answered HTTP {response.status_code}")
        return response.content

    def _serve(self, name: str, data: bytes, content_type: str) -> str:
        self.delivered[name] = (data, content_type)
        return f"{self.url}/files/{name}"

    def output_file(self, prediction: object) -> str:
        """A PNG served like an output (for tests that play Replicate's part by hand)."""
        data, _, content_type = media.image(aspect_ratio="16:9", output_format="png")
        return self._serve(f"{prediction.id}.png", data, content_type)

    def produce(self, prediction: Prediction, contract: Contract) -> object:
        """The model's output: the Output schema's shape, real media of the model's kind."""
        params = {k: spec["default"] for k, spec in contract.properties().items() if "default" in spec}
        params |= prediction.input
        kind = KINDS[contract.model]
        if kind == "image":
            urls = []
            for n in range(int(params.get("num_outputs", 1))):
                data, ext, content_type = media.image(
                    aspect_ratio=params.get("aspect_ratio", "1:1"),
                    output_format=params.get("output_format", "webp"),
                    index=n,
                )
                urls.append(self._serve(f"{prediction.id}-out-{n}.{ext}", data, content_type))
            return urls
        if kind == "video":
            data = media.video(seconds=float(params.get("duration", 5)), with_audio=contract.has_audio)
            return self._serve(f"{prediction.id}.mp4", data, "video/mp4")
        if kind == "lipsync":
            data = media.lipsynced(
                video_bytes=prediction.files["video"],
                audio_bytes=prediction.files["audio"],
                sync_mode=str(prediction.input.get("sync_mode", "loop")),
            )
            return self._serve(f"{prediction.id}.mp4", data, "video/mp4")
        if kind == "speech":
            seconds = max(1.0, len(str(params["text"])) / CHARACTERS_PER_SECOND)
            channels = 2 if params.get("channel") == "stereo" else 1
            data, ext, content_type = media.audio(
                seconds=seconds, audio_format=params["audio_format"], channels=channels
            )
        else:
            data, ext, content_type = media.audio(
                seconds=float(params.get("duration", 8)), audio_format=params.get("output_format", "wav"), channels=2
            )
        return self._serve(f"{prediction.id}.{ext}", data, content_type)

    def _run(self, prediction: Prediction, contract: Contract) -> None:
        time.sleep(self.switches.delay)
        if prediction.status == "canceled":
            return
        prediction.status = "processing"
        prediction.started_at = now()
        prediction.logs = "generating 40%"
        start_payload = self._full(prediction)
        if not self.switches.reorder:
            self.deliver(prediction, start_payload, "start")
        try:
            for name in rules.file_inputs(contract):
                if isinstance(prediction.input.get(name), str):
                    prediction.files[name] = self.read_input(prediction.input[name])
        except (LookupError, httpx.HTTPError) as exc:
            self._finish(prediction, start_payload, error=f"Failed to download the input file: {exc}")
            return
        time.sleep(self.switches.delay)
        if self.switches.hold or prediction.status == "canceled":
            return
        if self.switches.outcome != "succeeded":
            self._finish(prediction, start_payload, error="NSFW content detected")
            return
        try:
            prediction.output = self.produce(prediction, contract)
        except Exception as exc:  # a model's crash is a failed prediction, not a dead thread
            self._finish(prediction, start_payload, error=f"{type(exc).__name__}: {exc}")
            return
        self._finish(prediction, start_payload)

    def _finish(self, prediction: Prediction, start_payload: dict, *, error: str | None = None) -> None:
        prediction.status = "failed" if error else "succeeded"
        prediction.error = error
        prediction.completed_at = now()
        completed = self._full(prediction)
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
        stamp = datetime.now(tz=UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, stamp, body),
            "content-type": "application/json",
        }
        try:
            response = httpx.post(prediction.webhook, content=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:  # an unreachable receiver is its problem, not the fake's
            with self._lock:
                self.deliveries.append((payload["status"], type(exc).__name__))
            return None
        with self._lock:
            self.deliveries.append((payload["status"], str(response.status_code)))
        return response.status_code
