"""The fake Replicate's records: uploaded files and predictions, in the shapes the API answers with.

The list of predictions is paged as GET /v1/predictions pages it (see
generation/contracts/replicate/README.md, "List predictions"): newest first,
100 a page, `next`/`previous` absolute URLs carrying an opaque `cursor` and the
request's other query parameters, `created_after` (inclusive) and
`created_before` (exclusive) ISO 8601 filters, `source=web`.
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from generation.contracts import Contract


def now() -> str:
    return datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str, str, bytes]]:
    """A multipart/form-data body's parts by field name: (filename, content type, bytes), byte for byte."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not found:
        return {}
    parts = {}
    for chunk in body.split(b"--" + found.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name = re.search(r'(?<!file)name="([^"]*)"', headers)
        filename = re.search(r'filename="([^"]*)"', headers)
        kind = re.search(r"content-type:\s*([^\r\n;]+)", headers, re.IGNORECASE)
        if name:
            parts[name.group(1)] = (
                filename.group(1) if filename else "",
                kind.group(1).strip() if kind else "",
                data.removesuffix(b"\r\n"),
            )
    return parts


def version_id(contract: Contract) -> str:
    # Official models' versions are often unpublished; a stable stand-in keeps get and run consistent.
    return contract.version or hashlib.sha256(contract.model.encode()).hexdigest()


@dataclass
class StoredFile:
    id: str
    name: str
    content_type: str
    data: bytes
    metadata: dict
    created_at: datetime = field(default_factory=lambda: datetime.now(tz=UTC))

    def payload(self, base: str) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.data),
            "etag": hashlib.md5(self.data).hexdigest(),  # as S3 makes it
            "checksums": {"sha256": hashlib.sha256(self.data).hexdigest(), "md5": hashlib.md5(self.data).hexdigest()},
            "metadata": self.metadata,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "expires_at": (self.created_at + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
            "urls": {"get": f"{base}/v1/files/{self.id}"},
        }


@dataclass
class Prediction:
    id: str
    model: str
    input: dict
    webhook: str | None
    events: list[str]
    version: str = ""
    via: str = "model"  # which endpoint created it: "model" (by name) or "version" (POST /v1/predictions)
    status: str = "starting"
    output: object = None
    error: str | None = None
    logs: str = ""
    created_at: str = field(default_factory=now)
    started_at: str | None = None
    completed_at: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # the file inputs, as the model received them
    seq: int = 0  # creation order: the list's tie-breaker between equal timestamps

    def payload(self, base: str, *, with_webhook: bool = True) -> dict:
        """The prediction object (create, get, cancel, webhook bodies)."""
        body = self.summary(base) | {"logs": self.logs}
        if self.webhook and with_webhook:
            # Not in the documented example, but in real bodies and the JS client's Prediction type.
            body |= {"webhook": self.webhook, "webhook_events_filter": self.events}
        return body

    def summary(self, base: str) -> dict:
        """A list item: the documented list example's fields (no logs, no webhook)."""
        done = self.status in ("succeeded", "failed", "canceled")
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "metrics": {"predict_time": 0.5, "total_time": 0.6} if self.status == "succeeded" else {},
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at if done else None,
            "data_removed": False,
            "source": "api",
            "urls": {"get": f"{base}/v1/predictions/{self.id}", "cancel": f"{base}/v1/predictions/{self.id}/cancel"},
        }


class ListError(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body)
        self.status, self.body = status, body


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(prediction: Prediction) -> tuple[datetime, int]:
    return (_when(prediction.created_at), prediction.seq)


def _cursor(key: tuple[datetime, int], *, reverse: bool) -> str:
    raw = json.dumps({"p": [key[0].isoformat(), key[1]], "r": int(reverse)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _position(cursor: str) -> tuple[tuple[datetime, int], bool]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (_when(data["p"][0]), int(data["p"][1])), bool(data["r"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise ListError(404, {"detail": "Invalid cursor", "status": 404}) from None


def prediction_page(predictions: list[Prediction], *, base: str, query: str, size: int) -> dict:
    """One page of GET /v1/predictions?{query}; unknown parameters are ignored, bad values refused."""
    params = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
    chosen = sorted(predictions, key=_key, reverse=True)  # newest first
    for name in ("created_after", "created_before"):
        if name in params:
            try:
                bound = _when(params[name])
            except ValueError:
                raise ListError(400, {"detail": f"{name}: Enter a valid date/time.", "status": 400}) from None
            after = name == "created_after"
            chosen = [p for p in chosen if (_when(p.created_at) >= bound if after else _when(p.created_at) < bound)]
    if params.get("source") == "web":
        chosen = []  # every prediction the fake has was made through the API
    position, reverse = _position(params["cursor"]) if "cursor" in params else (None, False)
    if position is None:  # the first page
        results, more_older, more_newer = chosen[:size], len(chosen) > size, False
    elif reverse:  # the page just newer than position, still shown newest first
        above = [p for p in chosen if _key(p) > position]
        results, more_older, more_newer = above[-size:], True, len(above) > size
    else:
        below = [p for p in chosen if _key(p) < position]
        results, more_older, more_newer = below[:size], len(below) > size, True

    def link(key: tuple[datetime, int], *, back: bool) -> str:
        return f"{base}/v1/predictions?" + urlencode(params | {"cursor": _cursor(key, reverse=back)})

    return {
        "next": link(_key(results[-1]), back=False) if results and more_older else None,
        "previous": link(_key(results[0]), back=True) if results and more_newer else None,
        "results": [p.summary(base) for p in results],
    }


@dataclass
class Switches:
    delay: float = 0.2  # seconds before processing, and again before completion
    create_failures: list[int] = field(default_factory=list)  # statuses to answer the next creates with
    outcome: str = "succeeded"
    completed_copies: int = 1  # how many times to deliver the completed webhook, concurrently
    reorder: bool = False  # deliver "start" after "completed"
    output_kind: str = "image"  # kept for old callers; outputs now follow each model's kind
    hold: bool = False  # never finish on its own (for cancel and sweeper tests)
    # Create the prediction, then answer the create with an error, or too late: the client cannot know it exists.
    create_then_error: list[int] = field(default_factory=list)
    create_answer_delay: float = 0.0  # the next create only
    create_answer_hold: float = 0.0  # every create while set (a worker can be killed waiting for its answer)
    download_delay: float = 0.0  # outputs stall this long before their bytes (a worker killed mid-ingest)
    # model name -> the openapi_schema GET /v1/models/{owner}/{name} publishes instead of the stored contract's.
    published: dict[str, dict] = field(default_factory=dict)
    list_page_size: int = 100  # GET /v1/predictions: Replicate returns 100 records a page
    webhook_in_payload: bool = True  # False: prediction objects leave out webhook fields, as the docs' example
