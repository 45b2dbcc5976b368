"""Reads for the Sound and Compile pages."""

from dataclasses import dataclass

from django.db.models import Prefetch

from editor.models import AudioAsset, AudioKind, CompileJob, FinalVideo, SoundSettings
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
    scenes = list(
        ProjectScene.objects.filter(project=project)
        .order_by("scene_number")
        .prefetch_related(Prefetch("audio_assets", queryset=AudioAsset.objects.filter(kind=AudioKind.VOICEOVER)))
    )
    for scene in scenes:
        scene.voice = voices.get(scene.pk)
        scene.versions = [a for a in scene.audio_assets.all() if a.is_ready and not a.is_current][:3]
        scene.approved = [s for s in segments if s.scene_id == scene.pk]
        scene.video_seconds = sum(s.duration or 0 for s in scene.approved) or None
        voice_seconds = scene.voice.duration if scene.voice and scene.voice.is_ready else None
        scene.too_long = bool(voice_seconds and scene.video_seconds and voice_seconds > scene.video_seconds + 0.05)
    return scenes


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
