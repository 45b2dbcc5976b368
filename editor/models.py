"""Sound and compile: voiceovers and music (seed 002's audioAssets), compile jobs
(seed 003's segment_compilation_jobs) and the final videos they make (seed 004's finalVideos).

Audio assets are versioned like segments: regenerating makes a new row and
the old one stays, with at most one current voiceover per scene and one
current music bed per project. A compile job's row is the source of truth
for its state; a final video is only written when a compile succeeds, so
a failed or cancelled compile never touches earlier ones.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.urls import reverse

from generation import registry
from generation.models import AIModel, Capability
from generation.orphans import stored_under
from projects.models import ProjectScene, VideoProject, _media_name

VOICES = [
    ("narrator", "Narrator (calm, male)"),
    ("warm", "Warm (female)"),
    ("bright", "Bright (British, female)"),
    ("deep", "Deep (male)"),
    ("british", "British (male)"),
]


class AudioKind(models.TextChoices):
    VOICEOVER = "voiceover", "Voiceover"
    MUSIC = "music", "Music"


class AudioSource(models.TextChoices):
    GENERATED = "generated", "Generated"
    UPLOADED = "uploaded", "Uploaded"


class AudioStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    GENERATING = "generating", "Generating"
    COMPLETED = "completed", "Ready"
    FAILED = "failed", "Failed"


class AudioState:
    """Ready or still being made: the same reading for every audio row with a status and a file."""

    status: str
    audio: FieldFile

    @property
    def is_ready(self) -> bool:
        return self.status == AudioStatus.COMPLETED and bool(self.audio)

    @property
    def is_working(self) -> bool:
        return self.status in (AudioStatus.PENDING, AudioStatus.GENERATING)


@stored_under("projects/")
def audio_path(instance: "AudioAsset", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/audio", filename)


class SoundSettings(models.Model):
    """A project's sound: its voice, its music mood, and how the music sits under the voice."""

    project = models.OneToOneField(VideoProject, on_delete=models.CASCADE, related_name="sound")
    # One choice per speech model: each model has its own voices, so switching the model in the
    # admin neither sends a voice the new model lacks nor loses the choice made for the old one.
    voices = models.JSONField(
        default=dict, blank=True, help_text="The voice chosen for each speech model: {registry model id: voice id}."
    )
    music_mood = models.CharField(
        max_length=300, blank=True, help_text="What the music should feel like; the brief's tone when blank."
    )
    music_volume = models.PositiveSmallIntegerField(
        "music level (%)", default=35, help_text="The music bed's level under the voice, 0 to 100 %."
    )
    duck_music = models.BooleanField("duck the music under the voice", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "sound settings"
        constraints = [
            models.CheckConstraint(condition=Q(music_volume__lte=100), name="sound_music_volume_max_100"),
        ]

    def __str__(self) -> str:
        return f"Sound of project {self.project_id}"

    def voice_for(self, model: AIModel) -> str:
        """The voice chosen for model, or its default voice when none (or one it no longer has) was chosen."""
        chosen = (self.voices or {}).get(model.model_id, "")
        return chosen if chosen in dict(registry.voices(model)) else registry.default_voice(model)

    @property
    def voice(self) -> str:
        """The voice for the speech model in use (what the next voiceover speaks with)."""
        try:
            return self.voice_for(registry.resolve(Capability.SPEECH))
        except registry.NoModelError:
            return ""


@stored_under("voice-samples/")
def sample_path(instance: "VoiceSample", filename: str) -> str:
    return _media_name("voice-samples", filename)


class VoiceSample(AudioState, models.Model):
    """A short fixed line in one voice of one speech model: made once (and paid once), then played to anyone."""

    ai_model = models.ForeignKey("generation.AIModel", on_delete=models.CASCADE, related_name="+")
    voice = models.CharField(max_length=60)
    text = models.CharField(max_length=300)
    audio = models.FileField(upload_to=sample_path, blank=True)
    duration = models.FloatField("duration (seconds)", null=True, blank=True)
    status = models.CharField(max_length=12, choices=AudioStatus.choices, default=AudioStatus.PENDING)
    error = models.TextField(blank=True)
    job = models.ForeignKey("generation.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ai_model", "voice"], name="voice_sample_one_per_voice")]

    def __str__(self) -> str:
        return f"Sample of {self.voice} ({self.ai_model_id})"


class AudioAsset(AudioState, models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="audio_assets")
    kind = models.CharField(max_length=10, choices=AudioKind.choices)
    # Voiceovers belong to a scene; the music bed to the whole project.
    scene = models.ForeignKey(
        ProjectScene, on_delete=models.CASCADE, null=True, blank=True, related_name="audio_assets"
    )
    source = models.CharField(max_length=10, choices=AudioSource.choices, default=AudioSource.GENERATED)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    # What was asked for: the narration and voice, or the music prompt (mood) and length.
    text = models.TextField(max_length=5000, blank=True)
    voice = models.CharField(max_length=60, blank=True)
    prompt = models.CharField(max_length=1000, blank=True)
    requested_duration = models.FloatField(null=True, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    audio = models.FileField(upload_to=audio_path, blank=True)
    duration = models.FloatField("duration (seconds)", null=True, blank=True)
    status = models.CharField(max_length=12, choices=AudioStatus.choices, default=AudioStatus.PENDING)
    error = models.TextField(blank=True)
    job = models.ForeignKey("generation.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "scene", "-version"]
        indexes = [models.Index(fields=["project", "kind", "is_current"], name="audio_project_current_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["scene"], condition=Q(is_current=True, kind="voiceover"), name="audio_one_voiceover_per_scene"
            ),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_current=True, kind="music"), name="audio_one_music_per_project"
            ),
            models.CheckConstraint(
                condition=Q(kind="music", scene__isnull=True) | Q(kind="voiceover", scene__isnull=False),
                name="audio_voiceover_has_scene",
            ),
            models.CheckConstraint(condition=Q(status__in=AudioStatus.values), name="audio_status_valid"),
        ]

    def __str__(self) -> str:
        what = f"scene {self.scene_id} voiceover" if self.kind == AudioKind.VOICEOVER else "music"
        return f"Project {self.project_id} {what} v{self.version}"

    @property
    def voice_label(self) -> str:
        return dict(VOICES).get(self.voice, self.voice)

    def get_audio_url(self) -> str:
        return reverse("audio_file", args=[self.project_id, self.pk])


@stored_under("projects/")
def part_path(instance: "MusicPart", filename: str) -> str:
    return _media_name(f"projects/{instance.bed.project_id}/audio/parts", filename)


class MusicPart(models.Model):
    """One call of a music bed longer than its model makes at once; the bed is joined when every part is in."""

    bed = models.ForeignKey(AudioAsset, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveSmallIntegerField()
    requested_duration = models.PositiveSmallIntegerField("requested seconds")
    audio = models.FileField(upload_to=part_path, blank=True)
    status = models.CharField(max_length=12, choices=AudioStatus.choices, default=AudioStatus.PENDING)
    error = models.TextField(blank=True)
    job = models.ForeignKey("generation.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bed", "index"]
        constraints = [models.UniqueConstraint(fields=["bed", "index"], name="music_part_unique")]

    def __str__(self) -> str:
        return f"Part {self.index + 1} of music {self.bed_id}"


class Captions(models.TextChoices):
    OFF = "off", "No captions"
    SOFT = "soft", "Subtitle track (viewers can turn it off)"
    BURNED = "burned", "Burned into the picture"


class CompileStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Compiling"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Cancelled"


COMPILE_ACTIVE = (CompileStatus.PENDING, CompileStatus.RUNNING)


class RenderPurpose(models.TextChoices):
    COMPILE = "compile", "Compile"
    PREVIEW = "preview", "Timeline preview"
    EXPORT = "export", "Timeline export"


@stored_under("projects/")
def preview_path(instance: "CompileJob", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/previews", filename)


class CompileJob(models.Model):
    """One render: a compile of segments, or a timeline's preview or export; its settings and its state."""

    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="compile_jobs")
    purpose = models.CharField(max_length=10, choices=RenderPurpose.choices, default=RenderPurpose.COMPILE)
    # Previews and exports render this timeline (a revision's JSON), with export options (fps, quality).
    timeline = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    output = models.FileField(upload_to=preview_path, blank=True, help_text="A preview's low-resolution video.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    segment_ids = models.JSONField(default=list, help_text="Segment ids in their compiled order.")
    # One {"kind": ..., "length": ...} per join between consecutive segments.
    transitions = models.JSONField(default=list)
    # voice, music (booleans), music_volume (0-100), duck, target_lufs, true_peak.
    audio_config = models.JSONField(default=dict)
    captions = models.CharField(max_length=10, choices=Captions.choices, default=Captions.SOFT)
    aspect_ratio = models.CharField(max_length=4)
    # "smart" copies normalized segments; "full" encodes some or all of the picture again (slower).
    render_path = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, choices=CompileStatus.choices, default=CompileStatus.PENDING)
    progress = models.FloatField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CompileStatus.values), name="compile_status_valid"),
            models.UniqueConstraint(
                fields=["project", "purpose"], condition=Q(status__in=["pending", "running"]), name="compile_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"Compile {self.pk} of project {self.project_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in COMPILE_ACTIVE

    @property
    def percent(self) -> int:
        return round(self.progress * 100)

    @property
    def took(self) -> str:
        """How long the render ran, for people ("8 s", "2 min 5 s"); timesince would say "0 minutes"."""
        if not (self.started_at and self.completed_at):
            return ""
        seconds = max(round((self.completed_at - self.started_at).total_seconds()), 1)
        return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


@stored_under("projects/")
def final_path(instance: "FinalVideo", filename: str) -> str:
    return _media_name(f"projects/{instance.project_id}/final", filename)


class FinalVideo(models.Model):
    project = models.ForeignKey(VideoProject, on_delete=models.CASCADE, related_name="final_videos")
    compile_job = models.OneToOneField(
        CompileJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="final_video"
    )
    title = models.CharField(max_length=200)
    video = models.FileField(upload_to=final_path)
    captions_srt = models.FileField(upload_to=final_path, blank=True)
    captions_vtt = models.FileField(upload_to=final_path, blank=True)
    duration = models.FloatField("duration (seconds)")
    clip_count = models.PositiveIntegerField("segments")
    total_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    aspect_ratio = models.CharField(max_length=4)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file_size = models.PositiveBigIntegerField()
    loudness = models.JSONField(default=dict, blank=True, help_text="Integrated loudness and true peak as measured.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("final_video", args=[self.project_id, self.pk])

    def get_video_url(self) -> str:
        return reverse("final_file", args=[self.project_id, self.pk, "mp4"])


class EditorProject(models.Model):
    """A project's timeline (seed 002's editorProjects): its revisions, and which one is current.

    Revisions are never changed. An edit adds a child of the current one; undo
    moves to the parent, redo to the newest child, and restoring an old
    revision adds a copy of it, so nothing is ever lost.
    """

    project = models.OneToOneField(VideoProject, on_delete=models.CASCADE, related_name="editor")
    current = models.ForeignKey("TimelineRevision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Editor of project {self.project_id}"


class TimelineRevision(models.Model):
    editor = models.ForeignKey(EditorProject, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    timeline = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["editor", "number"], name="revision_number_unique")]

    def __str__(self) -> str:
        return f"Revision {self.number} of editor {self.editor_id}"
