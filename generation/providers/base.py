"""The provider interface.

A provider starts a job and either finishes it at once (Completed: the offline
providers and the LLM, which answer in the call) or hands back a prediction id
(Submitted: Replicate), which is then polled or completed by a webhook.
Errors say whether trying again can help: TransientError (429, 5xx, timeouts,
connection errors) is retried with backoff; ProviderError (bad input, 4xx,
unavailable) fails the job at once with the provider's message.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from generation.models import Job


class ProviderError(Exception):
    """The provider refused the request; retrying the same request cannot help."""


class TransientError(Exception):
    """A failure that may pass: rate limits, server errors, timeouts, lost connections.

    `uncertain` means the request may have reached the provider and done its
    work (a timeout or a 5xx after sending): before trying again, the ledger
    must first look for what the lost attempt created.
    """

    # A failure a retry only sometimes cures (a paid answer that came back unusable) caps its own attempts.
    attempts_cap: int | None = None

    def __init__(self, message: str, *, retry_after: float | None = None, uncertain: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.uncertain = uncertain


@dataclass
class OutputFile:
    """A produced file: bytes made here, or a URL at the provider to ingest."""

    kind: str  # image, video or audio
    data: bytes | None = None
    url: str | None = None
    extension: str = ""


@dataclass
class Completed:
    files: list[OutputFile] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    actual_cost: Decimal | None = None
    metrics: dict = field(default_factory=dict)


@dataclass
class Submitted:
    prediction_id: str


@dataclass
class RemoteState:
    """A provider-side prediction as last seen."""

    status: str  # one of JobStatus values
    files: list[OutputFile] = field(default_factory=list)
    error: str = ""
    metrics: dict = field(default_factory=dict)
    progress: float = 0.0
    raw: dict = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def start(self, job: "Job") -> Completed | Submitted: ...

    def poll(self, job: "Job") -> RemoteState: ...

    def cancel(self, job: "Job") -> None: ...

    def find_submitted(self, job: "Job") -> str | None:
        """The prediction id of this job if an earlier attempt created one that was never recorded."""
        ...
