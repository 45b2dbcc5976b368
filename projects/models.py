"""The project hierarchy: teams, v2 projects -> scenes -> shots -> images, and the v1 tables.

Numbers (scene_number, shot_number) are dense from 1 and unique per parent;
services keep them so under a lock on the parent row.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from generation.orphans import stored_under


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


class Team(models.Model):
    name = models.CharField(max_length=80)
    monthly_budget = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("50.00"),
        help_text="Provider spend allowed per calendar month, in USD.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=Q(monthly_budget__gte=0), name="team_budget_not_negative")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_user_per_team"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    def can(self, minimum: str) -> bool:
        return role_at_least(self.role, minimum)


class WorkflowVersion(models.TextChoices):
    V1_LEGACY = "v1_legacy", "Quick (v1)"
    V2_REDESIGN = "v2_redesign", "Director (v2)"


class ProjectStatus(models.TextChoices):
    # v2 (Director) states, in workflow order.
    PROMPT_PLANNING = "prompt_planning", "Prompt planning"
    SCENES_SETUP = "scenes_setup", "Scenes setup"
    SHOT_ITERATION = "shot_iteration", "Shot iteration"
    STORYBOARD_FINAL = "storyboard_final", "Storyboard final"
    ANIMATION_COMPLETE = "animation_complete", "Animation complete"
    # v1 (Quick) states, the phases of the original MVP.
    INPUT = "input", "Input"
    GENERATING_STORYBOARD = "generating_storyboard", "Generating storyboard"
    STORYBOARD = "storyboard", "Storyboard"
    GENERATING_VIDEO = "generating_video", "Generating video"
    EDITOR = "editor", "Editor"


V2_STATUSES = [
    ProjectStatus.PROMPT_PLANNING,
    ProjectStatus.SCENES_SETUP,
    ProjectStatus.SHOT_ITERATION,
    ProjectStatus.STORYBOARD_FINAL,
    ProjectStatus.ANIMATION_COMPLETE,
]
V1_STATUSES = [
    ProjectStatus.INPUT,
    ProjectStatus.GENERATING_STORYBOARD,
    ProjectStatus.STORYBOARD,
    ProjectStatus.GENERATING_VIDEO,
    ProjectStatus.EDITOR,
]


class AspectRatio(models.TextChoices):
    LANDSCAPE = "16:9", "16:9 landscape"
    PORTRAIT = "9:16", "9:16 portrait"
    SQUARE = "1:1", "1:1 square"


class StylePreset(models.TextChoices):
    NONE = "", "No preset"
    CINEMATIC = "cinematic", "Cinematic"
    DOCUMENTARY = "documentary", "Documentary"
    ANIME = "anime", "Anime"
    WATERCOLOR = "watercolor", "Watercolor"
    RENDER_3D = "3d-render", "3D render"
    MINIMAL = "minimal", "Minimal, clean"
    NOIR = "noir", "Film noir"
    VINTAGE = "vintage-film", "Vintage film"


STYLE_PROMPTS = {
    StylePreset.CINEMATIC: "cinematic lighting, anamorphic lens, shallow depth of field",
    StylePreset.DOCUMENTARY: "documentary photography, natural light, handheld",
    StylePreset.ANIME: "anime style, cel shading, vibrant colors",
    StylePreset.WATERCOLOR: "watercolor illustration, soft edges, paper texture",
    StylePreset.RENDER_3D: "3D render, global illumination, soft shadows",
    StylePreset.MINIMAL: "minimal, clean composition, negative space",
    StylePreset.NOIR: "film noir, black and white, hard shadows",
    StylePreset.VINTAGE: "vintage 35mm film, grain, faded colors",
}


class VideoProject(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=120)
    prompt = models.TextField(max_length=4000)
    prompt_planner_data = models.TextField("brain dump", max_length=20000, blank=True)
    workflow_version = models.CharField(
        max_length=12, choices=WorkflowVersion.choices, default=WorkflowVersion.V2_REDESIGN
    )
    status = models.CharField(max_length=24, choices=ProjectStatus.choices, default=ProjectStatus.PROMPT_PLANNING)
    # The brief.
    tone = models.CharField(max_length=200, blank=True)
    audience = models.CharField(max_length=200, blank=True)
    style = models.CharField(max_length=200, blank=True)
    style_preset = models.CharField(max_length=20, choices=StylePreset.choices, blank=True)
    pacing = models.CharField(max_length=200, blank=True)
    key_message = models.CharField(max_length=400, blank=True)
    aspect_ratio = models.CharField(max_length=4, choices=AspectRatio.choices, default=AspectRatio.LANDSCAPE)
    target_duration = models.PositiveIntegerField("target duration (seconds)", default=30)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-updated_at"], name="project_team_updated_idx"),
            models.Index(fields=["team", "status"], name="project_team_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(workflow_version=WorkflowVersion.V2_REDESIGN) & Q(status__in=V2_STATUSES))
                | (Q(workflow_version=WorkflowVersion.V1_LEGACY) & Q(status__in=V1_STATUSES)),
                name="project_status_matches_workflow",
            ),
            models.CheckConstraint(condition=Q(aspect_ratio__in=AspectRatio.values), name="project_aspect_valid"),
            models.CheckConstraint(
                condition=Q(target_duration__gte=5) & Q(target_duration__lte=600), name="project_duration_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("project_detail", args=[self.pk])

    @property
    def is_quick(self) -> bool:
        return self.workflow_version == WorkflowVersion.V1_LEGACY


class ElementKind(models.TextChoices):
    CHARACTER = "character", "Character"
    PLACE = "place", "Place"


class StoryElement(models.Model):
    """A recurring character or place of the brief; its description keeps shots consistent."""

    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="elements")
    kind = models.CharField(max_length=10, choices=ElementKind.choices)
    name = models.CharField(max_length=80)
    description = models.CharField("visual description", max_length=400)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "kind", "order", "id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ElementKind.values), name="element_kind_valid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ClarifyingQuestion(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField()
    question = models.CharField(max_length=500)
    suggested_answers = models.JSONField(default=list, blank=True)
    answer = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "order"]
        indexes = [models.Index(fields=["project", "order"], name="question_project_order_idx")]

    def __str__(self) -> str:
        return self.question


class ProjectScene(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="scenes")
    scene_number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=4000, blank=True)
    narration = models.TextField(max_length=4000, blank=True)
    duration = models.PositiveSmallIntegerField("duration (seconds)", default=5)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "scene_number"]
        indexes = [models.Index(fields=["project", "scene_number"], name="scene_by_project_idx")]
        constraints = [
            models.UniqueConstraint(fields=["project", "scene_number"], name="scene_number_unique_per_project"),
            models.CheckConstraint(condition=Q(scene_number__gte=1), name="scene_number_positive"),
            models.CheckConstraint(condition=Q(duration__gte=1) & Q(duration__lte=120), name="scene_duration_range"),
        ]

    def __str__(self) -> str:
        return f"{self.scene_number}. {self.title}"


class SceneShot(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="shots")
    scene = models.ForeignKey(ProjectScene, on_delete=models.CASCADE, related_name="shots")
    shot_number = models.PositiveIntegerField()
    description = models.TextField(max_length=4000, blank=True)
    framing = models.CharField("framing / camera", max_length=120, blank=True)
    initial_prompt = models.TextField("image prompt", max_length=4000, blank=True)
    selected_image = models.ForeignKey("ShotImage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scene__scene_number", "shot_number"]
        indexes = [
            models.Index(fields=["scene", "shot_number"], name="shot_by_scene_idx"),
            models.Index(fields=["project"], name="shot_by_project_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scene", "shot_number"], name="shot_number_unique_per_scene"),
            models.CheckConstraint(condition=Q(shot_number__gte=1), name="shot_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Shot {self.shot_number}: {self.description[:60]}"


def _media_name(prefix: str, filename: str) -> str:
    # Random names: stored paths never carry user input and cannot be guessed.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{prefix}/{secrets.token_hex(2)}/{secrets.token_urlsafe(18)}.{suffix[:5]}"


@stored_under("projects/")
def shot_image_path(instance: "ShotImage", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/images", filename)


@stored_under("projects/")
def shot_thumb_path(instance: "ShotImage", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/thumbs", filename)


@stored_under("projects/")
def selection_video_path(instance: "StoryboardSelection", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/animations", filename)


@stored_under("projects/")
def legacy_scene_image_path(instance: "Scene", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/v1-images", filename)


@stored_under("projects/")
def legacy_clip_path(instance: "VideoClip", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/v1-clips", filename)


class GenerationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"


VARIANTS_PER_ITERATION = 6


class ShotImage(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="images")
    scene = models.ForeignKey(ProjectScene, on_delete=models.CASCADE, related_name="images")
    shot = models.ForeignKey(SceneShot, on_delete=models.CASCADE, related_name="images")
    iteration_number = models.PositiveIntegerField()
    variant_number = models.PositiveSmallIntegerField()
    image = models.ImageField(upload_to=shot_image_path, blank=True, width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # A small WebP for grids, so a shot with many iterations stays quick.
    thumbnail = models.ImageField(upload_to=shot_thumb_path, blank=True)
    iteration_prompt = models.TextField(max_length=4000, blank=True)
    parent_image = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    prediction_id = models.CharField("provider prediction id", max_length=128, blank=True)
    status = models.CharField(max_length=12, choices=GenerationStatus.choices, default=GenerationStatus.PENDING)
    is_favorite = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shot", "iteration_number", "variant_number"]
        indexes = [
            models.Index(fields=["scene"], name="image_by_scene_idx"),
            models.Index(fields=["project"], name="image_by_project_idx"),
        ]
        constraints = [
            # Also serves the seed's by_shot index on (shot, iteration, variant).
            models.UniqueConstraint(
                fields=["shot", "iteration_number", "variant_number"], name="image_unique_variant_per_iteration"
            ),
            models.CheckConstraint(
                condition=Q(variant_number__lt=VARIANTS_PER_ITERATION), name="image_variant_in_range"
            ),
            models.CheckConstraint(condition=Q(status__in=GenerationStatus.values), name="image_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Shot {self.shot_id} iteration {self.iteration_number} variant {self.variant_number}"

    @property
    def is_complete(self) -> bool:
        return self.status == GenerationStatus.COMPLETE and bool(self.image)

    def get_file_url(self) -> str:
        return reverse("shot_image_file", args=[self.project_id, self.pk])

    def get_thumb_url(self) -> str:
        if not self.thumbnail:
            return self.get_file_url()
        return reverse("shot_image_thumb", args=[self.project_id, self.pk])


class StoryboardSelection(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="selections")
    scene = models.ForeignKey(ProjectScene, on_delete=models.CASCADE, related_name="selections")
    shot = models.OneToOneField(SceneShot, on_delete=models.CASCADE, related_name="selection")
    selected_image = models.ForeignKey(ShotImage, on_delete=models.CASCADE, related_name="selections")
    animation_status = models.CharField(max_length=12, choices=GenerationStatus.choices, blank=True)
    animated_video = models.FileField(upload_to=selection_video_path, blank=True)
    prediction_id = models.CharField("provider prediction id", max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scene__scene_number", "shot__shot_number"]
        indexes = [
            models.Index(fields=["project"], name="selection_by_project_idx"),
            models.Index(fields=["scene"], name="selection_by_scene_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(animation_status="") | Q(animation_status__in=GenerationStatus.values),
                name="selection_animation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Master of shot {self.shot_id}"


class Scene(models.Model):
    """A v1 (Quick mode) scene: one image and one clip, no shots."""

    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="legacy_scenes")
    scene_number = models.PositiveIntegerField()
    description = models.TextField(max_length=4000)
    image_prompt = models.TextField(max_length=4000, blank=True)
    image = models.ImageField(upload_to=legacy_scene_image_path, blank=True)
    duration = models.DecimalField("duration (seconds)", max_digits=5, decimal_places=2, default=Decimal("5"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "scene_number"]
        verbose_name = "v1 scene"
        constraints = [
            models.UniqueConstraint(fields=["project", "scene_number"], name="v1_scene_number_unique"),
            models.CheckConstraint(condition=Q(scene_number__gte=1), name="v1_scene_number_positive"),
            models.CheckConstraint(condition=Q(duration__gt=0) & Q(duration__lte=60), name="v1_scene_duration_range"),
        ]

    def __str__(self) -> str:
        return f"{self.scene_number}. {self.description[:60]}"


class VideoClip(models.Model):
    """A v1 (Quick mode) clip animated from a v1 scene's image."""

    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="legacy_clips")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="clips")
    video = models.FileField(upload_to=legacy_clip_path, blank=True)
    status = models.CharField(max_length=12, choices=GenerationStatus.choices, default=GenerationStatus.PENDING)
    prediction_id = models.CharField("provider prediction id", max_length=128, blank=True)
    duration = models.DecimalField("duration (seconds)", max_digits=5, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "scene__scene_number", "created_at"]
        verbose_name = "v1 video clip"
        indexes = [models.Index(fields=["project", "status"], name="v1_clip_project_status_idx")]

    def __str__(self) -> str:
        return f"Clip for v1 scene {self.scene_id} ({self.status})"


class AuthAttemptKind(models.TextChoices):
    LOGIN = "login", "Failed login"
    SIGNUP = "signup", "Sign-up"


class AuthAttempt(models.Model):
    """A failed login or a sign-up, kept a day so guessing passwords or making accounts can be slowed down."""

    kind = models.CharField(max_length=10, choices=AuthAttemptKind.choices)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username or '-'} from {self.address or 'unknown'}"
