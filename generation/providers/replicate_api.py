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

import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

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
# Finding a lost prediction (generation/contracts/replicate/README.md, "List predictions"):
CLOCK_SKEW = timedelta(seconds=5)  # our clock against Replicate's, on both edges of the attempt's window
LIST_PAGE_CAP = 20  # 100 a page: 2,000 predictions in one attempt's window is past any real account
CANDIDATE_CAP = 100  # each one costs a GET while the job's row is locked

logger = logging.getLogger(__name__)


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
        """Adopt the prediction an interrupted attempt created, if exactly one is this job's.

        The list is paged (100 a page, newest first) and its items carry no
        webhook, so: list the attempt's window only (created_after/before),
        take the same model's predictions not already in the ledger, and ask
        each one's full object. With a webhook it names the job (`?job=<pk>`
        on our URL); without, the inputs we sent must match exactly (the seed
        included, so sibling variants never match each other).
        """
        from generation.models import Job  # noqa: PLC0415

        if job.attempt_started_at is None:
            return None
        start = job.attempt_started_at - CLOCK_SKEW
        end = job.attempt_started_at + timedelta(seconds=settings.JOB_SUBMIT_LEASE_SECONDS) + CLOCK_SKEW
        listed, complete = self._listed(start, end)
        # Not having seen every candidate, one match could be one of several: no guessing.
        if not complete:
            logger.warning("Job %s: the list did not reach its window's start in %s pages", job.pk, LIST_PAGE_CAP)
            return None
        name, version = contracts.split_model_id(job.model_id)
        same_model = [
            item["id"]
            for item in listed
            if item.get("model") == name and (not version or item.get("version") in (version, "hidden"))
        ]
        known = set(
            Job.objects.filter(provider=self.name, prediction_id__in=same_model).values_list("prediction_id", flat=True)
        )
        candidates = [pk for pk in same_model if pk not in known]
        if len(candidates) > CANDIDATE_CAP:
            logger.warning("Job %s: %s predictions in its window, too many to check", job.pk, len(candidates))
            return None
        ours = [pk for pk in candidates if self._is_ours(job, pk)]
        if len(ours) != 1:
            logger.info("Job %s: %s predictions match its lost attempt; adopting none", job.pk, len(ours))
            return None
        return ours[0]

    def _listed(self, start: datetime, end: datetime) -> tuple[list[dict], bool]:
        """The list's items created in [start, end), and whether the list was read that far back."""
        url: str | None = "/v1/predictions"
        params: dict[str, str] | None = {"created_after": _stamp(start), "created_before": _stamp(end)}
        found: list[dict] = []
        for _ in range(LIST_PAGE_CAP):
            try:
                page = self.client._request("GET", url, params=params).json()
            except Exception as exc:
                raise _error(exc) from exc
            for item in page.get("results") or []:
                created = parse_datetime(item.get("created_at") or "")
                if created is None or not item.get("id"):
                    continue
                if created < start:  # newest first: everything after this is older still
                    return found, True
                if created < end:  # the filters are the API's; checked here too
                    found.append(item)
            url, params = page.get("next"), None
            if not url:
                return found, True
            if not url.startswith(f"{settings.REPLICATE_BASE_URL.rstrip('/')}/"):
                logger.warning("Replicate's next page is on another host (%s); not sending the token there", url)
                return found, False
        return found, False

    def _is_ours(self, job: "Job", prediction_id: str) -> bool:
        try:
            full = self.client._request("GET", f"/v1/predictions/{prediction_id}").json()
        except ReplicateError as exc:
            if exc.status == 404:  # gone since it was listed
                return False
            raise _error(exc) from exc
        except Exception as exc:
            raise _error(exc) from exc
        if hook := full.get("webhook"):
            return _names_job(hook, job)
        return _same_input(job, full.get("input"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _names_job(hook: str, job: "Job") -> bool:
    """Our webhook URL, for this job: another deployment's, or another job's, is not ours."""
    ours = webhook_url()
    theirs = urlsplit(hook)
    if ours is None or theirs._replace(query="", fragment="").geturl() != ours:
        return False
    return parse_qs(theirs.query).get("job") == [str(job.pk)]


def _same_input(job: "Job", remote: object) -> bool:
    """The input we sent: the same names, and the same values except uploaded files' URLs."""
    upload = object()
    sent = provider_input(model=job.ai_model, capability=job.capability, params=job.input, file_value=lambda _: upload)
    files = {name for name, value in sent.items() if value is upload}
    plain = json.loads(json.dumps({name: value for name, value in sent.items() if name not in files}))
    if not isinstance(remote, dict) or set(remote) != set(plain) | files:
        return False
    return all(remote[name] == value for name, value in plain.items())


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
