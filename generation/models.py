"""The generation engine's ledger: one Job row per provider call, the model registry, webhook deliveries.

The Job row is the source of truth; queue messages carry only its id. Status
only moves forward (see STATUS_RANK) and a terminal status is final.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


class Capability(models.TextChoices):
    TEXT = "text", "Text (LLM)"
    IMAGE = "image", "Image"
    REFINE = "refine", "Image refinement (img2img)"
    VIDEO = "video", "Image to video"
    SPEECH = "speech", "Speech"
    MUSIC = "music", "Music"
    LIPSYNC = "lipsync", "Lipsync"


class Provider(models.TextChoices):
    OFFLINE = "offline", "Offline"
    REPLICATE = "replicate", "Replicate"
    OPENAI = "openai", "OpenAI"


class PriceUnit(models.TextChoices):
    PER_RUN = "run", "per run"
    PER_IMAGE = "image", "per image"
    PER_SECOND = "second", "per output second"
    PER_1K_CHARS = "1k_chars", "per 1,000 characters"
    PER_1K_TOKENS = "1k_tokens", "per 1,000 tokens"


class AIModel(models.Model):
    """One entry of the model registry: what a provider model does, how to call it, what it costs."""

    capability = models.CharField(max_length=10, choices=Capability.choices)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    model_id = models.CharField(max_length=200, help_text="e.g. black-forest-labs/flux-schnell")
    label = models.CharField(max_length=100)
    input_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Our parameter name to the model\'s input name, e.g. {"prompt": "prompt", "image": "image"}; '
        'a key under "fixed" holds constant inputs.',
    )
    capabilities = models.JSONField(
        default=dict, blank=True, help_text='What the model accepts, e.g. {"durations": [5, 10], "max_outputs": 4}'
    )
    price_unit = models.CharField(max_length=10, choices=PriceUnit.choices, default=PriceUnit.PER_RUN)
    unit_price = models.DecimalField(max_digits=10, decimal_places=5, default=Decimal("0"))
    is_default = models.BooleanField(
        default=False, help_text="The model this provider uses for the capability unless a route says otherwise."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "registry model"
        ordering = ["capability", "provider", "label"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="registry_model_unique"),
            models.UniqueConstraint(
                fields=["capability", "provider"], condition=Q(is_default=True), name="registry_one_default"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="registry_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_provider_display()})"


class CapabilityRoute(models.Model):
    """An operator's choice of model for a capability, overriding the settings."""

    capability = models.CharField(max_length=10, choices=Capability.choices, unique=True)
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="routes")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["capability"]

    def __str__(self) -> str:
        return f"{self.get_capability_display()} → {self.model}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTED = "submitted", "Submitted"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


STATUS_RANK = {
    JobStatus.QUEUED: 0,
    JobStatus.SUBMITTED: 1,
    JobStatus.PROCESSING: 2,
    JobStatus.SUCCEEDED: 3,
    JobStatus.FAILED: 3,
    JobStatus.CANCELED: 3,
}
TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.PROCESSING})


class Job(models.Model):
    team = models.ForeignKey("projects.Team", on_delete=models.CASCADE, related_name="jobs")
    # SET_NULL: the ledger outlives deleted projects, so the month's spend stays true.
    project = models.ForeignKey(
        "projects.VideoProject", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    capability = models.CharField("kind", max_length=10, choices=Capability.choices)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    ai_model = models.ForeignKey(
        AIModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs", verbose_name="registry model"
    )
    model_id = models.CharField(max_length=200)
    input = models.JSONField(default=dict)
    output = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    prediction_id = models.CharField(max_length=128, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    error = models.TextField(blank=True)
    progress = models.FloatField(default=0)
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=5, default=Decimal("0"))
    actual_cost = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set under the row lock before a provider call; a second worker seeing a
    # recent one knows a submit is in flight and must not create another.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="job_status_updated_idx"),
            models.Index(fields=["project", "-created_at"], name="job_project_created_idx"),
            models.Index(fields=["team", "created_at"], name="job_team_created_idx"),
            models.Index(fields=["provider", "model_id", "created_at"], name="job_model_created_idx"),
            models.Index(fields=["target_type", "target_id"], name="job_target_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "prediction_id"], condition=~Q(prediction_id=""), name="job_prediction_unique"
            ),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=Q(estimated_cost__gte=0), name="job_estimate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.capability} {self.status}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def cost(self) -> Decimal:
        """What the job counts against the budget: the actual cost once known, else the estimate while live."""
        if self.actual_cost is not None:
            return self.actual_cost
        return Decimal("0") if self.status in (JobStatus.FAILED, JobStatus.CANCELED) else self.estimated_cost


class WebhookDelivery(models.Model):
    """One received webhook, stored once (webhook-id is unique), processed by an actor."""

    webhook_id = models.CharField(max_length=200, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    timestamp = models.DateTimeField()
    prediction_id = models.CharField(max_length=128, blank=True, db_index=True)
    prediction_status = models.CharField(max_length=20, blank=True)
    payload = models.JSONField()
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.webhook_id} ({self.prediction_status})"


class PeriodicRun(models.Model):
    """When each periodic task last ran. A run is claimed by a conditional UPDATE of this row, so of all the
    worker processes ticking, one runs it per interval, and the claim needs nothing to exist in Redis."""

    name = models.CharField(max_length=60, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=300, blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
