"""Sound and compile: every write of the editor app.

Lock order, as everywhere: project, then shot and segment, then team and job.
Compiles run outside any transaction (minutes of ffmpeg); each state change
of a CompileJob is a short conditional UPDATE, so a cancel racing the end of
a render is decided by the row.
"""

import contextlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import av
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, Sum
from django.dispatch import receiver
from django.utils import timezone

from editor import audio_roles, captions, renderer, selectors, sound
from editor import timeline as tl
from editor.models import (
    AudioAsset,
    AudioKind,
    AudioSource,
    AudioStatus,
    Captions,
    CompileJob,
    CompileStatus,
    EditorProject,
    FinalVideo,
    RenderPurpose,
    SoundSettings,
    TimelineRevision,
)
from generation import ingest, registry
from generation.models import AIModel, Capability, Job
from generation.providers.files import local_copy, local_path
from generation.services import COST, JobSpec, jobs_create
from projects.legacy import project_mirror
from projects.models import ProjectScene, ProjectStatus, ShotImage, VideoProject
from projects.services import project_set_status, project_touch
from projects.signals import quick_clips_ready
from storyboard import services as storyboard_services
from storyboard.models import VideoSegment
from storyboard.signals import segment_approved

logger = logging.getLogger(__name__)

LOUDNESS_TARGETS = {-14.0: "-14 LUFS (web and social)", -23.0: "-23 LUFS (EBU R128 broadcast)"}
TRUE_PEAK = -1.5  # dBTP: under the -1 dBTP ceiling with room for the AAC encoder's overshoot


def _lock(project: VideoProject) -> VideoProject:
    return VideoProject.objects.select_for_update(of=("self",)).select_related("team").get(pk=project.pk)


# Sound settings -------------------------------------------------------------------


@transaction.atomic
def sound_settings_update(
    *,
    project: VideoProject,
    voice: str,
    music_volume: int,
    duck_music: bool,
    music_mood: str | None = None,
    model: AIModel | None = None,
) -> SoundSettings:
    """Save the voice for the speech model (the one in use unless given) and the mix.

    Other models' voices stay as chosen. music_mood (when given) is the mood the next music bed is made for.
    """
    model = model or registry.resolve(Capability.SPEECH)
    sound.check_voice(model, voice)
    if not 0 <= music_volume <= 100:
        raise ValidationError("The music level is 0 to 100 %.")
    _lock(project)
    settings_, _ = SoundSettings.objects.get_or_create(project=project)
    settings_.voices = {**settings_.voices, model.model_id: voice}
    settings_.music_volume, settings_.duck_music = music_volume, duck_music
    if music_mood is not None:
        settings_.music_mood = music_mood.strip()[:300]
    settings_.save()
    project_touch(project=project)
    return settings_


# Audio assets ---------------------------------------------------------------------


def _new_audio(*, project: VideoProject, kind: str, scene: ProjectScene | None, **fields: object) -> AudioAsset:
    siblings = AudioAsset.objects.filter(project=project, kind=kind, scene=scene)
    version = (siblings.aggregate(n=Max("version"))["n"] or 0) + 1
    siblings.filter(is_current=True).update(is_current=False, updated_at=timezone.now())
    return AudioAsset.objects.create(project=project, kind=kind, scene=scene, version=version, **fields)


def _start_audio(
    project: VideoProject,
    user: AbstractBaseUser | None,
    assets: list[AudioAsset],
    capability: str,
    inputs: list[dict],
    *,
    model: AIModel | None = None,
) -> None:
    specs = [
        JobSpec(capability=capability, input=data, target=asset, idempotency_key=f"audio:{asset.pk}", model=model)
        for asset, data in zip(assets, inputs, strict=True)
    ]
    for asset, job in zip(assets, jobs_create(project=project, user=user, specs=specs), strict=True):
        asset.job = job
        asset.save(update_fields=["job", "updated_at"])


@transaction.atomic
def voiceovers_request(
    *, project: VideoProject, user: AbstractBaseUser, scenes: Sequence[ProjectScene] | None = None
) -> list[AudioAsset]:
    """Speak each scene's narration in the project's voice: a new current voiceover per scene, all or none.

    The voice is the one chosen for the speech model in use, or that model's default: never another model's.
    """
    project = _lock(project)
    model = registry.resolve(Capability.SPEECH)
    voice = selectors.sound_settings_of(project=project).voice_for(model)
    chosen = list(scenes) if scenes is not None else list(ProjectScene.objects.filter(project=project))
    voices, _ = selectors.current_audio(project=project)
    speakable = [s for s in chosen if s.narration.strip()]
    if not speakable:
        raise ValidationError("There is no narration to speak. Write each scene's narration in Plan first.")
    busy = [s for s in speakable if (v := voices.get(s.pk)) and v.is_working]
    if len(busy) == len(speakable):
        raise ValidationError("Those voiceovers are already being made.")
    todo = [s for s in speakable if s not in busy]
    assets = [
        _new_audio(
            project=project,
            kind=AudioKind.VOICEOVER,
            scene=scene,
            text=scene.narration.strip(),
            voice=voice,
            created_by=user,
        )
        for scene in todo
    ]
    inputs = [{"text": a.text, "voice": a.voice} for a in assets]
    _start_audio(project, user, assets, Capability.SPEECH, inputs, model=model)
    return assets


def music_length(project: VideoProject) -> float:
    seconds = sum(s.duration or 0 for s in selectors.approved_segments(project=project)) or project.target_duration
    return float(min(max(seconds + 2, 10), 600))


@transaction.atomic
def music_request(*, project: VideoProject, user: AbstractBaseUser, mood: str = "") -> AudioAsset:
    """A new music bed for the mood (the project's, when blank), as long as the approved cut.

    Longer than the music model makes in one call: in parts, or one piece looped (see editor.sound.music_plan).
    """
    project = _lock(project)
    settings_ = selectors.sound_settings_of(project=project)
    prompt = (mood.strip() or selectors.music_mood(project=project, sound=settings_))[:300]
    if mood.strip() and settings_.music_mood != prompt:
        # The mood typed last is the project's music mood from now on.
        settings_.music_mood = prompt
        settings_.save()
    _, music = selectors.current_audio(project=project)
    if music is not None and music.is_working:
        raise ValidationError("A music bed is already being made.")
    length = music_length(project)
    model = registry.resolve(Capability.MUSIC)
    plan = sound.music_plan(model=model, length=length)
    asset = _new_audio(
        project=project, kind=AudioKind.MUSIC, scene=None, prompt=prompt, requested_duration=length, created_by=user
    )
    if plan.mode == "single":
        inputs = [{"prompt": prompt, "duration": plan.durations[0]}]
        _start_audio(project, user, [asset], Capability.MUSIC, inputs, model=model)
    else:
        sound.music_parts_start(project=project, user=user, bed=asset, plan=plan, model=model, prompt=prompt)
    return asset


def _check_upload(upload: UploadedFile, path: Path) -> ingest.Media:
    limit = settings.MUSIC_UPLOAD_MAX_MB * 1024 * 1024
    if upload.size > limit:
        raise ValidationError(
            f"That file is {upload.size / 1024 / 1024:.0f} MB; the limit is {settings.MUSIC_UPLOAD_MAX_MB} MB."
        )
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        media = ingest.check(path, kind="audio")
    except ingest.IngestError:
        # The decoder's own words name temporary paths and error numbers: not for the page.
        raise ValidationError(
            f"“{Path(upload.name or 'That file').name}” is not audio we can use: it does not decode as sound. "
            "Upload an MP3, WAV, M4A/AAC, OGG or FLAC file."
        ) from None
    duration = media.meta.get("duration") or 0
    if duration < 1:
        raise ValidationError("That track is shorter than a second.")
    return media


@transaction.atomic
def music_upload(*, project: VideoProject, user: AbstractBaseUser, upload: UploadedFile) -> AudioAsset:
    """The team's own track as the music bed, once it decodes as audio."""
    project = _lock(project)
    with tempfile.TemporaryDirectory() as tmp:
        media = _check_upload(upload, Path(tmp) / "upload")
        asset = _new_audio(
            project=project,
            kind=AudioKind.MUSIC,
            scene=None,
            source=AudioSource.UPLOADED,
            original_name=Path(upload.name or "track").name[:255],
            status=AudioStatus.COMPLETED,
            duration=round(media.meta["duration"], 3),
            metadata={"media": media.meta},
            created_by=user,
        )
        with media.path.open("rb") as handle:
            asset.audio.save(f"music-upload.{media.extension}", File(handle), save=False)
        asset.save(update_fields=["audio", "updated_at"])
    project_touch(project=project)
    return asset


@transaction.atomic
def audio_restore(*, asset: AudioAsset) -> AudioAsset:
    """Make an earlier, finished version current again."""
    _lock(asset.project)
    asset = AudioAsset.objects.select_for_update().get(pk=asset.pk)
    if not asset.is_ready:
        raise ValidationError("Only a finished version can be used.")
    AudioAsset.objects.filter(
        project_id=asset.project_id, kind=asset.kind, scene_id=asset.scene_id, is_current=True
    ).exclude(pk=asset.pk).update(is_current=False)
    asset.is_current = True
    asset.save(update_fields=["is_current", "updated_at"])
    return asset


@transaction.atomic
def music_remove(*, project: VideoProject) -> None:
    """No music bed: compiles use only the segments' sound and the voiceovers (earlier versions are kept)."""
    _lock(project)
    AudioAsset.objects.filter(project=project, kind=AudioKind.MUSIC, is_current=True).update(is_current=False)


def segment_lipsync(*, segment: VideoSegment, user: AbstractBaseUser) -> VideoSegment:
    """A lip-synced new version of the segment, made with its scene's current voiceover."""
    available = selectors.lipsync_availability()
    if available.model is None:
        raise ValidationError(available.reason)
    voices, _ = selectors.current_audio(project=segment.project)
    voice = voices.get(segment.scene_id)
    if voice is None or not voice.is_ready:
        raise ValidationError("Make this scene's voiceover first: lipsync follows it.")
    return storyboard_services.segment_lipsync(
        segment=segment,
        user=user,
        model=available.model,
        audio_name=voice.audio.name,
        voiceover_id=voice.pk,
        # lipsync-2 in loop mode makes (and bills) a clip as long as the voice, not the shot.
        duration=max(voice.duration or 0, segment.duration or 0) or None,
    )


# Normalization --------------------------------------------------------------------


@receiver(segment_approved)
def _normalize_when_approved(sender: type, *, segment: VideoSegment, **kwargs: object) -> None:
    from editor.tasks import normalize_segment  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(lambda: normalize_segment.send(segment.pk), robust=True)


@receiver(quick_clips_ready)
def _compile_when_quick_clips_ready(sender: type, *, project: VideoProject, **kwargs: object) -> None:
    from editor.tasks import quick_compile  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(lambda: quick_compile.send(project.pk), robust=True)


QUICK_DISSOLVE = {"kind": "dissolve", "length": 0.5}


@transaction.atomic
def quick_compile(*, project_id: int) -> CompileJob | None:
    """A Quick project's clips, all landed: mirrored as approved Director segments, then compiled (once)."""
    project = _lock(VideoProject.objects.get(pk=project_id))
    if not project.is_quick or project.status != ProjectStatus.GENERATING_VIDEO:
        return None  # already compiled, or the storyboard was redrafted meanwhile
    project_mirror(project=project)
    project_set_status(project=project, status=ProjectStatus.EDITOR)
    segments = selectors.approved_segments(project=project)
    starter = Job.objects.filter(project=project, capability=Capability.VIDEO).order_by("-pk").first()
    user = (starter.created_by if starter else None) or project.created_by
    options = {"project": project, "user": user, "segment_ids": [s.pk for s in segments]}
    options |= {"aspect_ratio": project.aspect_ratio, "captions_mode": Captions.OFF}
    try:
        job = compile_request(**options, transitions=[QUICK_DISSOLVE] * (len(segments) - 1))
    except ValidationError:
        # Clips too short to dissolve: plain cuts fit more, and the editor can add transitions.
        try:
            job = compile_request(**options, transitions=[{"kind": "cut", "length": 0}] * (len(segments) - 1))
        except ValidationError as error:
            # Recorded as a failed compile, so the board says why and offers the Compile page.
            job = CompileJob.objects.create(
                project=project,
                created_by=user,
                segment_ids=options["segment_ids"],
                aspect_ratio=project.aspect_ratio,
                captions=Captions.OFF,
                status=CompileStatus.FAILED,
                error=" ".join(error.messages),
                completed_at=timezone.now(),
            )
    with contextlib.suppress(ValidationError, tl.TimelineError):
        editor_open(project=project, user=user)  # without playable segments the editor page explains itself
    return job


def segment_normalize(*, segment_id: int) -> VideoSegment | None:
    """Re-encode an approved segment once to its project's house format, so compiles can copy it."""
    segment = VideoSegment.objects.select_related("project").filter(pk=segment_id).first()
    if segment is None or not segment.is_playable:
        return None
    aspect = segment.project.aspect_ratio
    if segment.normalized and segment.normalized_aspect == aspect:
        return segment
    fmt = renderer.HouseFormat.for_aspect(aspect)
    try:
        with local_copy(segment.video.name) as src, tempfile.TemporaryDirectory() as tmp:
            out = renderer.normalize(src, Path(tmp) / "house.mp4", fmt, fit="pad")
            with out.open("rb") as handle:
                segment.normalized.save(
                    f"segment-v{segment.version}-{aspect.replace(':', 'x')}.mp4", File(handle), save=False
                )
    except (renderer.FFmpegError, av.FFmpegError, OSError, ValueError) as error:
        segment.normalize_error = f"Could not prepare this segment for fast compiles: {error}"[:2000]
        segment.save(update_fields=["normalize_error", "updated_at"])
        return segment
    segment.normalized_aspect, segment.normalized_at, segment.normalize_error = aspect, timezone.now(), ""
    segment.save(update_fields=["normalized", "normalized_aspect", "normalized_at", "normalize_error", "updated_at"])
    return segment


# Compiles -------------------------------------------------------------------------


def is_normalized(segment: VideoSegment, aspect: str) -> bool:
    return bool(segment.normalized) and segment.normalized_aspect == aspect


def render_path(*, segments: Sequence[VideoSegment], aspect: str, burn: bool, project_aspect: str) -> str:
    """ "smart" when every segment can be copied as is; "full" when some picture must be encoded again."""
    if burn or aspect != project_aspect or not all(is_normalized(s, aspect) for s in segments):
        return "full"
    return "smart"


def _joins(transitions: Sequence[dict], segments: Sequence[VideoSegment]) -> list[renderer.Join]:
    if len(transitions) != max(len(segments) - 1, 0):
        raise ValidationError("Choose a transition for every join between two segments.")
    joins = []
    for n, item in enumerate(transitions, start=2):
        try:
            joins.append(renderer.Join(str(item.get("kind", "cut")), float(item.get("length") or 0)))
        except (TypeError, ValueError) as error:
            raise ValidationError(f"The transition into segment {n} ({_label(segments[n - 1])}): {error}") from None
    return joins


def _fail_stale(project: VideoProject) -> None:
    """A compile whose worker died (a restart, say) would block the project forever: end it with a reason."""
    limit = timezone.now() - timedelta(minutes=settings.COMPILE_TIME_LIMIT_MINUTES + 1)
    CompileJob.objects.filter(project=project, status=CompileStatus.RUNNING, started_at__lt=limit).update(
        status=CompileStatus.FAILED,
        completed_at=timezone.now(),
        error="The compile stopped without finishing (its worker was restarted or ran out of time). Start it again.",
    )


@transaction.atomic
def compile_request(
    *,
    project: VideoProject,
    user: AbstractBaseUser,
    segment_ids: Sequence[int],
    transitions: Sequence[dict],
    aspect_ratio: str,
    captions_mode: str = Captions.SOFT,
    target_lufs: float = -14.0,
    voice: bool = True,
    music: bool = True,
    keep_own_sound: bool = False,
) -> CompileJob:
    """Queue a compile of approved segments in the given order; nothing is rendered here.

    keep_own_sound keeps the soundtrack a video model put on its clips (muted by default).
    """
    project = _lock(project)
    _fail_stale(project)
    if selectors.active_compile(project=project):
        raise ValidationError("A compile is already running for this project. Wait for it, or cancel it.")
    if not segment_ids:
        raise ValidationError("Choose at least one approved segment to compile.")
    if len(set(segment_ids)) != len(segment_ids):
        raise ValidationError("A segment can be in the compile only once.")
    if aspect_ratio not in renderer.PRESETS:
        raise ValidationError(f"Unknown output shape {aspect_ratio!r}: use 16:9, 9:16 or 1:1.")
    if captions_mode not in Captions.values:
        raise ValidationError("Unknown captions choice.")
    if float(target_lufs) not in LOUDNESS_TARGETS:
        raise ValidationError("The loudness target is -14 or -23 LUFS.")
    approved = {s.pk: s for s in selectors.approved_segments(project=project) if (s.duration or 0) >= 0.5}
    missing = [pk for pk in segment_ids if pk not in approved]
    if missing:
        raise ValidationError(
            f"{len(missing)} of the chosen segments are no longer approved versions of this project. Reload the page."
        )
    chosen = [approved[pk] for pk in segment_ids]
    joins = _joins(transitions, chosen)
    try:
        renderer.plan_durations([s.duration or 0 for s in chosen], joins)
    except renderer.TooShortError as error:
        raise ValidationError(
            f"Segment {error.index + 1} ({_label(chosen[error.index])}) is too short for the transitions around it. "
            "Shorten them or use a cut."
        ) from None
    sound = selectors.sound_settings_of(project=project)
    job = CompileJob.objects.create(
        project=project,
        created_by=user,
        segment_ids=list(segment_ids),
        transitions=[{"kind": j.kind, "length": j.length if j.overlap else 0} for j in joins],
        audio_config={
            "voice": bool(voice),
            "music": bool(music),
            "keep_own_sound": bool(keep_own_sound),
            "music_volume": sound.music_volume,
            "duck": sound.duck_music,
            "target_lufs": float(target_lufs),
            "true_peak": TRUE_PEAK,
        },
        captions=captions_mode,
        aspect_ratio=aspect_ratio,
        render_path=render_path(
            segments=chosen,
            aspect=aspect_ratio,
            burn=captions_mode == Captions.BURNED,
            project_aspect=project.aspect_ratio,
        ),
    )
    from editor.tasks import compile_video  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(lambda: compile_video.send(job.pk), robust=True)
    return job


@transaction.atomic
def compile_cancel(*, job: CompileJob) -> CompileJob:
    job = CompileJob.objects.select_for_update().get(pk=job.pk)
    if job.status == CompileStatus.PENDING:
        job.status, job.completed_at, job.error = CompileStatus.CANCELED, timezone.now(), "Cancelled before it started."
        job.save(update_fields=["status", "completed_at", "error"])
    elif job.status == CompileStatus.RUNNING:
        job.cancel_requested = True
        job.stage = "Cancelling…"
        job.save(update_fields=["cancel_requested", "stage"])
    else:
        raise ValidationError("This compile has already ended.")
    return job


class CompileInputError(Exception):
    """Something the compile needs is missing or unreadable; the message says what and what to do."""


def compiles_requeue_pending() -> int:
    """Send again the compiles still pending after the quiet period: their message was lost (a Redis restart, or
    Redis down when they were queued). Claiming is conditional, so a duplicate message renders nothing twice."""
    from editor.tasks import compile_video  # noqa: PLC0415 - tasks imports this module

    quiet = timezone.now() - timedelta(seconds=settings.SWEEP_QUIET_SECONDS)
    pending = CompileJob.objects.filter(status=CompileStatus.PENDING, cancel_requested=False, created_at__lt=quiet)
    ids = list(pending.values_list("pk", flat=True))
    for pk in ids:
        compile_video.send(pk)
    return len(ids)


def _claim(job_id: int) -> CompileJob | None:
    claimed = CompileJob.objects.filter(pk=job_id, status=CompileStatus.PENDING, cancel_requested=False).update(
        status=CompileStatus.RUNNING, started_at=timezone.now(), stage="Starting", progress=0
    )
    return CompileJob.objects.select_related("project").get(pk=job_id) if claimed else None


def _end(job: CompileJob, status: str, *, error: str = "", **fields: object) -> None:
    CompileJob.objects.filter(pk=job.pk, status=CompileStatus.RUNNING).update(
        status=status, error=error[:4000], completed_at=timezone.now(), **fields
    )


def _label(segment: VideoSegment) -> str:
    return f"Scene {segment.scene.scene_number} · shot {segment.shot.shot_number} (v{segment.version})"


def _open(stack: contextlib.ExitStack, name: str, what: str) -> Path:
    if not name or not default_storage.exists(name):
        raise CompileInputError(f"The file of {what} is missing from storage. Regenerate it, or leave it out.")
    return stack.enter_context(local_path(name))


def _probe(path: Path, what: str) -> float:
    try:
        return renderer.duration_of(path)
    except (av.FFmpegError, IndexError, ValueError, OSError, TypeError):
        raise CompileInputError(
            f"The file of {what} cannot be read; it may be damaged. Regenerate it or restore an earlier version."
        ) from None


def _segments(job: CompileJob) -> list[VideoSegment]:
    found = VideoSegment.objects.filter(project=job.project, pk__in=job.segment_ids).select_related("scene", "shot")
    by_id = {s.pk: s for s in found}
    if len(by_id) != len(job.segment_ids):
        raise CompileInputError("A segment chosen for this compile has been deleted. Start a new compile.")
    return [by_id[pk] for pk in job.segment_ids]


def _cues(
    segments: Sequence[VideoSegment],
    starts: Sequence[float],
    spans: Sequence[float],
    voices: dict[int, float],
    total: float,
) -> list[captions.Cue]:
    cues: list[captions.Cue] = []
    seen: set[int] = set()
    for i, segment in enumerate(segments):
        scene = segment.scene
        if scene.pk in seen or not scene.narration.strip():
            continue
        seen.add(scene.pk)
        own = sum(spans[k] for k, s in enumerate(segments) if s.scene_id == scene.pk)
        span = min(voices.get(scene.pk) or own, total - starts[i])
        cues += captions.cues_for(scene.narration, start=starts[i], span=span)
    return sorted(cues, key=lambda c: c.start)


def total_cost(*, segments: Sequence[VideoSegment], audio: Sequence[AudioAsset]) -> Decimal:
    """Everything in the video: its segments, the master images they animate, its voiceovers and music."""
    images = ContentType.objects.get_for_model(ShotImage)
    job_ids = {s.job_id for s in segments if s.job_id} | {a.job_id for a in audio if a.job_id}
    job_ids |= {pk for a in audio for pk in a.metadata.get("jobs", [])}  # a music bed made in parts
    image_ids = [s.source_image_id for s in segments if s.source_image_id]
    jobs = Job.objects.filter(pk__in=job_ids) | Job.objects.filter(target_type=images, target_id__in=image_ids)
    return (jobs.aggregate(total=Sum(COST))["total"] or Decimal("0")).quantize(Decimal("0.01"))


def compile_run(*, job_id: int, on_change: Callable[[CompileJob], None] | None = None) -> CompileJob | None:
    """Render a queued compile; its row says how it ended. Earlier final videos are never touched."""
    job = _claim(job_id)
    if job is None:
        return None
    notify = on_change or (lambda job: None)
    notify(job)

    def progress(fraction: float, stage: str) -> None:
        CompileJob.objects.filter(pk=job.pk, status=CompileStatus.RUNNING).update(progress=fraction, stage=stage)
        notify(job)

    def cancelled() -> bool:
        return CompileJob.objects.filter(pk=job.pk, cancel_requested=True).exists()

    control = renderer.Control(on_progress=progress, should_cancel=cancelled)
    try:
        with contextlib.ExitStack() as stack:
            render = _render if job.purpose == RenderPurpose.COMPILE else _render_timeline
            final = render(job, stack, control)
    except renderer.CancelledError:
        _end(job, CompileStatus.CANCELED, error="Cancelled. Earlier final videos are kept.", stage="Cancelled")
    except CompileInputError as error:
        _end(job, CompileStatus.FAILED, error=str(error), stage="Failed")
    except (renderer.FFmpegError, av.FFmpegError, ValueError, OSError) as error:
        logger.warning("Compile %s failed: %s", job.pk, error)
        _end(job, CompileStatus.FAILED, error=f"The render failed: {str(error)[-1500:]}", stage="Failed")
    except BaseException as error:
        # A time limit or a shutdown interrupts the worker: the row must not stay "running" behind it.
        _end(
            job,
            CompileStatus.FAILED,
            stage="Failed",
            error=f"The compile was stopped before it finished ({type(error).__name__}). Start it again.",
        )
        raise
    else:
        report = final.loudness.get("report", {}) if isinstance(final, FinalVideo) else {}
        _end(job, CompileStatus.SUCCEEDED, progress=1, stage="Done", report=report)
        if isinstance(final, FinalVideo) and not CompileJob.objects.filter(pk=job.pk, status="succeeded").exists():
            final.delete()  # cancelled at the very end: the row says cancelled, so no final video either
    job.refresh_from_db()
    notify(job)
    return job


def _render(job: CompileJob, stack: contextlib.ExitStack, control: renderer.Control) -> FinalVideo:
    project = job.project
    segments = _segments(job)
    aspect = job.aspect_ratio
    clips, durations = [], []
    for segment in segments:
        use_house = is_normalized(segment, aspect) and default_storage.exists(segment.normalized.name)
        name = segment.normalized.name if use_house else segment.video.name
        path = _open(stack, name, _label(segment))
        durations.append(_probe(path, _label(segment)))
        clips.append(renderer.Clip(path, normalized=use_house))
    joins = [renderer.Join(t["kind"], t["length"]) for t in job.transitions]
    starts = renderer.timeline_starts(durations, joins)
    spans = [d - (joins[i].overlap if i < len(joins) else 0) for i, d in enumerate(durations)]
    total = sum(spans)
    config = job.audio_config
    voices_by_scene, music = selectors.current_audio(project=project)
    used_audio: list[AudioAsset] = []
    voice_lengths: dict[int, float] = {}
    mix = renderer.Mix(
        target_lufs=config.get("target_lufs", -14.0),
        true_peak=config.get("true_peak", TRUE_PEAK),
        music_volume=config.get("music_volume", 35) / 100,
        duck=config.get("duck", True),
    )
    keep = bool(config.get("keep_own_sound"))
    audio_roles.apply(mix, [audio_roles.segment_volume(s, keep_own_sound=keep) for s in segments], segments)
    # A scene with a lip-synced shot gets no voiceover (that shot carries it); no other voice runs over one.
    voiced, lipsynced = audio_roles.voiced_scenes(segments), audio_roles.lipsync_spans(segments, starts, durations)
    for i, segment in enumerate(segments):
        voice = voices_by_scene.get(segment.scene_id)
        if not config.get("voice", True) or voice is None or not voice.is_ready or segment.scene_id in voice_lengths:
            continue
        if segment.scene_id in voiced:
            continue
        what = f"the scene {segment.scene.scene_number} voiceover"
        path = _open(stack, voice.audio.name, what)
        voice_lengths[segment.scene_id] = length = _probe(path, what)
        placed = audio_roles.place_voice(starts[i], length, lipsynced)
        if placed is None:
            continue  # lip-synced shots fill the time this voice would have
        start, kept = placed
        mix.voices.append(renderer.Voice(path, start, length=None if abs(kept - length) < 1e-3 else kept))
        used_audio.append(voice)
    if config.get("music", True) and music is not None and music.is_ready:
        mix.music = _open(stack, music.audio.name, "the music bed")
        _probe(mix.music, "the music bed")
        used_audio.append(music)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compile-")))
    cues = _cues(segments, starts, spans, voice_lengths, total) if job.captions != Captions.OFF else []
    srt = vtt = None
    if cues:
        srt, vtt = workdir / "captions.srt", workdir / "captions.vtt"
        srt.write_text(captions.to_srt(cues), encoding="utf-8")
        vtt.write_text(captions.to_vtt(cues), encoding="utf-8")
    fmt = renderer.HouseFormat.for_aspect(aspect)
    out = workdir / "final.mp4"
    report = renderer.render(
        clips,
        joins,
        mix,
        fmt,
        out,
        workdir=workdir,
        subtitles=srt,
        burn=job.captions == Captions.BURNED,
        fit="crop",
        control=control,
    )
    return _store_final(job, segments=segments, audio=used_audio, report=report, out=out, srt=srt, vtt=vtt, fmt=fmt)


def _store_final(
    job: CompileJob,
    *,
    segments: list[VideoSegment],
    audio: list[AudioAsset],
    report: renderer.Report,
    out: Path,
    srt: Path | None,
    vtt: Path | None,
    fmt: renderer.HouseFormat,
) -> FinalVideo:
    count = FinalVideo.objects.filter(project=job.project).count() + 1
    final = FinalVideo(
        project=job.project,
        compile_job=job,
        title=f"{job.project.title} · {job.aspect_ratio} · {'cut' if job.purpose == 'compile' else 'edit'} {count}",
        duration=round(report.duration, 3),
        clip_count=len(segments),
        total_cost=total_cost(segments=segments, audio=audio),
        aspect_ratio=job.aspect_ratio,
        width=fmt.width,
        height=fmt.height,
        file_size=out.stat().st_size,
        loudness={
            "target_lufs": job.audio_config.get("target_lufs"),
            "true_peak_limit": job.audio_config.get("true_peak"),
            "measured_before": {k: report.loudness.get(k) for k in ("input_i", "input_tp", "input_lra")},
            "report": {
                "copied_pieces": report.copied_pieces,
                "encoded_windows": report.encoded_windows,
                "normalized_now": report.normalized_now,
                "burned_captions": report.burned_captions,
            },
        },
        created_by=job.created_by,
    )
    stem = f"{job.project.title[:40]}-{job.aspect_ratio.replace(':', 'x')}".replace(" ", "-")
    with out.open("rb") as handle:
        final.video.save(f"{stem}.mp4", File(handle), save=False)
    for field, path in ((final.captions_srt, srt), (final.captions_vtt, vtt)):
        if path is not None:
            with path.open("rb") as handle:
                field.save(f"{stem}{path.suffix}", File(handle), save=False)
    final.save()
    return final


# The timeline editor ----------------------------------------------------------------

QUALITY_CRF = {"draft": 28, "standard": 20, "high": 16}
FRAME_RATES = (24, 25, 30)
PREVIEW_SIZES = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (480, 480)}


def _initial_timeline(project: VideoProject) -> dict:
    """The newest compiled cut (its order and joins), or the approved segments in storyboard order."""
    approved = {s.pk: s for s in selectors.approved_segments(project=project) if (s.duration or 0) >= 0.5}
    last = (
        CompileJob.objects.filter(project=project, purpose=RenderPurpose.COMPILE, status=CompileStatus.SUCCEEDED)
        .order_by("-completed_at")
        .first()
    )
    order, joins = list(approved), [{"kind": "dissolve", "length": 0.5}] * max(len(approved) - 1, 0)
    keep = False
    if last and all(pk in approved for pk in last.segment_ids):
        order, joins = last.segment_ids, last.transitions
        keep = bool(last.audio_config.get("keep_own_sound"))
    video = []
    for i, pk in enumerate(order):
        segment = approved[pk]
        join = joins[i - 1] if i else {"kind": "cut", "length": 0}
        video.append(
            {
                "id": tl.new_id("c"),
                "segment": pk,
                "source_duration": segment.duration,
                "in": 0,
                "out": segment.duration,
                "transition": join,
                # The compile kept the models' soundtracks: so does the editor. Otherwise the role decides.
                "volume": audio_roles.initial_clip_volume(segment, keep_own_sound=keep),
            }
        )
    try:
        timeline = tl.parse({"aspect_ratio": project.aspect_ratio, "tracks": {"video": video}})
    except tl.TimelineError:
        # Clips too short for those transitions: start from cuts, and let the user add transitions.
        for clip in video:
            clip["transition"] = {"kind": "cut", "length": 0}
        timeline = tl.parse({"aspect_ratio": project.aspect_ratio, "tracks": {"video": video}})
    starts, total = timeline.starts(), timeline.duration
    voices, music = selectors.current_audio(project=project)
    sound = selectors.sound_settings_of(project=project)
    data = timeline.dump()
    placed = audio_roles.voiced_scenes([approved[c.segment] for c in timeline.tracks.video])
    for clip, start in zip(timeline.tracks.video, starts, strict=True):
        scene_id = approved[clip.segment].scene_id
        voice = voices.get(scene_id)
        if voice and voice.is_ready and scene_id not in placed and voice.duration:
            placed.add(scene_id)
            data["tracks"]["voiceover"].append(
                {
                    "id": tl.new_id("v"),
                    "asset": voice.pk,
                    "source_duration": voice.duration,
                    "start": round(start, 3),
                    "in": 0,
                    "out": voice.duration,
                }
            )
    lipsynced = audio_roles.lipsync_spans(
        [approved[c.segment] for c in timeline.tracks.video], starts, [c.length for c in timeline.tracks.video]
    )
    tl_voices = []
    for clip in data["tracks"]["voiceover"]:
        # Another scene's voice never runs over a lip-synced clip: that clip's sound is a voice too.
        if placed := audio_roles.place_voice(clip["start"], clip["out"] - clip["in"], lipsynced):
            clip["start"], clip["out"] = round(placed[0], 3), round(clip["in"] + placed[1], 3)
            tl_voices.append(clip)
    data["tracks"]["voiceover"] = tl_voices
    tl_voices = sorted(tl_voices, key=lambda v: v["start"])
    for before, after in pairwise(tl_voices):
        # A voice running into the next scene's is shortened to end where that one starts.
        before["out"] = min(before["out"], round(after["start"] - before["start"], 3))
    if music and music.is_ready and music.duration and total:
        data["tracks"]["music"].append(
            {
                "id": tl.new_id("m"),
                "asset": music.pk,
                "source_duration": music.duration,
                "start": 0,
                "in": 0,
                "out": round(total, 3),
                "loops": True,
                "volume": sound.music_volume / 100,
                "fade_out": min(1.0, total / 4),
            }
        )
    data["duck_music"] = sound.duck_music
    return tl.parse(data).dump()


def timeline_assets(timeline: tl.Timeline) -> dict[int, AudioAsset]:
    """The audio assets a timeline's voiceover and music clips use, by id (with their scenes)."""
    ids = [c.asset for name in ("voiceover", "music") for c in getattr(timeline.tracks, name)]
    return AudioAsset.objects.select_related("scene").in_bulk(ids)


def check_media(timeline: tl.Timeline, project: VideoProject) -> tl.Timeline:
    """Refuse clips whose media is unknown, unplayable or another project's; take media lengths from the rows."""
    data = timeline.dump()
    segments = VideoSegment.objects.in_bulk([c.segment for c in timeline.tracks.video])
    assets = timeline_assets(timeline)
    for clip in data["tracks"]["video"]:
        segment = segments.get(clip["segment"])
        if segment is None:
            raise tl.TimelineError(f"Clip {clip['id']} uses media that does not exist (segment {clip['segment']}).")
        if segment.project_id != project.pk:
            raise tl.TimelineError(f"Clip {clip['id']} uses a video from another project; it cannot be used here.")
        if not segment.is_playable or not segment.duration:
            raise tl.TimelineError(f"Clip {clip['id']}: that version ({_label(segment)}) has no playable video.")
        clip["source_duration"] = segment.duration
    for name in ("voiceover", "music"):
        for clip in data["tracks"][name]:
            asset = assets.get(clip["asset"])
            if asset is None:
                raise tl.TimelineError(f"Clip {clip['id']} uses media that does not exist (audio {clip['asset']}).")
            if asset.project_id != project.pk:
                raise tl.TimelineError(f"Clip {clip['id']} uses audio from another project; it cannot be used here.")
            if not asset.is_ready or not asset.duration:
                raise tl.TimelineError(f"Clip {clip['id']}: that audio has no playable file.")
            if (asset.kind == AudioKind.MUSIC) != (name == "music"):
                raise tl.TimelineError(f"Clip {clip['id']}: {asset.get_kind_display().lower()} goes on its own track.")
            clip["source_duration"] = asset.duration
    return tl.parse(data)


def _editor_locked(editor: EditorProject) -> EditorProject:
    _lock(editor.project)
    return EditorProject.objects.select_for_update(of=("self",)).select_related("current", "project").get(pk=editor.pk)


def _add_revision(editor: EditorProject, data: dict, *, user: AbstractBaseUser | None, note: str) -> TimelineRevision:
    number = (editor.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = TimelineRevision.objects.create(
        editor=editor, number=number, parent=editor.current, timeline=data, note=note[:200], created_by=user
    )
    editor.current = revision
    editor.save(update_fields=["current", "updated_at"])
    return revision


@transaction.atomic
def editor_open(*, project: VideoProject, user: AbstractBaseUser | None) -> EditorProject:
    """The project's editor, made from its compiled cut (or approved segments) the first time."""
    project = _lock(project)
    editor, _ = EditorProject.objects.get_or_create(project=project)
    if editor.current_id is None:
        if not any((s.duration or 0) >= 0.5 for s in selectors.approved_segments(project=project)):
            raise ValidationError("The editor starts from approved segments. Approve some in Review first.")
        _add_revision(editor, _initial_timeline(project), user=user, note="Opened from the compiled cut")
    return editor


def _commit(
    editor: EditorProject, *, user: AbstractBaseUser | None, data: object, note: str, base: int | None
) -> TimelineRevision:
    current = editor.current
    if base is not None and current is not None and current.number != base:
        raise tl.TimelineError(
            f"The timeline changed in another window (it is at revision {current.number} now). Reload to see it."
        )
    timeline = _fit_music(check_media(tl.parse(data), editor.project))
    lengths = [c.length for c in timeline.tracks.video]
    joins = [renderer.Join(c.transition.kind, c.transition.length) for c in timeline.tracks.video[1:]]
    try:
        renderer.plan_durations(lengths, joins)
    except renderer.TooShortError as error:
        raise tl.TimelineError(
            f"Clip {error.index + 1} is too short for the transitions around it (they are cut on a half-second grid). "
            "Shorten a transition or lengthen the clip."
        ) from None
    data = timeline.dump()
    if current is not None and current.timeline == data:
        return current
    return _add_revision(editor, data, user=user, note=note)


def _fit_music(timeline: tl.Timeline) -> tl.Timeline:
    """A looping music bed always runs from its start to the end of the video, however the video changes."""
    data, end = timeline.dump(), timeline.duration
    for clip in data["tracks"]["music"]:
        if clip.get("loops") and clip["start"] < end:
            clip["out"] = round(clip["in"] + end - clip["start"], 3)
            clip["fade_out"] = min(clip["fade_out"], clip["out"] - clip["in"])
            clip["fade_in"] = min(clip["fade_in"], clip["out"] - clip["in"] - clip["fade_out"])
    return tl.parse(data)


@transaction.atomic
def timeline_commit(
    *, editor: EditorProject, user: AbstractBaseUser | None, data: object, note: str, base: int | None = None
) -> TimelineRevision:
    """Save a new revision if the timeline is valid; otherwise refuse with a message and keep the current one."""
    return _commit(_editor_locked(editor), user=user, data=data, note=note, base=base)


@transaction.atomic
def timeline_edit(
    *,
    editor: EditorProject,
    user: AbstractBaseUser | None,
    base: int | None,
    note: str,
    change: Callable[[tl.Timeline], dict],
) -> TimelineRevision:
    """Apply one edit (a function of the current timeline, read under the lock) as a new revision."""
    editor = _editor_locked(editor)
    if editor.current is None:
        raise ValidationError("This editor has no timeline. Open the editor again.")
    if base is not None and editor.current.number != base:
        return _commit(editor, user=user, data=editor.current.timeline, note=note, base=base)  # refused: stale
    return _commit(editor, user=user, data=change(tl.parse(editor.current.timeline)), note=note, base=base)


def _check_base(editor: EditorProject, base: int | None) -> None:
    if base is not None and editor.current is not None and editor.current.number != base:
        raise ValidationError(
            f"The timeline changed in another window (it is at revision {editor.current.number} now). Reload to see it."
        )


@transaction.atomic
def timeline_undo(*, editor: EditorProject, base: int | None = None) -> TimelineRevision:
    editor = _editor_locked(editor)
    _check_base(editor, base)
    if editor.current is None or editor.current.parent_id is None:
        raise ValidationError("Nothing to undo.")
    editor.current = editor.current.parent
    editor.save(update_fields=["current", "updated_at"])
    return editor.current


@transaction.atomic
def timeline_redo(*, editor: EditorProject, base: int | None = None) -> TimelineRevision:
    editor = _editor_locked(editor)
    _check_base(editor, base)
    child = editor.current.children.order_by("-number").first() if editor.current else None
    if child is None:
        raise ValidationError("Nothing to redo.")
    editor.current = child
    editor.save(update_fields=["current", "updated_at"])
    return child


def timeline_restore(*, editor: EditorProject, revision: TimelineRevision, user: AbstractBaseUser) -> TimelineRevision:
    """Go back to an earlier revision: a new revision with its timeline (checked again: media may be gone)."""
    return timeline_commit(editor=editor, user=user, data=revision.timeline, note=f"Back to revision {revision.number}")


@transaction.atomic
def timeline_render(
    *,
    editor: EditorProject,
    user: AbstractBaseUser,
    purpose: str,
    aspect_ratio: str | None = None,
    fps: int = 30,
    quality: str = "standard",
) -> CompileJob:
    """Queue a preview (low resolution, fast) or an export (a final video) of the current revision."""
    editor = _editor_locked(editor)
    if editor.current is None:
        raise ValidationError("This editor has no timeline. Open the editor again.")
    project = editor.project
    _fail_stale(project)
    if selectors.active_compile(project=project, purpose=purpose):
        raise ValidationError(
            f"A {RenderPurpose(purpose).label.lower()} is already running. Wait for it, or cancel it."
        )
    aspect = aspect_ratio or tl.parse(editor.current.timeline).aspect_ratio
    if aspect not in renderer.PRESETS or fps not in FRAME_RATES or quality not in QUALITY_CRF:
        raise ValidationError("Choose a shape (16:9, 9:16, 1:1), a frame rate (24, 25, 30) and a quality.")
    timeline = check_media(tl.parse(editor.current.timeline), project)
    job = CompileJob.objects.create(
        project=project,
        created_by=user,
        purpose=purpose,
        timeline=timeline.dump(),
        aspect_ratio=aspect,
        options={"fps": fps, "quality": quality, "revision": editor.current.number},
        segment_ids=[c.segment for c in timeline.tracks.video],
        transitions=[c.transition.model_dump() for c in timeline.tracks.video[1:]],
        captions=Captions.BURNED if timeline.tracks.text else Captions.OFF,
        audio_config={"target_lufs": -14.0, "true_peak": TRUE_PEAK},
        render_path="full",
    )
    from editor.tasks import compile_video  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(lambda: compile_video.send(job.pk), robust=True)
    return job


def _timeline_format(job: CompileJob) -> renderer.HouseFormat:
    if job.purpose == RenderPurpose.PREVIEW:
        width, height = PREVIEW_SIZES[job.aspect_ratio]
        return renderer.HouseFormat(width=width, height=height, fps=24, crf=32, preset="ultrafast")
    fps, quality = job.options.get("fps", 30), job.options.get("quality", "standard")
    return renderer.HouseFormat.for_aspect(job.aspect_ratio, fps=fps, crf=QUALITY_CRF[quality])


def _timeline_voices(
    timeline: tl.Timeline,
    segments: dict[int, VideoSegment],
    levels: list[float],
    assets: dict[int, AudioAsset],
    stack: contextlib.ExitStack,
) -> list[renderer.Voice]:
    """The voice track as it plays: never over a lip-synced clip that is heard, whatever the edits did."""
    voices: list[renderer.Voice] = []
    lipsynced = audio_roles.lipsync_spans(
        [segments[c.segment] if level > 0 else None for c, level in zip(timeline.tracks.video, levels, strict=True)],
        timeline.starts(),
        [c.length for c in timeline.tracks.video],
    )
    for voice in timeline.tracks.voiceover:
        path = _open(stack, assets[voice.asset].audio.name, "a voiceover")
        pieces = audio_roles.voice_pieces(voice.start, voice.offset, voice.length, lipsynced)
        for n, (start, offset, length) in enumerate(pieces):
            voices.append(
                renderer.Voice(
                    path,
                    start,
                    offset=offset,
                    length=length,
                    volume=voice.volume,
                    fade_in=voice.fade_in if n == 0 else 0.0,
                    fade_out=voice.fade_out if n == len(pieces) - 1 else 0.0,
                )
            )
    return voices


def _render_timeline(job: CompileJob, stack: contextlib.ExitStack, control: renderer.Control) -> FinalVideo | None:
    timeline = tl.parse(job.timeline)
    try:
        timeline = check_media(timeline, job.project)
    except tl.TimelineError as error:
        raise CompileInputError(str(error)) from None
    fmt = _timeline_format(job)
    house = renderer.HouseFormat.for_aspect(job.aspect_ratio) == fmt
    segments = VideoSegment.objects.select_related("scene", "shot").in_bulk([c.segment for c in timeline.tracks.video])
    clips, used = [], []
    for clip in timeline.tracks.video:
        segment = segments[clip.segment]
        use_house = (
            house and is_normalized(segment, job.aspect_ratio) and default_storage.exists(segment.normalized.name)
        )
        path = _open(stack, segment.normalized.name if use_house else segment.video.name, _label(segment))
        _probe(path, _label(segment))
        whole = clip.start < 1e-3 and clip.end > clip.source_duration - 1e-3
        clips.append(
            renderer.Clip(path, normalized=use_house, start=0 if whole else clip.start, end=None if whole else clip.end)
        )
        used.append(segment)
    joins = [renderer.Join(c.transition.kind, c.transition.length) for c in timeline.tracks.video[1:]]
    assets = timeline_assets(timeline)
    mix = renderer.Mix(duck=timeline.duck_music, target_lufs=-14.0, true_peak=TRUE_PEAK)
    levels = [audio_roles.clip_volume(c.volume, segments[c.segment]) for c in timeline.tracks.video]
    audio_roles.apply(mix, levels, used)
    mix.voices = _timeline_voices(timeline, segments, levels, assets, stack)
    for music in timeline.tracks.music:
        mix.music = _open(stack, assets[music.asset].audio.name, "the music bed")
        mix.music_volume, mix.music_start, mix.music_offset = music.volume, music.start, music.offset
        mix.music_length, mix.music_fade_in, mix.music_fade_out = music.length, music.fade_in, music.fade_out
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="render-")))
    overlays = [captions.Overlay(t.start, t.end, t.text, t.position, t.style, t.size) for t in timeline.tracks.text]
    ass = None
    if overlays:
        ass = workdir / "text.ass"
        ass.write_text(captions.to_ass(overlays, width=fmt.width, height=fmt.height), encoding="utf-8")
    out = workdir / "render.mp4"
    report = renderer.render(
        clips, joins, mix, fmt, out, workdir=workdir, subtitles=ass, burn=ass is not None, fit="crop", control=control
    )
    if job.purpose == RenderPurpose.PREVIEW:
        with out.open("rb") as handle:
            job.output.save(f"preview-r{job.options.get('revision', 0)}.mp4", File(handle), save=False)
        CompileJob.objects.filter(pk=job.pk).update(output=job.output.name)
        older = CompileJob.objects.filter(project=job.project, purpose=RenderPurpose.PREVIEW).exclude(pk=job.pk)
        names = [name for name in older.exclude(output="").values_list("output", flat=True)]
        older.update(output="")
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])
        return None
    cues = [captions.Cue(t.start, t.end, t.text) for t in timeline.tracks.text if t.kind == "caption"]
    srt = vtt = None
    if cues:
        srt, vtt = workdir / "captions.srt", workdir / "captions.vtt"
        srt.write_text(captions.to_srt(cues), encoding="utf-8")
        vtt.write_text(captions.to_vtt(cues), encoding="utf-8")
    audio = [assets[c.asset] for n in ("voiceover", "music") for c in getattr(timeline.tracks, n)]
    return _store_final(job, segments=used, audio=audio, report=report, out=out, srt=srt, vtt=vtt, fmt=fmt)


def timeline_interchange(*, editor: EditorProject, workdir: Path, stack: contextlib.ExitStack) -> Path:
    """A zip of the current revision as OTIO, FCP XML and EDL, with its media, written in workdir."""
    from editor import interchange  # noqa: PLC0415 - OpenTimelineIO is only needed here

    revision = TimelineRevision.objects.get(pk=editor.current_id)
    timeline = check_media(tl.parse(revision.timeline), editor.project)
    media: dict[str, interchange.Media] = {}
    segments = VideoSegment.objects.select_related("scene", "shot").in_bulk([c.segment for c in timeline.tracks.video])
    for pk, segment in segments.items():
        name = f"scene{segment.scene.scene_number}-shot{segment.shot.shot_number}-v{segment.version}.mp4"
        media[f"segment:{pk}"] = interchange.Media(name, _open(stack, segment.video.name, _label(segment)))
    assets = timeline_assets(timeline)
    for pk, asset in assets.items():
        suffix = Path(asset.audio.name).suffix
        name = f"{asset.kind}-{asset.scene.scene_number if asset.scene_id else 'bed'}-v{asset.version}{suffix}"
        media[f"audio:{pk}"] = interchange.Media(name, _open(stack, asset.audio.name, f"audio {name}"))
    stem = f"{editor.project.title[:40]}-r{revision.number}".replace(" ", "-").replace("/", "-")
    result = interchange.build(timeline, name=f"{editor.project.title} (revision {revision.number})", media=media)
    return interchange.write_zip(result, media, workdir / f"{stem}.zip", stem=stem)
