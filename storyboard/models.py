"""Animated segments of shots, their reviews, and each project's generation settings (seed 003).

Every animation of a shot is a VideoSegment version; versions are never
overwritten. At most one version per shot is current: the one the
storyboard shows, review acts on and the compile uses.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property

from generation.orphans import stored_under
from projects.models import ProjectScene, SceneShot, ShotImage, VideoProject, _media_name

DURATIONS = (5, 10)


class SegmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GENERATING = "generating", "Generating"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class AudioRole(models.TextChoices):
    """What a version's own sound is, which decides how compiles and the editor mix it."""

    SILENT = "silent", "No sound of its own"
    OWN_SOUND = "own_sound", "The video model's own soundtrack"
    LIPSYNC = "lipsync", "Lip-synced voice"


class ApprovalStatus(models.TextChoices):
    NONE = "", "Not reviewed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NEEDS_REVISION = "needs_revision", "Needs revision"


@stored_under("projects/")
def segment_video_path(instance: "VideoSegment", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/segments", filename)


@stored_under("projects/")
def segment_house_path(instance: "VideoSegment", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/segments-house", filename)


@stored_under("projects/")
def segment_thumb_path(instance: "VideoSegment", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/segment-thumbs", filename)


class VideoSegment(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="segments")
    scene = models.ForeignKey(ProjectScene, on_delete=models.CASCADE, related_name="segments")
    shot = models.ForeignKey(SceneShot, on_delete=models.CASCADE, related_name="segments")
    version = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children", verbose_name="parent version"
    )
    is_current = models.BooleanField(default=True)
    source_image = models.ForeignKey(ShotImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # What was asked for: prompt, model (registry id and model id), seed, duration, resolution.
    generation_params = models.JSONField(default=dict)
    job = models.ForeignKey("generation.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=12, choices=SegmentStatus.choices, default=SegmentStatus.PENDING)
    # Set when the version is made. A lip-synced version's sound IS the scene's voice, so no voiceover is laid
    # over it; a model's soundtrack (Wan 2.5) is muted in compiles unless the user keeps it.
    audio_role = models.CharField(
        "sound", max_length=10, choices=AudioRole.choices, default=AudioRole.SILENT, editable=False
    )
    approval_status = models.CharField(max_length=16, choices=ApprovalStatus.choices, blank=True, default="")
    video = models.FileField(upload_to=segment_video_path, blank=True)
    thumbnail = models.ImageField(upload_to=segment_thumb_path, blank=True)
    duration = models.FloatField("duration (seconds)", null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    format = models.CharField(max_length=20, blank=True)
    codec = models.CharField(max_length=20, blank=True)
    fps = models.FloatField(null=True, blank=True)
    quality_score = models.FloatField(null=True, blank=True)
    consistency_score = models.FloatField(null=True, blank=True)
    # Each metric behind the two scores, with its value and what it means (see storyboard.scoring).
    scores = models.JSONField(default=dict, blank=True)
    user_notes = models.TextField(max_length=4000, blank=True)
    rejection_reason = models.TextField(max_length=2000, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # Set when the storage policy removed this version's files; the row stays as the record.
    files_removed_at = models.DateTimeField(null=True, blank=True)
    # The approved video once re-encoded to the house format of normalized_aspect, so compiles can copy it.
    normalized = models.FileField(upload_to=segment_house_path, blank=True)
    normalized_aspect = models.CharField(max_length=4, blank=True)
    normalized_at = models.DateTimeField(null=True, blank=True)
    normalize_error = models.TextField(blank=True)

    class Meta:
        ordering = ["shot", "-version"]
        indexes = [
            models.Index(fields=["project", "status"], name="segment_project_status_idx"),
            models.Index(fields=["project", "approval_status"], name="segment_project_approval_idx"),
            models.Index(fields=["scene"], name="segment_by_scene_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shot", "version"], name="segment_version_unique_per_shot"),
            models.UniqueConstraint(fields=["shot"], condition=Q(is_current=True), name="segment_one_current_per_shot"),
            models.CheckConstraint(condition=Q(version__gte=1), name="segment_version_positive"),
            models.CheckConstraint(condition=Q(status__in=SegmentStatus.values), name="segment_status_valid"),
            models.CheckConstraint(condition=Q(audio_role__in=AudioRole.values), name="segment_audio_role_valid"),
            models.CheckConstraint(
                condition=Q(approval_status__in=ApprovalStatus.values), name="segment_approval_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Shot {self.shot_id} v{self.version}"

    @property
    def is_playable(self) -> bool:
        return self.status == SegmentStatus.COMPLETED and bool(self.video)

    @property
    def is_working(self) -> bool:
        return self.status in (SegmentStatus.PENDING, SegmentStatus.GENERATING)

    @property
    def is_waiting(self) -> bool:
        """In the generation line, not yet handed to a provider (sequential mode or a full batch)."""
        return self.status == SegmentStatus.PENDING and self.job_id is None

    @cached_property
    def seed_note(self) -> str:
        """Blank when a repeat with this version's seed gives the same clip; otherwise says what it gives."""
        from storyboard.seeds import segment_seed_note  # noqa: PLC0415 - seeds reads the registry's models

        return segment_seed_note(self.generation_params)

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else ""

    def get_video_url(self) -> str:
        return reverse("segment_video", args=[self.project_id, self.pk])

    def get_thumb_url(self) -> str:
        return reverse("segment_thumb", args=[self.project_id, self.pk])

    def get_review_url(self) -> str:
        return reverse("review_shot", args=[self.project_id, self.shot_id]) + f"?version={self.version}"


class ReviewAction(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"
    REGENERATE = "request_regeneration", "Asked for a new version"
    RESTORE = "restore", "Restored as current"


class SegmentReview(models.Model):
    segment = models.ForeignKey(VideoSegment, on_delete=models.CASCADE, related_name="reviews")
    # Null for the system's own reviews (auto-approve).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=24, choices=ReviewAction.choices)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    feedback = models.TextField(max_length=4000, blank=True)
    suggested_changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
            models.CheckConstraint(condition=Q(action__in=ReviewAction.values), name="review_action_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} segment {self.segment_id}"


class GenerationMode(models.TextChoices):
    PARALLEL = "parallel", "Parallel"
    SEQUENTIAL = "sequential", "Sequential"


class ReviewSettings(models.Model):
    """How a project's segments are generated: seed 003's generate-segments options."""

    project = models.OneToOneField(VideoProject, on_delete=models.CASCADE, related_name="review_settings")
    mode = models.CharField(max_length=10, choices=GenerationMode.choices, default=GenerationMode.PARALLEL)
    batch_size = models.PositiveSmallIntegerField(
        default=4, help_text="How many segments are generated at once in parallel mode."
    )
    auto_approve = models.BooleanField(default=False, help_text="Approve every segment as soon as it is made.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review settings"
        constraints = [
            models.CheckConstraint(condition=Q(batch_size__gte=1, batch_size__lte=20), name="review_batch_1_to_20"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} generation for project {self.project_id}"


class ShotAnimation(models.Model):
    """A shot's animation settings: what the next "Animate" of this shot asks for."""

    shot = models.OneToOneField(SceneShot, on_delete=models.CASCADE, related_name="animation")
    ai_model = models.ForeignKey(
        "generation.AIModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="model"
    )
    duration = models.PositiveSmallIntegerField(default=5, choices=[(d, f"{d} s") for d in DURATIONS])
    motion_prompt = models.CharField(max_length=1000, blank=True)
    # Blank: a new random seed each time (it is recorded on the segment either way).
    seed = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(duration__in=DURATIONS), name="animation_duration_5_or_10")]

    def __str__(self) -> str:
        return f"Animation settings of shot {self.shot_id}"
