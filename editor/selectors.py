"""Reads for the Sound and Compile pages."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from editor import sound
from editor.models import AudioAsset, AudioKind, AudioStatus, CompileJob, FinalVideo, SoundSettings, VoiceSample
from generation import registry
from generation.models import AIModel, Capability, Provider
from projects.models import ProjectScene, VideoProject
from storyboard.models import ApprovalStatus, SegmentStatus, VideoSegment

OFFLINE_LIPSYNC = (
    "Lipsync is not available offline: it needs a lipsync model at a provider. "
    "Set REPLICATE_API_TOKEN (or route lipsync to a Replicate model in the admin) to use it."
)


def sound_settings_of(*, project: VideoProject) -> SoundSettings:
    """The project's sound settings, or the defaults (unsaved) until someone changes them."""
    return SoundSettings.objects.filter(project=project).first() or SoundSettings(project=project)


def music_mood(*, project: VideoProject, sound: SoundSettings) -> str:
    return sound.music_mood or project.tone or project.style or "warm, uplifting"


def approved_segments(*, project: VideoProject) -> list[VideoSegment]:
    """Each shot's current version if it is approved and playable, in storyboard order."""
    return list(
        VideoSegment.objects.filter(
            project=project, is_current=True, status=SegmentStatus.COMPLETED, approval_status=ApprovalStatus.APPROVED
        )
        .exclude(video="")
        .select_related("scene", "shot")
        .order_by("scene__scene_number", "shot__shot_number")
    )


def current_audio(*, project: VideoProject) -> tuple[dict[int, AudioAsset], AudioAsset | None]:
    """The current voiceover per scene id, and the current music bed."""
    voices, music = {}, None
    for asset in AudioAsset.objects.filter(project=project, is_current=True):
        if asset.kind == AudioKind.VOICEOVER:
            voices[asset.scene_id] = asset
        else:
            music = asset
    return voices, music


def sound_scenes(*, project: VideoProject) -> list[ProjectScene]:
    """Scenes with their current voiceover, their approved segments and the video length those make."""
    segments = approved_segments(project=project)
    voices, _ = current_audio(project=project)
    labels = sound.voice_labels()
    scenes = list(
        ProjectScene.objects.filter(project=project)
        .order_by("scene_number")
        .prefetch_related(Prefetch("audio_assets", queryset=AudioAsset.objects.filter(kind=AudioKind.VOICEOVER)))
    )
    for scene in scenes:
        scene.voice = voices.get(scene.pk)
        scene.voice_name = labels.get(scene.voice.voice, scene.voice.voice) if scene.voice else ""
        scene.versions = [a for a in scene.audio_assets.all() if a.is_ready and not a.is_current][:3]
        scene.approved = [s for s in segments if s.scene_id == scene.pk]
        scene.video_seconds = sum(s.duration or 0 for s in scene.approved) or None
        voice_seconds = scene.voice.duration if scene.voice and scene.voice.is_ready else None
        scene.too_long = bool(voice_seconds and scene.video_seconds and voice_seconds > scene.video_seconds + 0.05)
    return scenes


def money(amount: Decimal) -> str:
    """A small price for people: free, under a cent, or dollars and cents."""
    if amount <= 0:
        return "free"
    return "less than 1¢" if amount < Decimal("0.01") else f"${amount.quantize(Decimal('0.01'))}"


@dataclass(frozen=True)
class VoiceChoice:
    """The speech model in use, one of its voices (the chosen one unless asked about another) and its sample."""

    model: AIModel | None
    voice: str = ""
    label: str = ""
    sample: VoiceSample | None = None
    sample_cost: Decimal = Decimal(0)
    # What was chosen for the other speech models, as (model label, voice label).
    others: list[tuple[str, str]] = field(default_factory=list)

    @property
    def cost_text(self) -> str:
        return money(self.sample_cost)


def voice_sample(*, model: AIModel, voice: str) -> VoiceSample | None:
    return VoiceSample.objects.filter(ai_model=model, voice=voice).first()


def voice_choice(*, project: VideoProject, voice: str | None = None) -> VoiceChoice:
    model = sound.speech_model()
    if model is None:
        return VoiceChoice(None)
    settings_ = sound_settings_of(project=project)
    known = dict(registry.voices(model))
    voice = settings_.voice_for(model) if voice is None else voice
    if voice not in known:
        return VoiceChoice(model, voice)
    others = []
    for other in AIModel.objects.filter(capability=Capability.SPEECH, model_id__in=list(settings_.voices)):
        if other.pk != model.pk:
            chosen = settings_.voices[other.model_id]
            others.append((other.label, dict(registry.voices(other)).get(chosen, chosen)))
    return VoiceChoice(
        model, voice, known[voice], voice_sample(model=model, voice=voice), sound.sample_cost(model, voice), others
    )


@dataclass(frozen=True)
class MusicOutline:
    """How the next music bed will be made, and what all of it costs."""

    plan: sound.MusicPlan | None
    estimate: Decimal


def music_outline(*, length: float, prompt: str = "") -> MusicOutline:
    try:
        model = registry.resolve(Capability.MUSIC)
    except registry.NoModelError:
        return MusicOutline(None, Decimal(0))
    plan = sound.music_plan(model=model, length=length)
    return MusicOutline(plan, plan.estimate(model, prompt).quantize(Decimal("0.01")))


def music_progress(*, music: AudioAsset | None) -> tuple[int, int]:
    """Parts ready and parts in all, for a bed being made in parts ((0, 0) otherwise)."""
    if music is None or not music.is_working:
        return 0, 0
    statuses = list(music.parts.values_list("status", flat=True))
    return sum(1 for s in statuses if s == AudioStatus.COMPLETED), len(statuses)


@dataclass(frozen=True)
class LipsyncAvailability:
    model: AIModel | None
    reason: str


def lipsync_availability() -> LipsyncAvailability:
    try:
        model = registry.resolve(Capability.LIPSYNC)
    except registry.NoModelError as error:
        return LipsyncAvailability(None, str(error))
    if model.provider == Provider.OFFLINE or model.capabilities.get("available") is False:
        return LipsyncAvailability(None, OFFLINE_LIPSYNC)
    return LipsyncAvailability(model, "")


def compile_jobs(*, project: VideoProject, purpose: str = "compile", limit: int = 10) -> list[CompileJob]:
    jobs = CompileJob.objects.filter(project=project, purpose=purpose).select_related("final_video")
    return list(jobs[:limit])


def active_compile(*, project: VideoProject, purpose: str = "compile") -> CompileJob | None:
    return CompileJob.objects.filter(project=project, purpose=purpose, status__in=["pending", "running"]).first()


def final_videos(*, project: VideoProject) -> list[FinalVideo]:
    return list(FinalVideo.objects.filter(project=project))
