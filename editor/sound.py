"""Voices per speech model with paid-once samples, and music beds longer than one call of the music model.

A speech model has its own voices (the registry's `voices`); a project keeps one
choice per model, so a model switched in the admin is never sent another
model's voice. A sample (a short fixed line) is made once per (model, voice)
through the normal job path and shared by every project.

A music model makes at most `max_duration` seconds in one call (MusicGen: 30).
A longer bed is made in parts, joined with crossfades once every part is in,
up to MAX_PARTS; beyond that one piece is made and looped (its end crossfaded
into its start, so the compile's loop has no seam). The bed gets a file only
when the whole of it is made: a failed part fails the bed, and nothing
half-made is ever kept as the bed.
"""

import contextlib
import math
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction

from editor import renderer
from editor.live_fragments import audio_fragments
from editor.models import AudioAsset, AudioStatus, MusicPart, SoundSettings, VoiceSample
from generation import ffmpeg, ingest, live, registry
from generation.handlers import HANDLERS, Handler, _save_file, provenance
from generation.models import ACTIVE, AIModel, Capability, Job
from generation.providers.files import local_path
from generation.services import JobSpec, job_cancel, jobs_create
from projects.models import VideoProject

# Voices -----------------------------------------------------------------------------

SAMPLE_TEXT = "Hello. This is how your narration sounds in this voice."


def speech_model() -> AIModel | None:
    try:
        return registry.resolve(Capability.SPEECH)
    except registry.NoModelError:
        return None


def voice_refusal(model: AIModel, voice: str) -> str:
    labels = ", ".join(label for _, label in registry.voices(model))
    return f"“{voice}” is not a voice of {model.label}, the speech model in use. Choose one of: {labels}."


def check_voice(model: AIModel, voice: str) -> None:
    known = dict(registry.voices(model))
    if (known and voice not in known) or (not known and voice):
        raise ValidationError(voice_refusal(model, voice))


@transaction.atomic
def voice_choose(*, project: VideoProject, voice: str) -> None:
    """Keep the project's voice for the speech model in use (other models' choices stay as they are)."""
    model = registry.resolve(Capability.SPEECH)
    check_voice(model, voice)
    settings_, _ = SoundSettings.objects.select_for_update().get_or_create(project=project)
    if settings_.voices.get(model.model_id) != voice:
        settings_.voices = {**settings_.voices, model.model_id: voice}
        settings_.save(update_fields=["voices", "updated_at"])


def voice_labels() -> dict[str, str]:
    """Every speech model's voice ids with their labels, to name the voice of any voiceover ever made."""
    labels: dict[str, str] = {}
    for model in AIModel.objects.filter(capability=Capability.SPEECH):
        labels.update(registry.voices(model))
    return labels


def sample_cost(model: AIModel, voice: str) -> Decimal:
    return registry.estimate(model, {"text": SAMPLE_TEXT, "voice": voice})


@transaction.atomic
def voice_sample_request(*, project: VideoProject, user: AbstractBaseUser, voice: str) -> VoiceSample:
    """The sample line in voice of the speech model in use: the one already made (or being made), else a new job.

    Paid once per (model, voice) across all projects; the project asking pays it, within its team's budget.
    """
    model = registry.resolve(Capability.SPEECH)
    check_voice(model, voice)
    sample, _ = VoiceSample.objects.get_or_create(ai_model=model, voice=voice, defaults={"text": SAMPLE_TEXT})
    sample = VoiceSample.objects.select_for_update().get(pk=sample.pk)
    if sample.is_ready or (sample.is_working and sample.job_id):
        return sample  # made, or being made: paid once
    sample.status, sample.error, sample.text = AudioStatus.PENDING, "", SAMPLE_TEXT
    sample.save(update_fields=["status", "error", "text", "updated_at"])
    spec = JobSpec(
        capability=Capability.SPEECH, input={"text": SAMPLE_TEXT, "voice": voice}, target=sample, model=model
    )
    (sample.job,) = jobs_create(project=project, user=user, specs=[spec])
    sample.save(update_fields=["job", "updated_at"])
    return sample


def _sample_progress(sample: VoiceSample, job: Job) -> None:
    VoiceSample.objects.filter(pk=sample.pk, status=AudioStatus.PENDING).update(status=AudioStatus.GENERATING)


def _sample_success(sample: VoiceSample, job: Job, files: list[ingest.Media]) -> None:
    _save_file(sample.audio, files[0], f"sample-{sample.voice}")
    duration = files[0].meta.get("duration")
    sample.duration = round(duration, 3) if duration else None
    sample.status, sample.error = AudioStatus.COMPLETED, ""
    sample.save(update_fields=["audio", "duration", "status", "error", "updated_at"])


def _sample_failure(sample: VoiceSample, job: Job) -> None:
    sample.status, sample.error = AudioStatus.FAILED, job.error or job.get_status_display()
    sample.save(update_fields=["status", "error", "updated_at"])


HANDLERS["editor.voicesample"] = Handler(_sample_progress, _sample_success, _sample_failure)


# Music plans ------------------------------------------------------------------------

CROSSFADE = 2  # seconds two parts (or a loop's end and start) overlap
MAX_PARTS = 4  # beyond this many parts, one piece looped: independent parts stop sounding like one piece


@dataclass(frozen=True)
class MusicPlan:
    mode: Literal["single", "parts", "loop"]
    length: int  # whole seconds the bed should last (what is asked for, rounded up)
    durations: tuple[int, ...]  # seconds asked of each call
    limit: int | None  # the model's longest call
    model_label: str

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "length": self.length,
            "durations": list(self.durations),
            "limit": self.limit,
            "crossfade": CROSSFADE,
        }

    def estimate(self, model: AIModel, prompt: str = "") -> Decimal:
        return sum((registry.estimate(model, {"prompt": prompt, "duration": d}) for d in self.durations), Decimal(0))

    @property
    def explanation(self) -> str:
        """What the page says before the bed is made."""
        if self.mode == "single":
            return ""
        why = f"{self.model_label} makes at most {self.limit} s at a time"
        if self.mode == "parts":
            sizes = " + ".join(f"{d} s" for d in self.durations)
            return (
                f"{why}, so this {self.length} s bed is made in {len(self.durations)} parts ({sizes}) "
                f"joined with {CROSSFADE} s crossfades."
            )
        return (
            f"{why}; a {self.length} s bed would take more than {MAX_PARTS} parts, so one {self.limit} s piece "
            "is made and looped under the whole video, its end crossfaded into its start."
        )


def music_plan(*, model: AIModel, length: float) -> MusicPlan:
    """How to make a bed of length seconds with model: in one call, in parts, or one piece looped."""
    total = max(math.ceil(length), 1)
    limit = registry.max_duration(model)
    if limit is None or total <= limit or limit <= 2 * CROSSFADE:
        return MusicPlan("single", total, (min(total, limit or total),), limit, model.label)
    count = math.ceil((total - CROSSFADE) / (limit - CROSSFADE))
    if count > MAX_PARTS:
        return MusicPlan("loop", total, (limit,), limit, model.label)
    # Every join overlaps CROSSFADE seconds: the parts add up to the bed plus the overlaps, as even as whole seconds go.
    whole, extra = divmod(total + (count - 1) * CROSSFADE, count)
    durations = tuple(whole + (1 if n < extra else 0) for n in range(count))
    return MusicPlan("parts", total, durations, limit, model.label)


def plan_summary(plan: dict | None) -> str:
    """What the page says about a bed once made (from the plan kept in its metadata)."""
    if not plan:
        return ""
    if plan.get("mode") == "parts":
        return f"Made in {len(plan['durations'])} parts of up to {plan['limit']} s, crossfaded"
    if plan.get("mode") == "loop":
        return f"A {plan['limit']} s piece looped"
    return ""


def music_parts_start(
    *, project: VideoProject, user: AbstractBaseUser, bed: AudioAsset, plan: MusicPlan, model: AIModel, prompt: str
) -> list[MusicPart]:
    """One job per part, all or none within the budget (the caller's transaction undoes the rows if refused)."""
    parts = [
        MusicPart.objects.create(bed=bed, index=n, requested_duration=seconds)
        for n, seconds in enumerate(plan.durations)
    ]
    specs = [
        JobSpec(
            capability=Capability.MUSIC,
            input={"prompt": prompt, "duration": part.requested_duration},
            target=part,
            idempotency_key=f"music-part:{part.pk}",
            model=model,
        )
        for part in parts
    ]
    for part, job in zip(parts, jobs_create(project=project, user=user, specs=specs), strict=True):
        part.job = job
        part.save(update_fields=["job", "updated_at"])
    bed.metadata = {**bed.metadata, "plan": plan.as_dict(), "jobs": [p.job_id for p in parts]}
    bed.save(update_fields=["metadata", "updated_at"])
    return parts


# Joining ----------------------------------------------------------------------------

HOUSE_AUDIO = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
FADE = "c1=qsin:c2=qsin"  # equal power: the parts are different music, not the same signal


def crossfade_parts(paths: list[Path], out: Path, *, crossfade: float, length: float | None = None) -> None:
    """The parts one after another, each join a crossfade, cut to length; a 48 kHz stereo WAV."""
    graph = [f"[{n}:a]{HOUSE_AUDIO}[p{n}]" for n in range(len(paths))]
    last = "p0"
    for n in range(1, len(paths)):
        graph.append(f"[{last}][p{n}]acrossfade=d={crossfade}:{FADE}[x{n}]")
        last = f"x{n}"
    graph.append(f"[{last}]{'atrim=end=' + str(length) if length else 'anull'}[out]")
    inputs = [arg for path in paths for arg in ("-i", str(path))]
    ffmpeg.run([*inputs, "-filter_complex", ";".join(graph), "-map", "[out]", "-c:a", "pcm_s16le", str(out)])


def loopable(path: Path, out: Path, *, crossfade: float) -> None:
    """The piece with its end crossfaded into its start, so playing it in a loop has no seam."""
    seconds, d = renderer.duration_of(path), crossfade
    graph = (
        f"[0:a]{HOUSE_AUDIO},asplit=3[a][b][c];"
        f"[a]atrim=start={seconds - d},asetpts=PTS-STARTPTS[tail];"
        f"[b]atrim=end={d},asetpts=PTS-STARTPTS[head];"
        f"[c]atrim=start={d}:end={seconds - d},asetpts=PTS-STARTPTS[mid];"
        f"[tail][head]acrossfade=d={d}:{FADE}[seam];[seam][mid]concat=n=2:v=0:a=1[out]"
    )
    ffmpeg.run(["-i", str(path), "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le", str(out)])


def _join(bed: AudioAsset, parts: list[MusicPart]) -> None:
    """Make the bed's file from its parts (the caller holds the bed's row lock)."""
    plan = bed.metadata.get("plan") or {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        paths = [stack.enter_context(local_path(part.audio.name)) for part in parts]
        out = Path(tmp) / "music.wav"
        crossfade = plan.get("crossfade", CROSSFADE)
        if plan.get("mode") == "loop":
            loopable(paths[0], out, crossfade=crossfade)
        else:
            crossfade_parts(paths, out, crossfade=crossfade, length=plan.get("length"))
        media = ingest.check(out, kind="audio")
        with out.open("rb") as handle:
            bed.audio.save(f"music-v{bed.version}.wav", File(handle), save=False)
    jobs = list(Job.objects.filter(pk__in=[p.job_id for p in parts]).order_by("pk"))
    bed.duration = round(media.meta["duration"], 3)
    bed.status, bed.error = AudioStatus.COMPLETED, ""
    bed.metadata = {
        **bed.metadata,
        "provenance": {
            **provenance(jobs[0], media),
            "parts": [provenance(job) for job in jobs],
            "estimated_cost": str(sum((j.estimated_cost for j in jobs), Decimal(0))),
            "actual_cost": str(sum((j.cost for j in jobs), Decimal(0))),
        },
    }
    bed.save(update_fields=["audio", "duration", "status", "error", "metadata", "updated_at"])


def _bed(part: MusicPart) -> AudioAsset:
    return AudioAsset.objects.select_for_update().get(pk=part.bed_id)


def _part_progress(part: MusicPart, job: Job) -> None:
    MusicPart.objects.filter(pk=part.pk, status=AudioStatus.PENDING).update(status=AudioStatus.GENERATING)
    AudioAsset.objects.filter(pk=part.bed_id, status=AudioStatus.PENDING).update(status=AudioStatus.GENERATING)


def _part_success(part: MusicPart, job: Job, files: list[ingest.Media]) -> None:
    bed = _bed(part)  # parts finishing at once take turns here: exactly one of them joins
    _save_file(part.audio, files[0], f"music-v{bed.version}-part-{part.index + 1}")
    part.status, part.error = AudioStatus.COMPLETED, ""
    part.save(update_fields=["audio", "status", "error", "updated_at"])
    parts = list(bed.parts.order_by("index"))
    if not bed.is_working or any(p.status != AudioStatus.COMPLETED for p in parts):
        return
    try:
        _join(bed, parts)
    except (ffmpeg.FFmpegError, ingest.IngestError, OSError) as error:
        bed.status, bed.error = AudioStatus.FAILED, f"The parts could not be joined: {str(error)[-300:]}"
        bed.save(update_fields=["status", "error", "updated_at"])


def _part_failure(part: MusicPart, job: Job) -> None:
    part.status, part.error = AudioStatus.FAILED, job.error or job.get_status_display()
    part.save(update_fields=["status", "error", "updated_at"])
    bed = _bed(part)
    if not bed.is_working:
        return
    count = bed.parts.count()
    bed.status = AudioStatus.FAILED
    bed.error = f"Part {part.index + 1} of {count} failed, so no music was kept: {part.error}"
    bed.save(update_fields=["status", "error", "updated_at"])
    # Stop paying for parts that can no longer be used.
    transaction.on_commit(lambda: _cancel_parts(bed.pk))


def _cancel_parts(bed_id: int) -> None:
    for job in Job.objects.filter(pk__in=MusicPart.objects.filter(bed_id=bed_id).values("job"), status__in=ACTIVE):
        job_cancel(job=job, reason="Another part of this music bed failed.")


HANDLERS["editor.musicpart"] = Handler(_part_progress, _part_success, _part_failure)


# A part's progress redraws the music panel on open Sound pages, as a single-call bed's does.
live.register_fragments("editor.musicpart", lambda part, job: audio_fragments(part.bed, job))
