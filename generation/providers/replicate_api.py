"""Replicate through the official client.

Every request is built from the registry's mapping and checked against the
model's stored contract (generation/contracts/) when its job is created.
Local media is handed to the client as an open file, which it uploads
through Replicate's files API; object storage hands over a presigned URL.
Official models are created by name; community models by version.

The client's own retry transport is replaced by a plain one: retries belong
to the job ledger, which counts attempts in the database and never submits a
prediction twice. Predictions are created with a webhook when
PUBLIC_BASE_URL is set (start and completed events); otherwise the worker polls.
"""

from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import replicate
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from replicate.exceptions import ReplicateError

from generation import contracts
from generation.providers.base import OutputFile, ProviderError, RemoteState, Submitted, TransientError
from generation.providers.files import FILE_INPUTS

if TYPE_CHECKING:
    from generation.models import AIModel, Job

STATUS = {
    "starting": "submitted",
    "processing": "processing",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}
KIND = {"image": "image", "refine": "image", "video": "video", "speech": "audio", "music": "audio", "lipsync": "video"}


UPLOAD_TIMEOUT = httpx.Timeout(60.0, connect=5.0, pool=10.0)


class _Client(replicate.Client):
    """replicate.Client with a plain transport: no retries hidden inside the HTTP layer."""

    def __init__(self) -> None:
        super().__init__(api_token=settings.REPLICATE_API_TOKEN, base_url=settings.REPLICATE_BASE_URL)
        self._plain = httpx.Client(
            base_url=settings.REPLICATE_BASE_URL,
            headers={
                "Authorization": f"Bearer {settings.REPLICATE_API_TOKEN}",
                "User-Agent": f"videopipe replicate-python/{replicate.__about__.__version__}",
            },
            timeout=httpx.Timeout(10.0, read=settings.REPLICATE_TIMEOUT_SECONDS, write=60.0, connect=5.0, pool=10.0),
        )

    @property
    def _client(self) -> httpx.Client:
        return self._plain

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if "timeout" in kwargs and kwargs["timeout"] is None:
            # The client uploads files with no timeout at all: a stalled upload would hold a worker forever.
            kwargs["timeout"] = UPLOAD_TIMEOUT
        return super()._request(method, path, **kwargs)


def _error(exc: Exception) -> Exception:
    if isinstance(exc, ReplicateError):
        message = exc.detail or exc.title or f"HTTP {exc.status}"
        if exc.status == 429:
            return TransientError(f"Replicate answered 429: {message}")
        if (exc.status or 0) >= 500:
            return TransientError(f"Replicate answered {exc.status}: {message}", uncertain=True)
        return ProviderError(f"Replicate refused the request ({exc.status}): {message}")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return TransientError(f"Could not reach Replicate: {exc or type(exc).__name__}")
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"Replicate did not answer in time ({type(exc).__name__})", uncertain=True)
    if isinstance(exc, httpx.TransportError):
        return TransientError(f"The connection to Replicate broke: {exc or type(exc).__name__}", uncertain=True)
    if isinstance(exc, (TypeError, ValueError, OSError)):
        # Our request could not even be built (a file we cannot read, a value the client cannot send):
        # the same request would fail the same way, so it is not retried.
        return ProviderError(f"The request to Replicate could not be made: {type(exc).__name__}: {exc}")
    return exc


def webhook_url() -> str | None:
    return f"{settings.PUBLIC_BASE_URL}{reverse('replicate_webhook')}" if settings.PUBLIC_BASE_URL else None


def provider_input(
    *, model: "AIModel | None", capability: str, params: dict[str, Any], file_value: Callable[[str], Any]
) -> dict[str, Any]:
    """Our request in the model's input names; file_value turns a storage name into what the client sends."""
    mapping = dict(model.input_mapping) if model else {}
    fixed = mapping.pop("fixed", {})
    files = FILE_INPUTS.get(capability, ())
    mapped: dict[str, Any] = dict(fixed)
    for ours, value in params.items():
        if ours in ("variant", "caption", "task", "aspect_ratio") and ours not in mapping:
            continue
        theirs = mapping.get(ours, ours if not mapping else None)
        if theirs is None:
            continue
        mapped[theirs] = file_value(value) if ours in files else value
    return mapped


def _upload_or_url(stack: ExitStack) -> Callable[[str], Any]:
    def value(name: str) -> Any:
        try:
            path = default_storage.path(name)
        except NotImplementedError:  # object storage: Replicate fetches a presigned URL itself
            return default_storage.url(name)
        # An open binary file: the client uploads it through Replicate's files API and sends its URL.
        return stack.enter_context(open(path, "rb"))

    return value


def map_input(job: "Job", stack: ExitStack) -> dict[str, Any]:
    return provider_input(
        model=job.ai_model, capability=job.capability, params=job.input, file_value=_upload_or_url(stack)
    )


def request_problems(*, model: "AIModel", capability: str, params: dict[str, Any]) -> list[str]:
    """What Replicate would refuse in this request, checked against the model's stored contract before spending."""
    contract = contracts.for_model(model.model_id)
    if contract is None:
        return [f"{model.model_id} has no stored contract (generation/contracts/replicate/), so it is not called."]
    # Files are uploaded when the job runs; here any URL stands in for them.
    payload = provider_input(
        model=model, capability=capability, params=params, file_value=lambda name: f"https://files.invalid/{name}"
    )
    return contract.problems(payload)


def _outputs(capability: str, output: Any) -> list[OutputFile]:
    if output is None:
        return []
    if isinstance(output, str):
        urls = [output]
    elif isinstance(output, list):
        urls = [u for u in output if isinstance(u, str)]
    elif isinstance(output, dict):
        urls = [u for u in output.values() if isinstance(u, str) and u.startswith("http")]
    else:
        urls = []
    return [OutputFile(kind=KIND.get(capability, "image"), url=url) for url in urls]


class ReplicateProvider:
    name = "replicate"

    def __init__(self) -> None:
        self.client = _Client()

    def start(self, job: "Job") -> Submitted:
        params: dict[str, Any] = {}
        if url := webhook_url():
            # The job id in the URL lets a lost attempt's prediction be recognised later.
            params = {"webhook": f"{url}?job={job.pk}", "webhook_events_filter": ["start", "completed"]}
        try:
            name, version = contracts.split_model_id(job.model_id)
            # Official models run by name; a community model only by its version id.
            target = {"version": version} if version else {"model": name}
            with ExitStack() as stack:
                prediction = self.client.predictions.create(**target, input=map_input(job, stack), **params)
        except Exception as exc:
            raise _error(exc) from exc
        return Submitted(prediction_id=prediction.id)

    def poll(self, job: "Job") -> RemoteState:
        try:
            response = self.client._request("GET", f"/v1/predictions/{job.prediction_id}")
        except Exception as exc:
            raise _error(exc) from exc
        return state_from_payload(job.capability, response.json())

    def cancel(self, job: "Job") -> None:
        try:
            self.client.predictions.cancel(job.prediction_id)
        except Exception as exc:
            raise _error(exc) from exc

    def find_submitted(self, job: "Job") -> str | None:
        """Adopt a prediction an interrupted attempt created, if there is exactly one that is this job's.

        With webhooks the prediction carries the job id in its webhook URL. Without,
        it must be the same model, created after the attempt began, with the same
        inputs (the seed included, so sibling variants never match each other),
        and not already in the ledger.
        """
        from generation.models import Job  # noqa: PLC0415

        if job.attempt_started_at is None:
            return None
        try:
            listing = self.client._request("GET", "/v1/predictions").json()
        except Exception as exc:
            raise _error(exc) from exc
        since = job.attempt_started_at - timedelta(seconds=5)
        mapping = dict(job.ai_model.input_mapping) if job.ai_model else {}
        mapping.pop("fixed", None)
        files = FILE_INPUTS.get(job.capability, ())
        expected = {
            mapping.get(k, k): v for k, v in job.input.items() if isinstance(v, (str, int, float)) and k not in files
        }
        candidates = []
        for item in listing.get("results", []):
            webhook = item.get("webhook") or ""
            if f"job={job.pk}" in webhook.split("?")[-1].split("&"):
                candidates = [item["id"]]
                break
            created = parse_datetime(item.get("created_at") or "")
            if item.get("model") != job.model_id.split(":")[0] or created is None or created < since:
                continue
            remote = item.get("input") or {}
            if all(remote.get(name) == value for name, value in expected.items() if name in remote):
                candidates.append(item["id"])
        known = set(
            Job.objects.filter(provider=self.name, prediction_id__in=candidates).values_list("prediction_id", flat=True)
        )
        unclaimed = [c for c in candidates if c not in known]
        return unclaimed[0] if len(unclaimed) == 1 else None


def state_from_payload(capability: str, payload: dict) -> RemoteState:
    status = STATUS.get(payload.get("status", ""), "processing")
    logs = payload.get("logs") or ""
    progress = 0.0
    # Many models log "NN%" progress bars; the last one is the best guess we have.
    for token in reversed(logs.replace("\r", "\n").split()):
        if token.endswith("%") and token[:-1].isdigit():
            progress = min(int(token[:-1]), 100) / 100
            break
    return RemoteState(
        status=status,
        files=_outputs(capability, payload.get("output")) if status == "succeeded" else [],
        error=str(payload.get("error") or ""),
        metrics=payload.get("metrics") or {},
        progress=1.0 if status == "succeeded" else progress,
        raw=payload,
    )
