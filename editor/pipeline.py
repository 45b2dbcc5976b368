"""The whole pipeline, headless: prompt to MP4 with every decision taken automatically (`manage.py makevideo`).

Each stage uses the same services the pages use; jobs are run in this
process (a worker elsewhere may also pick up the queued messages: the job
ledger's lease makes sure each job runs once). The project stays in the app
afterwards, with every asset, so a person can take over from any stage.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from editor import services as editor_services
from editor.models import CompileJob, CompileStatus, FinalVideo
from generation.models import ACTIVE, Job, JobStatus
from generation.services import job_poll, job_run, project_spend
from projects import services as project_services
from projects.models import ProjectStatus, SceneShot, Team, VideoProject
from storyboard import services as storyboard_services
from storyboard.models import SegmentStatus, VideoSegment

Progress = Callable[[str, int, int], None]


class PipelineError(Exception):
    """A stage could not finish; the message says which and why."""


@dataclass
class Options:
    prompt: str
    aspect_ratio: str = "16:9"
    scenes: int = 3
    duration: int = 30
    budget: Decimal | None = None
    title: str = ""
    stages: dict[str, float] = field(default_factory=dict)


def _run(jobs: Sequence[Job], *, stage: str, progress: Progress, timeout: float = 1800) -> None:
    """Run queued jobs here and wait for submitted ones; fail the stage if any job failed."""
    ids = [job.pk for job in jobs]
    for n, pk in enumerate(ids, start=1):
        job_run(job_id=pk)
        progress(stage, n, len(ids))
    deadline = time.monotonic() + timeout
    while Job.objects.filter(pk__in=ids, status__in=ACTIVE).exists():
        if time.monotonic() > deadline:
            raise PipelineError(f"{stage}: the provider did not finish within {timeout / 60:.0f} minutes.")
        active = Job.objects.filter(pk__in=ids, status__in=ACTIVE)
        for pk in active.exclude(prediction_id="").values_list("pk", flat=True):
            job_poll(job_id=pk, reschedule=False)
        # A retry is a delayed queue message, and no worker may be reading the queue here: run the
        # retries that are due in this process (the lease in job_run keeps a worker elsewhere from doubling them).
        due = active.filter(prediction_id="", next_attempt_at__lte=timezone.now())
        for pk in due.values_list("pk", flat=True):
            job_run(job_id=pk)
        time.sleep(1)
    failed = Job.objects.filter(pk__in=ids).exclude(status=JobStatus.SUCCEEDED).first()
    if failed is not None:
        raise PipelineError(f"{stage}: a {failed.get_capability_display().lower()} job failed: {failed.error}")


def _queued(project: VideoProject, since: int) -> list[Job]:
    return list(Job.objects.filter(project=project, pk__gt=since, status=JobStatus.QUEUED).order_by("pk"))


def _last_job(project: VideoProject) -> int:
    return Job.objects.filter(project=project).order_by("-pk").values_list("pk", flat=True).first() or 0


def _guard(project: VideoProject, options: Options, stage: str) -> None:
    if options.budget is not None and project_spend(project=project) > options.budget:
        raise PipelineError(
            f"Stopped before {stage}: this project has spent ${project_spend(project=project)}, "
            f"more than the ${options.budget} limit."
        )


def make_video(
    *, team: Team, user: AbstractBaseUser, options: Options, progress: Progress
) -> tuple[VideoProject, FinalVideo]:
    """Every stage in order; returns the project and its final video, or raises PipelineError."""
    try:
        return _make(team, user, options, progress)
    except ValidationError as error:
        raise PipelineError(" ".join(error.messages)) from None


def _timed(options: Options, stage: str) -> Callable[[], None]:
    started = time.monotonic()
    return lambda: options.stages.__setitem__(stage, round(time.monotonic() - started, 2))


def _make(team: Team, user: AbstractBaseUser, options: Options, progress: Progress) -> tuple[VideoProject, FinalVideo]:
    project = project_services.project_create(
        team=team,
        user=user,
        title=options.title or options.prompt[:80],
        prompt=options.prompt,
        aspect_ratio=options.aspect_ratio,
        target_duration=options.duration,
    )
    done = _timed(options, "plan")
    for request in (project_services.questions_request, project_services.brief_request):
        _run([request(project=project, user=user)], stage="Plan", progress=progress)
    project.refresh_from_db()
    _run([project_services.script_request(project=project, user=user)], stage="Plan", progress=progress)
    project.refresh_from_db()
    _trim_script(project, options.scenes)
    project_services.project_start_iteration(project=project)
    done()

    _guard(project, options, "images")
    done = _timed(options, "images")
    shots = list(SceneShot.objects.filter(project=project).order_by("scene__scene_number", "shot_number"))
    before = _last_job(project)
    for shot in shots:
        project_services.shot_generate(shot=shot, user=user, count=1)
    _run(_queued(project, before), stage="Images", progress=progress)
    for shot in shots:
        image = shot.images.filter(status="complete").order_by("iteration_number", "variant_number").first()
        project_services.shot_select_master(shot=shot, image=image)
    done()

    _animate(project, user, options, progress)

    _guard(project, options, "sound")
    done = _timed(options, "sound")
    before = _last_job(project)
    editor_services.voiceovers_request(project=project, user=user)
    editor_services.music_request(project=project, user=user)
    _run(_queued(project, before), stage="Sound", progress=progress)
    done()

    done = _timed(options, "compile")
    segments = editor_services.selectors.approved_segments(project=project)
    job = editor_services.compile_request(
        project=project,
        user=user,
        segment_ids=[s.pk for s in segments],
        transitions=[{"kind": "dissolve", "length": 0.5}] * (len(segments) - 1),
        aspect_ratio=options.aspect_ratio,
    )
    job = editor_services.compile_run(
        job_id=job.pk,
        on_change=lambda j: progress("Compile", round(CompileJob.objects.get(pk=j.pk).progress * 100), 100),
    )
    if job is None or job.status != CompileStatus.SUCCEEDED:
        raise PipelineError(f"Compile: {job.error if job else 'another worker took the compile'}")
    done()
    project.refresh_from_db()
    return project, job.final_video


def _animate(project: VideoProject, user: AbstractBaseUser, options: Options, progress: Progress) -> None:
    """Every shot animated and auto-approved, then normalized for a fast compile."""
    _guard(project, options, "animation")
    done = _timed(options, "animate")
    storyboard_services.review_settings_update(project=project, mode="parallel", batch_size=20, auto_approve=True)
    shots = list(SceneShot.objects.filter(project=project).select_related("selected_image"))
    estimate = storyboard_services.animation_estimate(project=project, shots=shots)
    if options.budget is not None and project_spend(project=project) + estimate.total > options.budget:
        raise PipelineError(
            f"Stopped before animation: it would cost about ${estimate.total:.2f}, past the ${options.budget} limit."
        )
    storyboard_services.segments_request(project=project, shots=shots, user=user)
    while VideoSegment.objects.filter(
        project=project, is_current=True, status__in=[SegmentStatus.PENDING, SegmentStatus.GENERATING]
    ).exists():
        before = _last_job(project)
        storyboard_services.segments_dispatch(project_id=project.pk)
        jobs = list(Job.objects.filter(project=project, capability="video", status__in=ACTIVE).order_by("pk"))
        if not jobs and not _queued(project, before):
            break
        _run(jobs, stage="Animate", progress=progress)
    storyboard_services.segments_dispatch(project_id=project.pk)  # auto-approves the last ones
    current = VideoSegment.objects.filter(project=project, is_current=True)
    if current.filter(status=SegmentStatus.FAILED).exists():
        raise PipelineError(f"Animate: {current.filter(status=SegmentStatus.FAILED).first().error}")
    for segment in current:
        editor_services.segment_normalize(segment_id=segment.pk)
    done()


def _trim_script(project: VideoProject, scenes: int) -> None:
    """Keep the first `scenes` scenes of the drafted script (the LLM may write more)."""
    extra = project.scenes.order_by("scene_number")[scenes:]
    for scene in list(extra):
        project_services.scene_delete(scene=scene)
    if not project.scenes.exists():
        raise PipelineError("Plan: the script has no scenes.")
    if ProjectStatus(project.status) == ProjectStatus.PROMPT_PLANNING:
        project_services.project_set_status(project=project, status=ProjectStatus.SCENES_SETUP)


def report(*, project: VideoProject, final: FinalVideo, options: Options) -> dict:
    """Every asset with its provider, model, seed, prompt, cost and timings; the stages' times; the output."""
    assets = []
    for job in Job.objects.filter(project=project).select_related("target_type").order_by("pk"):
        seconds = (job.finished_at - job.created_at).total_seconds() if job.finished_at else None
        assets.append(
            {
                "kind": job.capability,
                "for": str(job.target) if job.target_id else project.title,
                "provider": job.provider,
                "model": job.model_id,
                "seed": job.input.get("seed"),
                "prompt": job.input.get("prompt") or job.input.get("text") or job.input.get("task", ""),
                "cost": str(job.cost),
                "status": job.status,
                "queued_at": job.created_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                "seconds": seconds,
            }
        )
    return {
        "project": {
            "id": project.pk,
            "title": project.title,
            "prompt": project.prompt,
            "aspect_ratio": project.aspect_ratio,
        },
        "video": {
            "duration": final.duration,
            "segments": final.clip_count,
            "width": final.width,
            "height": final.height,
            "file_size": final.file_size,
            "loudness": final.loudness,
        },
        "total_cost": str(project_spend(project=project)),
        "stages_seconds": options.stages,
        "assets": assets,
    }
