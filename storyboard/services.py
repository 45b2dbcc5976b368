"""All writes to segments, their reviews and the generation line.

The line: "Animate" creates a new current version per shot, waiting. The
dispatcher (segments_dispatch, run under the project's row lock) hands
waiting segments to the generation engine: in parallel mode up to the batch
size at once; in sequential mode one at a time, the next only when every
segment made so far is approved. Each segment has at most one live job, whose
idempotency key is derived from the segment, so a second dispatch of the same
segment never pays twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.dispatch import receiver
from django.utils import timezone

from generation import registry
from generation.models import AIModel, Capability, Job
from generation.services import BudgetExceededError, JobSpec, jobs_cancel_for, jobs_create, team_month_spend
from projects.models import ProjectStatus, SceneShot, StoryboardSelection, Team, VideoProject
from projects.services import project_set_status, project_touch
from projects.signals import master_changed
from projects.tasks import delete_stored_files
from storyboard import selectors
from storyboard.models import (
    DURATIONS,
    ApprovalStatus,
    AudioRole,
    GenerationMode,
    ReviewAction,
    ReviewSettings,
    SegmentReview,
    SegmentStatus,
    ShotAnimation,
    VideoSegment,
)
from storyboard.signals import segment_approved

RESOLUTION = "720p"
# What a segment's generation params pass on to the video request.
REQUEST_KEYS = ("prompt", "duration", "resolution", "aspect_ratio", "seed")


class EstimateChangedError(ValidationError):
    """What the user confirmed is no longer what it would cost: they must look again."""


# Settings ----------------------------------------------------------------------


@transaction.atomic
def review_settings_update(*, project: VideoProject, mode: str, batch_size: int, auto_approve: bool) -> ReviewSettings:
    if mode not in GenerationMode.values:
        raise ValidationError(f"Unknown generation mode {mode!r}.")
    if not 1 <= batch_size <= 20:
        raise ValidationError("The batch size must be between 1 and 20.")
    obj, _ = ReviewSettings.objects.update_or_create(
        project=project, defaults={"mode": mode, "batch_size": batch_size, "auto_approve": auto_approve}
    )
    transaction.on_commit(lambda: _send_dispatch(project.pk), robust=True)
    return obj


@transaction.atomic
def shot_animation_update(
    *, shot: SceneShot, ai_model: AIModel | None, duration: int, motion_prompt: str, seed: int | None
) -> ShotAnimation:
    if duration not in DURATIONS:
        raise ValidationError("Segments are 5 or 10 seconds long.")
    if ai_model is not None:
        try:
            registry.check_usable(ai_model, Capability.VIDEO)
        except registry.NoModelError as error:
            raise ValidationError(str(error)) from None
        allowed = ai_model.capabilities.get("durations")
        if allowed and duration not in allowed:
            raise ValidationError(f"{ai_model.label} makes {' or '.join(map(str, allowed))} second clips.")
    obj, _ = ShotAnimation.objects.update_or_create(
        shot=shot,
        defaults={"ai_model": ai_model, "duration": duration, "motion_prompt": motion_prompt.strip(), "seed": seed},
    )
    return obj


# Estimates ---------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateLine:
    shot: SceneShot
    model: AIModel
    params: dict
    cost: Decimal


@dataclass(frozen=True)
class Estimate:
    lines: list[EstimateLine]
    skipped: list[tuple[SceneShot, str]]
    total: Decimal
    budget_left: Decimal

    @property
    def fits(self) -> bool:
        return self.total <= self.budget_left


def _params_for(shot: SceneShot, project: VideoProject) -> tuple[AIModel, dict]:
    settings_ = getattr(shot, "animation", None)
    model = settings_.ai_model if settings_ and settings_.ai_model_id else registry.resolve(Capability.VIDEO)
    motion = settings_.motion_prompt if settings_ else ""
    params = {
        "prompt": motion or shot.description or shot.initial_prompt,
        "duration": settings_.duration if settings_ else DURATIONS[0],
        "resolution": RESOLUTION,
        "aspect_ratio": project.aspect_ratio,
    }
    if settings_ and settings_.seed is not None:
        params["seed"] = settings_.seed
    return model, params


def _budget_left(team: Team) -> Decimal:
    return max(team.monthly_budget - team_month_spend(team=team), Decimal("0"))


def animation_estimate(*, project: VideoProject, shots: Sequence[SceneShot]) -> Estimate:
    """What animating shots would cost, shot by shot, before anything is spent."""
    lines, skipped = [], []
    for shot in shots:
        if not shot.selected_image_id:
            skipped.append((shot, "no master image yet"))
            continue
        current = next((s for s in shot.segments.all() if s.is_current), None)
        if current and current.is_working:
            skipped.append((shot, "already being animated"))
            continue
        model, params = _params_for(shot, project)
        lines.append(EstimateLine(shot=shot, model=model, params=params, cost=registry.estimate(model, params)))
    total = sum((line.cost for line in lines), Decimal("0"))
    return Estimate(lines=lines, skipped=skipped, total=total, budget_left=_budget_left(project.team))


def same_price(exact: Decimal, shown: Decimal) -> bool:
    """Whether a price shown in cents (rounded half up, in a template or in the browser) is still the price."""
    return abs(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) - shown) <= Decimal("0.01")


# The line ----------------------------------------------------------------------


def _next_version(shot: SceneShot) -> int:
    return (VideoSegment.objects.filter(shot=shot).aggregate(n=Max("version"))["n"] or 0) + 1


def _make_current(segment: VideoSegment) -> None:
    VideoSegment.objects.filter(shot_id=segment.shot_id, is_current=True).exclude(pk=segment.pk).update(
        is_current=False, updated_at=timezone.now()
    )
    if not segment.is_current:
        segment.is_current = True
        segment.save(update_fields=["is_current", "updated_at"])


def audio_role_for(*, model: AIModel, params: dict) -> str:
    """A lip-sync version's sound is the scene's voice; a model with its own soundtrack puts one on the clip."""
    if params.get("lipsync"):
        return AudioRole.LIPSYNC
    return AudioRole.OWN_SOUND if registry.has_own_audio(model) else AudioRole.SILENT


def _new_version(
    *, shot: SceneShot, user: AbstractBaseUser | None, model: AIModel, params: dict, parent: VideoSegment | None
) -> VideoSegment:
    VideoSegment.objects.filter(shot=shot, is_current=True).update(is_current=False, updated_at=timezone.now())
    segment = VideoSegment.objects.create(
        project_id=shot.project_id,
        scene_id=shot.scene_id,
        shot=shot,
        version=_next_version(shot),
        parent=parent,
        is_current=True,
        source_image_id=shot.selected_image_id,
        generation_params={**params, "model": model.model_id, "model_pk": model.pk, "model_label": model.label},
        audio_role=audio_role_for(model=model, params=params),
        created_by=user,
    )
    mirror_selection(shot_id=shot.pk)
    return segment


@transaction.atomic
def segments_request(
    *,
    project: VideoProject,
    shots: Sequence[SceneShot],
    user: AbstractBaseUser,
    expected_total: Decimal | None = None,
) -> list[VideoSegment]:
    """Animate shots (in storyboard order): a new current version each, started by the line, within the budget.

    expected_total is what the user confirmed; if the estimate differs now, nothing happens.
    """
    project = VideoProject.objects.select_for_update(of=("self",)).select_related("team").get(pk=project.pk)
    shots = list(
        SceneShot.objects.filter(pk__in=[s.pk for s in shots], project=project)
        .select_related("scene", "animation__ai_model")
        .prefetch_related("segments")
    )
    estimate = animation_estimate(project=project, shots=shots)
    if not estimate.lines:
        reasons = "; ".join(f"scene {s.scene.scene_number} shot {s.shot_number}: {why}" for s, why in estimate.skipped)
        raise ValidationError(f"Nothing to animate ({reasons})." if reasons else "Choose at least one shot.")
    if expected_total is not None and not same_price(estimate.total, expected_total):
        raise EstimateChangedError(
            f"The cost changed from ${expected_total:.2f} to ${estimate.total:.2f} since you looked. Nothing was spent."
        )
    if not estimate.fits:
        raise BudgetExceededError(
            f"Animating these shots would cost about ${estimate.total:.2f}, but {project.team.name} has "
            f"${estimate.budget_left:.2f} left this month. Nothing was spent. An owner can raise the budget."
        )
    segments = []
    for line in estimate.lines:
        current = next((s for s in line.shot.segments.all() if s.is_current), None)
        segments.append(_new_version(shot=line.shot, user=user, model=line.model, params=line.params, parent=current))
    _dispatch(project, strict=True)
    _update_project_status(project)
    project_touch(project=project)
    started = VideoSegment.objects.select_related("job").in_bulk([s.pk for s in segments])
    return [started[s.pk] for s in segments]


def _line(project: VideoProject) -> "list[VideoSegment]":
    return list(
        VideoSegment.objects.filter(project=project, is_current=True)
        .select_related("shot", "source_image", "job")
        .order_by("scene__scene_number", "shot__shot_number")
    )


def _slots(project: VideoProject, line: list[VideoSegment]) -> int:
    config = selectors.review_settings_of(project=project)
    in_flight = sum(1 for s in line if s.is_working and not s.is_waiting)
    if config.mode == GenerationMode.SEQUENTIAL:
        unreviewed = any(
            s.status == SegmentStatus.COMPLETED and s.approval_status != ApprovalStatus.APPROVED for s in line
        )
        return 0 if in_flight or unreviewed else 1
    return max(config.batch_size - in_flight, 0)


def _dispatch(project: VideoProject, *, strict: bool) -> list[VideoSegment]:
    """Start as many waiting segments as the mode allows. The project row must be locked by the caller."""
    line = _line(project)
    waiting = [s for s in line if s.is_waiting]
    started = []
    for segment in waiting[: _slots(project, line)]:
        try:
            with transaction.atomic():
                job = _start(segment)
        except ValidationError as error:
            if strict:
                raise
            _fail_without_job(segment, " ".join(error.messages))
            continue
        if job is not None:
            started.append(segment)
    return started


@transaction.atomic
def segments_dispatch(*, project_id: int) -> list[VideoSegment]:
    """Auto-approve what the settings say, then start what the mode allows."""
    project = VideoProject.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        return []
    if selectors.review_settings_of(project=project).auto_approve:
        unreviewed = VideoSegment.objects.filter(
            project=project, is_current=True, status=SegmentStatus.COMPLETED, approval_status=ApprovalStatus.NONE
        ).exclude(video="")
        for segment in unreviewed:
            segment_approve(segment=segment, user=None, feedback="Auto-approved (the project's auto-approve setting).")
    return _dispatch(project, strict=False)


def segments_redispatch_waiting() -> int:
    """Dispatch again the projects whose waiting segments no message carries (Redis lost it, say). Periodic."""
    quiet = timezone.now() - timedelta(seconds=settings.SWEEP_QUIET_SECONDS)
    waiting = VideoSegment.objects.filter(
        is_current=True, status=SegmentStatus.PENDING, job__isnull=True, updated_at__lt=quiet
    )
    projects = list(waiting.values_list("project_id", flat=True).distinct())
    for project_id in projects:
        segments_dispatch(project_id=project_id)
    return len(projects)


def _send_dispatch(project_id: int) -> None:
    from storyboard.tasks import dispatch_segments  # noqa: PLC0415 - tasks imports this module

    dispatch_segments.send(project_id)


def _start(segment: VideoSegment, *, attempt: int = 0) -> Job | None:
    """Hand the segment to the engine, if it is still the shot's current, unstarted version (checked under lock)."""
    segment = (
        VideoSegment.objects.select_for_update(of=("self",))
        .select_related("source_image", "project")
        .filter(pk=segment.pk, is_current=True, status=SegmentStatus.PENDING)
        .first()
    )
    if segment is None:
        return None  # replaced or stopped meanwhile (a new master, say): nothing to pay for
    if segment.job_id and not attempt:
        return segment.job
    params = segment.generation_params
    model = AIModel.objects.filter(pk=params.get("model_pk")).first()
    if model is None:
        raise ValidationError(f"The model {params.get('model')} is no longer in the registry. Choose another one.")
    if lipsync := params.get("lipsync"):
        # The duration only prices the call: lipsync-2 bills the seconds it makes, the voice's length in loop mode.
        seconds = lipsync.get("duration") or params.get("duration", 5)
        request = {"video": lipsync["video"], "audio": lipsync["audio"], "duration": seconds}
        capability = Capability.LIPSYNC
    else:
        if segment.source_image is None or not segment.source_image.image:
            raise ValidationError("The master image this segment was made from is gone. Animate the shot again.")
        capability = Capability.VIDEO
        request = {k: params[k] for k in REQUEST_KEYS if k in params}
        request["image"] = segment.source_image.image.name
    key = f"segment:{segment.pk}" + (f":retry:{attempt}" if attempt else "")
    spec = JobSpec(capability=capability, input=request, target=segment, idempotency_key=key, model=model)
    job = jobs_create(project=segment.project, user=segment.created_by, specs=[spec])[0]
    if capability == Capability.VIDEO:
        # The seed the engine drew is the segment's: "regenerate with the same seed" repeats it exactly.
        params = {**params, "seed": job.input["seed"]}
    segment.generation_params = params
    segment.job = job
    segment.error = ""
    segment.save(update_fields=["generation_params", "job", "error", "updated_at"])
    return job


def _fail_without_job(segment: VideoSegment, error: str) -> None:
    segment.status = SegmentStatus.FAILED
    segment.error = error
    segment.save(update_fields=["status", "error", "updated_at"])
    mirror_selection(shot_id=segment.shot_id)


@transaction.atomic
def segment_retry(*, segment: VideoSegment, user: AbstractBaseUser) -> VideoSegment:
    """Try a failed version again with the same parameters (a failed call is not billed)."""
    segment = _locked(segment)
    if segment.status != SegmentStatus.FAILED:
        raise ValidationError("Only a failed segment can be retried.")
    if not segment.is_current:
        raise ValidationError("Only the current version can be retried; restore it first.")
    attempts = segment.generation_params.get("attempts", 1)
    segment.generation_params = {**segment.generation_params, "attempts": attempts + 1}
    segment.status = SegmentStatus.PENDING
    segment.save(update_fields=["generation_params", "status", "updated_at"])
    _start(segment, attempt=attempts)
    mirror_selection(shot_id=segment.shot_id)
    return segment


# Review ------------------------------------------------------------------------


def _locked(segment: VideoSegment) -> VideoSegment:
    """The segment, locked after its project and shot.

    Every writer takes the same order (project, shot, segment, team, job); shot_select_master does too.
    """
    VideoProject.objects.select_for_update().filter(pk=segment.project_id).exists()
    SceneShot.objects.select_for_update().filter(pk=segment.shot_id).exists()
    return VideoSegment.objects.select_for_update(of=("self",)).select_related("project", "shot").get(pk=segment.pk)


def _update_project_status(project: VideoProject) -> None:
    shots = SceneShot.objects.filter(project=project)
    approved = VideoSegment.objects.filter(
        project=project, is_current=True, status=SegmentStatus.COMPLETED, approval_status=ApprovalStatus.APPROVED
    )
    all_approved = shots.exists() and approved.count() == shots.count()
    if all_approved and project.status == ProjectStatus.STORYBOARD_FINAL:
        project_set_status(project=project, status=ProjectStatus.ANIMATION_COMPLETE)
    elif not all_approved and project.status == ProjectStatus.ANIMATION_COMPLETE:
        project_set_status(project=project, status=ProjectStatus.STORYBOARD_FINAL)


@transaction.atomic
def segment_approve(
    *, segment: VideoSegment, user: AbstractBaseUser | None, rating: int | None = None, feedback: str = ""
) -> VideoSegment:
    segment = _locked(segment)
    if not segment.is_playable:
        raise ValidationError("Only a finished segment can be approved.")
    if not segment.is_current:
        raise ValidationError("Restore this version as current before approving it.")
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError("A rating is 1 to 5 stars.")
    segment.approval_status = ApprovalStatus.APPROVED
    segment.approved_at = timezone.now()
    segment.rejection_reason = ""
    segment.save(update_fields=["approval_status", "approved_at", "rejection_reason", "updated_at"])
    SegmentReview.objects.create(
        segment=segment, user=user, action=ReviewAction.APPROVE, rating=rating, feedback=feedback.strip()
    )
    _update_project_status(segment.project)
    project_touch(project=segment.project)
    segment_approved.send(sender=VideoSegment, segment=segment)
    transaction.on_commit(lambda: _send_dispatch(segment.project_id), robust=True)
    return segment


@transaction.atomic
def segment_lipsync(
    *,
    segment: VideoSegment,
    user: AbstractBaseUser,
    model: AIModel,
    audio_name: str,
    voiceover_id: int,
    duration: float | None = None,
) -> VideoSegment:
    """A new version of the segment with its mouth movements synced to the scene's voiceover (a paid call)."""
    segment = _locked(segment)
    if not segment.is_playable or not segment.is_current:
        raise ValidationError("Only the shot's current, finished version can be lip-synced.")
    kept = {k: v for k, v in segment.generation_params.items() if k in REQUEST_KEYS}
    params = {
        **kept,
        "lipsync": {
            "video": segment.video.name,
            "audio": audio_name,
            "voiceover": voiceover_id,
            "from_version": segment.version,
            "duration": duration or segment.duration or segment.generation_params.get("duration", 5),
        },
    }
    new = _new_version(shot=segment.shot, user=user, model=model, params=params, parent=segment)
    _start(new)
    new.refresh_from_db()
    return new


@transaction.atomic
def segment_reject(
    *, segment: VideoSegment, user: AbstractBaseUser, reason: str, suggested_changes: str = ""
) -> VideoSegment:
    segment = _locked(segment)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why you reject it, so the next version can do better.")
    if segment.status != SegmentStatus.COMPLETED:
        raise ValidationError("Only a finished segment can be rejected.")
    segment.approval_status = ApprovalStatus.REJECTED
    segment.rejection_reason = reason
    segment.approved_at = None
    segment.save(update_fields=["approval_status", "rejection_reason", "approved_at", "updated_at"])
    changes = {"prompt": suggested_changes.strip()} if suggested_changes.strip() else {}
    SegmentReview.objects.create(
        segment=segment, user=user, action=ReviewAction.REJECT, feedback=reason, suggested_changes=changes
    )
    _update_project_status(segment.project)
    project_touch(project=segment.project)
    return segment


@transaction.atomic
def segment_regenerate(
    *,
    segment: VideoSegment,
    user: AbstractBaseUser,
    prompt: str,
    seed: int | None,
    duration: int,
    ai_model: AIModel,
    expected_cost: Decimal | None = None,
) -> VideoSegment:
    """A new version of the shot's segment from changed parameters; segment stays as its parent."""
    segment = _locked(segment)
    shot = SceneShot.objects.select_for_update(of=("self",)).select_related("project__team").get(pk=segment.shot_id)
    if not shot.selected_image_id:
        raise ValidationError("The shot has no master image to animate.")
    current = VideoSegment.objects.filter(shot=shot, is_current=True).first()
    if current and current.is_working:
        raise ValidationError("A version of this shot is still being made; wait for it or let it fail first.")
    if duration not in DURATIONS:
        raise ValidationError("Segments are 5 or 10 seconds long.")
    try:
        registry.check_usable(ai_model, Capability.VIDEO)
    except registry.NoModelError as error:
        raise ValidationError(str(error)) from None
    params = {
        "prompt": prompt.strip() or segment.generation_params.get("prompt", ""),
        "duration": duration,
        "resolution": segment.generation_params.get("resolution", RESOLUTION),
        "aspect_ratio": shot.project.aspect_ratio,
    }
    if seed is not None:
        params["seed"] = seed
    cost = registry.estimate(ai_model, params)
    if expected_cost is not None and not same_price(cost, expected_cost):
        raise EstimateChangedError(f"This now costs ${cost:.2f}, not ${expected_cost:.2f}. Nothing was spent.")
    changes = {
        name: params.get(name)
        for name in ("prompt", "seed", "duration")
        if params.get(name) != segment.generation_params.get(name)
    }
    if ai_model.pk != segment.generation_params.get("model_pk"):
        changes["model"] = ai_model.model_id
    SegmentReview.objects.create(segment=segment, user=user, action=ReviewAction.REGENERATE, suggested_changes=changes)
    if segment.approval_status != ApprovalStatus.REJECTED:
        segment.approval_status = ApprovalStatus.NEEDS_REVISION
        segment.approved_at = None
        segment.save(update_fields=["approval_status", "approved_at", "updated_at"])
    new = _new_version(shot=shot, user=user, model=ai_model, params=params, parent=segment)
    # Asked for explicitly and shown at its price: it starts now, ahead of the line.
    _start(new)
    _update_project_status(shot.project)
    project_touch(project=shot.project)
    return new


@transaction.atomic
def segment_restore(*, segment: VideoSegment, user: AbstractBaseUser) -> VideoSegment:
    """Make an earlier version current again; the one it replaces stays in the history."""
    segment = _locked(segment)
    if segment.is_current:
        raise ValidationError("This version is already the current one.")
    if not segment.is_playable:
        reason = "its files were removed by the storage policy" if segment.files_removed_at else "it never finished"
        raise ValidationError(f"Version {segment.version} cannot be restored: {reason}.")
    current = VideoSegment.objects.filter(shot_id=segment.shot_id, is_current=True).first()
    if current and current.is_working:
        raise ValidationError("A newer version is still being made. Wait for it to finish before restoring.")
    _make_current(segment)
    SegmentReview.objects.create(
        segment=segment,
        user=user,
        action=ReviewAction.RESTORE,
        feedback=f"Replaced version {current.version}." if current else "",
    )
    mirror_selection(shot_id=segment.shot_id)
    _update_project_status(segment.project)
    project_touch(project=segment.project)
    transaction.on_commit(lambda: _send_dispatch(segment.project_id), robust=True)
    return segment


@transaction.atomic
def segment_update_notes(*, segment: VideoSegment, user_notes: str) -> VideoSegment:
    segment.user_notes = user_notes.strip()
    segment.full_clean(validate_constraints=False)
    segment.save(update_fields=["user_notes", "updated_at"])
    return segment


# Results -----------------------------------------------------------------------

SELECTION_STATUS = {
    SegmentStatus.PENDING: "pending",
    SegmentStatus.GENERATING: "processing",
    SegmentStatus.COMPLETED: "complete",
    SegmentStatus.FAILED: "failed",
}


def mirror_selection(*, shot_id: int) -> None:
    """The storyboard selection shows the current segment (seed 000's animationStatus and animatedVideoUrl)."""
    current = VideoSegment.objects.filter(shot_id=shot_id, is_current=True).first()
    StoryboardSelection.objects.filter(shot_id=shot_id).update(
        animation_status=SELECTION_STATUS[current.status] if current else "",
        animated_video=current.video.name if current and current.is_playable else "",
        prediction_id=current.job.prediction_id if current and current.job else "",
        updated_at=timezone.now(),
    )


def segment_finished(*, segment: VideoSegment) -> None:
    """After a version is made or failed: the dispatcher (auto-approve, then the next in line) runs after commit.

    Not here: this runs inside the engine's job transaction, which holds the job row.
    """
    transaction.on_commit(lambda: _send_dispatch(segment.project_id), robust=True)


@transaction.atomic
def segment_store_scores(
    *, segment: VideoSegment, quality: float | None, consistency: float | None, scores: dict
) -> None:
    VideoSegment.objects.filter(pk=segment.pk).update(
        quality_score=quality,
        consistency_score=consistency,
        scores=scores,
        fps=scores.get("probe", {}).get("fps"),
        updated_at=timezone.now(),
    )


@receiver(master_changed)
def _on_master_changed(sender: type, *, shot: SceneShot, old_video: str, **kwargs: object) -> set[str]:
    """A new master: the segments were made from the old one. They stay in the history, none is current."""
    segments = VideoSegment.objects.filter(shot=shot)
    working = [SegmentStatus.PENDING, SegmentStatus.GENERATING]
    reason = "The shot's master image changed."
    jobs_cancel_for(
        {VideoSegment: list(segments.filter(status__in=working).values_list("pk", flat=True))}, reason=reason
    )
    # Waits for a dispatcher that is starting one of them right now (it holds the segment's lock) ...
    stopped = list(segments.filter(status__in=working).values_list("pk", flat=True))
    segments.filter(pk__in=stopped).update(
        status=SegmentStatus.FAILED, error="Stopped: the shot's master image changed."
    )
    segments.filter(is_current=True).update(is_current=False, updated_at=timezone.now())
    # ... whose job is visible now: cancel it too, before anything is paid for.
    jobs_cancel_for({VideoSegment: stopped}, reason=reason)
    _update_project_status(shot.project)
    return {name for name in segments.exclude(video="").values_list("video", flat=True)}


# Storage policy ----------------------------------------------------------------


@dataclass
class CleanupReport:
    removed: list[int]
    files: int
    dry_run: bool

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return f"{verb} the files of {len(self.removed)} rejected version(s) ({self.files} file(s))"


def cleanup_candidates(
    *, older_than_days: int, keep_last: int, now: timezone.datetime | None = None
) -> list[VideoSegment]:
    """Rejected versions older than the cut-off, beyond each shot's last keep_last, never approved or current."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    candidates = VideoSegment.objects.filter(
        approval_status=ApprovalStatus.REJECTED,
        is_current=False,
        approved_at__isnull=True,
        created_at__lt=cutoff,
        files_removed_at__isnull=True,
    ).exclude(Q(video="") & Q(thumbnail=""))
    chosen = []
    for segment in candidates.order_by("shot_id", "version"):
        newer = VideoSegment.objects.filter(shot_id=segment.shot_id, version__gt=segment.version).count()
        ever_approved = segment.reviews.filter(action=ReviewAction.APPROVE).exists()
        if newer >= keep_last and not ever_approved:
            chosen.append(segment)
    return chosen


@transaction.atomic
def segments_cleanup(
    *, older_than_days: int | None = None, keep_last: int | None = None, dry_run: bool = False
) -> CleanupReport:
    days = settings.SEGMENT_CLEANUP_DAYS if older_than_days is None else older_than_days
    keep = settings.SEGMENT_KEEP_VERSIONS if keep_last is None else keep_last
    if days < 0 or keep < 0:
        raise ValidationError("Days and versions to keep cannot be negative.")
    chosen = cleanup_candidates(older_than_days=days, keep_last=keep)
    if not dry_run and chosen:
        # Checked again under lock: a version restored or approved meanwhile keeps its files.
        chosen = list(
            VideoSegment.objects.select_for_update(of=("self",)).filter(
                pk__in=[s.pk for s in chosen],
                is_current=False,
                approval_status=ApprovalStatus.REJECTED,
                approved_at__isnull=True,
            )
        )
    names = [name for s in chosen for name in (s.video.name, s.thumbnail.name) if name]
    if not dry_run and chosen:
        VideoSegment.objects.filter(pk__in=[s.pk for s in chosen]).update(
            video="", thumbnail="", files_removed_at=timezone.now(), updated_at=timezone.now()
        )
        transaction.on_commit(lambda: delete_stored_files.send(names), robust=True)
    return CleanupReport(removed=sorted(s.pk for s in chosen), files=len(names), dry_run=dry_run)
