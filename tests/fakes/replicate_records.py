"""The fake Replicate's records: uploaded files and predictions, in the shapes the API answers with."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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

    def payload(self, base: str) -> dict:
        done = self.status in ("succeeded", "failed", "canceled")
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "logs": self.logs,
            "metrics": {"predict_time": 0.5, "total_time": 0.6} if self.status == "succeeded" else {},
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at if done else None,
            "data_removed": False,
            "source": "api",
            "urls": {"get": f"{base}/v1/predictions/{self.id}", "cancel": f"{base}/v1/predictions/{self.id}/cancel"},
        }
