"""The job lifecycle: create (with the budget check), run, poll, complete, fail, cancel, sweep.

Invariants, each enforced here:
- Status only moves forward along STATUS_RANK; a terminal status is final.
  Every transition is a conditional UPDATE, so a late or duplicate event
  changes nothing.
- A provider call is made only by the worker holding a fresh lease on the
  row (attempt_started_at, set under the row lock); a job that has a
  prediction id is polled, never submitted again.
- Money: a job is created only if the team's spend this month plus the
  estimate fits the budget, checked with the team row locked.
"""

import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.utils import timezone

from generation import ingest, live, orphans, registry
from generation.handlers import handler_for
from generation.models import (
    ACTIVE,
    STATUS_RANK,
    TERMINAL,
    AIModel,
    Capability,
    Job,
    JobStatus,
    Provider,
    WebhookDelivery,
)
from generation.providers import for_provider, requests
from generation.providers.base import Completed, OutputFile, ProviderError, RemoteState, Submitted, TransientError
from projects.models import Team, VideoProject

logger = logging.getLogger(__name__)


class BudgetExceededError(ValidationError):
    pass


@dataclass(frozen=True)
class JobSpec:
    capability: str
    input: dict
    target: models.Model | None = None
    idempotency_key: str | None = None
    # A model the user chose; None lets the registry route the capability.
    model: AIModel | None = None


# Spend -----------------------------------------------------------------------


def month_start() -> timezone.datetime:
    now = timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


COST = Case(
    When(actual_cost__isnull=False, then=F("actual_cost")),
    When(status__in=[JobStatus.FAILED, JobStatus.CANCELED], then=Value(Decimal("0"))),
    default=F("estimated_cost"),
    output_field=DecimalField(max_digits=12, decimal_places=5),
)


def team_month_spend(*, team: Team, exact: bool = False) -> Decimal:
    """Actual cost where known, the estimate for jobs still running, nothing for failed ones without a bill.

    Rounded to cents for people; exact for the budget check, where rounding down lets batches overspend.
    """
    total = Job.objects.filter(team=team, created_at__gte=month_start()).aggregate(total=Sum(COST))["total"]
    total = total or Decimal("0")
    return total if exact else total.quantize(Decimal("0.01"))


def project_spend(*, project: VideoProject) -> Decimal:
    total = Job.objects.filter(project=project).aggregate(total=Sum(COST))["total"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


# Creating jobs ---------------------------------------------------------------


@transaction.atomic
def jobs_create(*, project: VideoProject, user: AbstractBaseUser | None, specs: Sequence[JobSpec]) -> list[Job]:
    """Queue provider calls for project, all or none, within the team's monthly budget."""
    team = Team.objects.select_for_update().get(pk=project.team_id)
    jobs: list[Job] = []
    new: list[Job] = []
    for spec in specs:
        key = spec.idempotency_key or f"job:{uuid.uuid4()}"
        existing = Job.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.project_id != project.pk:
                raise ValidationError("That request key belongs to another project.")
            jobs.append(existing)
            continue
        try:
            params = requests.normalize(spec.capability, spec.input)
        except requests.BadRequestError as error:
            raise ValidationError(str(error)) from None
        if spec.model is not None:
            try:
                registry.check_usable(spec.model, spec.capability)
            except registry.NoModelError as error:
                raise ValidationError(str(error)) from None
        model = spec.model or registry.resolve(spec.capability)
        if spec.capability == Capability.SPEECH and not params.get("voice"):
            params["voice"] = registry.default_voice(model)
        _check_contract(model, spec.capability, params)
        job = Job(
            team=team,
            project=project,
            created_by=user,
            capability=spec.capability,
            provider=model.provider,
            ai_model=model,
            model_id=model.model_id,
            input=params,
            estimated_cost=registry.estimate(model, params),
            idempotency_key=key,
            max_attempts=settings.JOB_MAX_ATTEMPTS,
            deadline_at=timezone.now() + timedelta(minutes=settings.JOB_DEADLINE_MINUTES),
        )
        if spec.target is not None:
            job.target_type = ContentType.objects.get_for_model(spec.target)
            job.target_id = spec.target.pk
        jobs.append(job)
        new.append(job)
    cost = sum((job.estimated_cost for job in new), Decimal("0"))
    if cost > 0:
        spent = team_month_spend(team=team, exact=True)
        if spent + cost > team.monthly_budget:
            left = max(team.monthly_budget - spent, Decimal("0")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            raise BudgetExceededError(
                f"This would cost about ${cost:.2f}, but {team.name} has ${left:.2f} left of its "
                f"${team.monthly_budget:.2f} monthly budget. Nothing was spent. An owner can raise the budget."
            )
    Job.objects.bulk_create(new)
    ids = [job.pk for job in new]
    # The rows are the truth: if the broker is down the sweeper sends what was not sent; the user sees "queued",
    # never a 500 that would make them click (and pay) again.
    transaction.on_commit(lambda: _enqueue_runs(ids), robust=True)
    return jobs


def _check_contract(model: AIModel, capability: str, params: dict) -> None:
    """Refuse, before anything is queued or spent, a request the model would refuse."""
    registry.check_input(model, capability, params)
    if model.provider != Provider.REPLICATE:
        return
    from generation.providers.replicate_api import request_problems  # noqa: PLC0415 - the client loads lazily

    if problems := request_problems(model=model, capability=capability, params=params):
        raise ValidationError(f"{model.label} would refuse this request, so nothing was spent: {'; '.join(problems)}")


def job_create(
    *,
    project: VideoProject,
    user: AbstractBaseUser | None,
    capability: str,
    input: dict,
    target: models.Model | None = None,
    idempotency_key: str | None = None,
) -> Job:
    return jobs_create(
        project=project,
        user=user,
        specs=[JobSpec(capability=capability, input=input, target=target, idempotency_key=idempotency_key)],
    )[0]


def _enqueue_runs(ids: Sequence[int]) -> None:
    from generation.tasks import run_job  # noqa: PLC0415 - tasks imports this module

    for pk in ids:
        run_job.send(pk)


# Transitions -----------------------------------------------------------------


def _advance(job: Job, status: str, **fields: object) -> bool:
    """Move job forward to status if nothing later has happened; False if it had."""
    allowed = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    if status == JobStatus.PROCESSING:
        allowed.append(JobStatus.PROCESSING)  # progress updates within the same status
    now = timezone.now()
    changed = Job.objects.filter(pk=job.pk, status__in=allowed).update(status=status, updated_at=now, **fields)
    if changed:
        job.refresh_from_db()
        transaction.on_commit(lambda: live.job_changed(job.pk))
    return bool(changed)


def _target(job: Job) -> models.Model | None:
    if job.target_type_id is None:
        return None
    model = job.target_type.model_class()
    return model.objects.filter(pk=job.target_id).first() if model else None


def _mirror_progress(job: Job) -> None:
    target = _target(job)
    handler = handler_for(target) if target else None
    if handler:
        handler.on_progress(target, job)


def _backoff(attempts: int, retry_after: float | None) -> float:
    delay = min(settings.JOB_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), settings.JOB_BACKOFF_CAP_SECONDS)
    delay *= 1 + random.random() * 0.2  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)


@transaction.atomic
def _retry_or_fail(
    job_id: int, error: str, *, retry_after: float | None = None, uncertain: bool = False, cap: int | None = None
) -> None:
    job = Job.objects.select_for_update().get(pk=job_id)
    if job.is_terminal:
        return
    if job.attempts >= min(job.max_attempts, cap or job.max_attempts):
        job_fail(job=job, error=f"Gave up after {job.attempts} attempts. Last error: {error}")
        return
    delay = _backoff(job.attempts, retry_after)
    Job.objects.filter(pk=job.pk).update(
        error=f"Attempt {job.attempts} of {job.max_attempts} failed: {error}. Retrying in {delay:.0f} s.",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        # An uncertain failure may have created something at the provider: keep the attempt's
        # start so the next attempt first looks for it instead of creating another.
        attempt_started_at=job.attempt_started_at if uncertain else None,
        updated_at=timezone.now(),
    )
    from generation.tasks import run_job  # noqa: PLC0415

    transaction.on_commit(lambda: run_job.send_with_options(args=(job_id,), delay=int(delay * 1000)), robust=True)
    transaction.on_commit(lambda: live.job_changed(job_id))


@transaction.atomic
def job_fail(*, job: Job, error: str) -> bool:
    if not _advance(job, JobStatus.FAILED, error=error[:4000], finished_at=timezone.now(), attempt_started_at=None):
        return False
    target = _target(job)
    handler = handler_for(target) if target else None
    if handler:
        handler.on_failure(target, job)
    return True


# Running ---------------------------------------------------------------------


def job_run(*, job_id: int) -> None:
    """Submit the job to its provider once; what happens next depends on the answer."""
    job = _claim(job_id)
    if job is None:
        return
    provider = for_provider(job.provider)
    if getattr(provider, "synchronous", False):
        # The work happens inside this call: show it as processing while it runs.
        with transaction.atomic():
            if _advance(job, JobStatus.PROCESSING, started_at=job.started_at or timezone.now()):
                _mirror_progress(job)
    try:
        result = provider.start(job)
    except TransientError as exc:
        _retry_or_fail(job_id, str(exc), retry_after=exc.retry_after, uncertain=exc.uncertain, cap=exc.attempts_cap)
        return
    except (ProviderError, ingest.IngestError) as exc:
        job_fail(job=job, error=str(exc))
        return
    except Exception as exc:
        # Only what a retry can cure (429, 5xx, timeouts, lost connections) is a TransientError;
        # anything else would fail again and be paid for again.
        logger.exception("Job %s: unexpected provider error", job_id)
        job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
        return
    if isinstance(result, Submitted):
        _record_submission(job, result.prediction_id)
    else:
        job_complete(job_id=job_id, result=result)


@transaction.atomic
def _claim(job_id: int) -> Job | None:
    """Under the row lock: decide whether this worker may call the provider now."""
    from generation.tasks import poll_job, run_job  # noqa: PLC0415

    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.is_terminal:
        return None
    now = timezone.now()
    if job.prediction_id:
        transaction.on_commit(lambda: poll_job.send(job_id), robust=True)
        return None
    if job.next_attempt_at and job.next_attempt_at > now + timedelta(seconds=1):
        delay = int((job.next_attempt_at - now).total_seconds() * 1000)
        transaction.on_commit(lambda: run_job.send_with_options(args=(job_id,), delay=delay), robust=True)
        return None
    if job.attempt_started_at:
        retrying = job.next_attempt_at is not None  # an earlier attempt of ours ended uncertainly
        if not retrying and now - job.attempt_started_at < timedelta(seconds=settings.JOB_SUBMIT_LEASE_SECONDS):
            return None  # another worker is submitting it right now; the sweeper checks on it later
        # An earlier attempt died or timed out mid-call: it may have created a prediction we never recorded.
        found = for_provider(job.provider).find_submitted(job)
        if found:
            try:
                with transaction.atomic():
                    Job.objects.filter(pk=job.pk).update(
                        prediction_id=found, status=JobStatus.SUBMITTED, submitted_at=now, updated_at=now
                    )
            except IntegrityError:
                found = None  # another job already owns it; create our own
            else:
                transaction.on_commit(lambda: poll_job.send(job_id), robust=True)
                transaction.on_commit(lambda: _replay_deliveries(found), robust=True)
                return None
    if job.attempts >= job.max_attempts:
        job_fail(job=job, error=job.error or f"Gave up after {job.attempts} attempts.")
        return None
    job.attempts += 1
    job.attempt_started_at = now
    job.next_attempt_at = None
    job.save(update_fields=["attempts", "attempt_started_at", "next_attempt_at", "updated_at"])
    return job


def _record_submission(job: Job, prediction_id: str) -> None:
    from generation.tasks import poll_job  # noqa: PLC0415

    now = timezone.now()
    # The id is committed first, on its own: the provider is already running (and billing) it, and
    # nothing after this (the target's handler, live pushes) may roll that knowledge back.
    try:
        with transaction.atomic():
            moved = _advance(job, JobStatus.SUBMITTED, prediction_id=prediction_id, submitted_at=now, error="")
            if not moved:
                # Canceled meanwhile, say: keep the id so a late webhook can still be matched.
                Job.objects.filter(pk=job.pk, prediction_id="").update(prediction_id=prediction_id)
            current = Job.objects.filter(pk=job.pk).values_list("prediction_id", flat=True).get()
    except IntegrityError:
        # The same prediction is already recorded on another job: never adopt it twice.
        logger.error("Job %s: prediction %s already belongs to another job", job.pk, prediction_id)
        return
    if current != prediction_id:
        _cancel_stray(job, prediction_id, kept=current)
        return
    # A webhook can arrive before the id was committed; it waited, unmatched, and is processed now.
    transaction.on_commit(lambda: _replay_deliveries(prediction_id), robust=True)
    from generation.providers.replicate_api import webhook_url  # noqa: PLC0415

    if job.provider != "replicate" or not webhook_url():
        transaction.on_commit(
            lambda: poll_job.send_with_options(args=(job.pk,), delay=settings.JOB_POLL_SECONDS * 1000), robust=True
        )
    try:
        with transaction.atomic():
            # Under the job's lock: a cancel that came in since the id was committed has already told the
            # target it failed, and "processing" must not overwrite that.
            current = Job.objects.select_for_update().get(pk=job.pk)
            if not current.is_terminal:
                _mirror_progress(current)
    except Exception:
        # Only the target's display lags; the job itself goes on, and its next transition mirrors again.
        logger.exception("Job %s: mirroring the submission onto its target failed", job.pk)


def _cancel_stray(job: Job, prediction_id: str, *, kept: str) -> None:
    """A worker frozen past its lease got its create answered after another worker took the job over (and
    created or adopted its own prediction): stop this second one before it runs up a second bill."""
    logger.warning("Job %s already has prediction %s; canceling the stray %s", job.pk, kept, prediction_id)
    stray = Job(pk=job.pk, provider=job.provider, prediction_id=prediction_id, capability=job.capability)
    try:
        for_provider(job.provider).cancel(stray)
    except (TransientError, ProviderError):
        logger.exception("Job %s: the stray prediction %s could not be canceled", job.pk, prediction_id)


def job_poll(*, job_id: int, reschedule: bool = True) -> None:
    from generation.tasks import poll_job  # noqa: PLC0415

    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_terminal or not job.prediction_id:
        return
    try:
        state = for_provider(job.provider).poll(job)
    except TransientError as exc:
        Job.objects.filter(pk=job.pk).update(error=f"Polling failed, will try again: {exc}")
        if reschedule:
            poll_job.send_with_options(args=(job_id,), delay=_backoff(2, exc.retry_after) * 1000)
        return
    except ProviderError as exc:
        job_fail(job=job, error=str(exc))
        return
    Job.objects.filter(pk=job.pk).update(last_polled_at=timezone.now())
    apply_remote_state(job_id=job_id, state=state)
    job.refresh_from_db()
    if reschedule and not job.is_terminal:
        poll_job.send_with_options(args=(job_id,), delay=settings.JOB_POLL_SECONDS * 1000)


def apply_remote_state(*, job_id: int, state: RemoteState) -> bool:
    """Apply what the provider says (poll or webhook); never backwards, never twice. True if it changed the job."""
    job = Job.objects.get(pk=job_id)
    if job.is_terminal:
        return False
    if state.status == JobStatus.SUCCEEDED:
        return job_complete(job_id=job_id, result=Completed(files=state.files, metrics=state.metrics))
    if state.status == JobStatus.FAILED:
        return job_fail(job=job, error=f"The provider reported a failure: {state.error or 'no reason given'}")
    with transaction.atomic():
        if state.status == JobStatus.CANCELED:
            moved = _advance(
                job, JobStatus.CANCELED, finished_at=timezone.now(), error=state.error or "Canceled at the provider."
            )
            target = _target(job) if moved else None
            handler = handler_for(target) if target else None
            if handler:
                handler.on_failure(target, job)
            return moved
        if state.status == JobStatus.PROCESSING:
            first = job.status != JobStatus.PROCESSING
            moved = _advance(
                job, JobStatus.PROCESSING, progress=state.progress, started_at=job.started_at or timezone.now()
            )
            if moved and first:
                _mirror_progress(job)
            return moved
        return _advance(job, JobStatus.SUBMITTED, submitted_at=job.submitted_at or timezone.now())


def _materialize(files: list[OutputFile]) -> list[ingest.Media]:
    media = []
    try:
        for output in files:
            if output.data is not None:
                media.append(ingest.from_bytes(output.data, kind=output.kind))
            elif output.url:
                media.append(ingest.fetch(output.url, kind=output.kind))
    except BaseException:
        for item in media:
            item.path.unlink(missing_ok=True)
        raise
    return media


def job_complete(*, job_id: int, result: Completed) -> bool:
    """Store the outputs and finish the job, exactly once however many times it is called. True if this call did."""
    if Job.objects.filter(pk=job_id, status__in=TERMINAL).exists():
        return False
    try:
        media = _materialize(result.files)
    except ingest.IngestError as exc:
        return job_fail(job=Job.objects.get(pk=job_id), error=f"The output was refused: {exc}")
    try:
        # An exception rolls _finish back, rows and all, but not the files its handler wrote: delete those.
        with orphans.discard_on_error():
            return _finish(job_id, result, media)
    finally:
        for item in media:
            item.path.unlink(missing_ok=True)


@transaction.atomic
def _finish(job_id: int, result: Completed, media: list[ingest.Media]) -> bool:
    job = Job.objects.select_for_update().get(pk=job_id)
    if job.is_terminal:
        return False  # a concurrent delivery finished it first: one asset, not two
    target = _target(job)
    handler = handler_for(target) if target else None
    if target is not None and handler and handler.expects_files and not media:
        return job_fail(job=job, error="The provider finished without producing a file.")
    actual = result.actual_cost
    if actual is None and job.ai_model:
        seconds = sum(float(m.meta.get("duration") or 0) for m in media) or None
        quantity = registry.units(job.ai_model, job.input, outputs=len(media) or None, seconds=seconds)
        actual = registry.price(job.ai_model, quantity, job.input)
    now = timezone.now()
    output = {"data": result.data, "metrics": result.metrics, "media": [m.meta for m in media]}
    job.actual_cost = actual
    job.finished_at = now
    if not _advance(
        job,
        JobStatus.SUCCEEDED,
        output=output,
        actual_cost=actual,
        finished_at=now,
        progress=1.0,
        error="",
        attempt_started_at=None,
    ):
        return False
    if handler and target is not None:
        handler.on_success(target, job, media)
    return True


@transaction.atomic
def job_cancel(*, job: Job, reason: str = "Canceled by a user.") -> bool:
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.is_terminal:
        return False
    if job.prediction_id:
        try:
            for_provider(job.provider).cancel(job)
        except (TransientError, ProviderError) as exc:
            reason = f"{reason} (the provider could not be told: {exc})"
    moved = _advance(job, JobStatus.CANCELED, finished_at=timezone.now(), error=reason, attempt_started_at=None)
    if moved:
        target = _target(job)
        handler = handler_for(target) if target else None
        if handler:
            handler.on_failure(target, job)
    return moved


def jobs_cancel_for(cascade: dict[type[models.Model], list[int]], *, reason: str) -> int:
    """Cancel the running jobs whose product is among the rows about to be deleted, so nothing more is spent."""
    targets = Q()
    for model, pks in cascade.items():
        if pks:
            targets |= Q(target_type=ContentType.objects.get_for_model(model), target_id__in=pks)
    projects = cascade.get(VideoProject, [])
    if projects:
        targets |= Q(project_id__in=projects)
    if not targets:
        return 0
    return sum(job_cancel(job=job, reason=reason) for job in Job.objects.filter(targets, status__in=ACTIVE))


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Start a failed or canceled job again as a new job (the old row stays as the record)."""
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELED):
        raise ValidationError("Only a failed or canceled job can be retried.")
    if job.project is None:
        raise ValidationError("Its project was deleted; there is nothing to retry it for.")
    retry_key = f"{job.idempotency_key}:retry:{uuid.uuid4().hex[:8]}"
    return job_create(
        project=job.project,
        user=job.created_by,
        capability=job.capability,
        input=job.input,
        target=job.target,
        idempotency_key=retry_key,
    )


# Webhooks --------------------------------------------------------------------


def webhook_store(*, webhook_id: str, timestamp: timezone.datetime, payload: dict) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery once; the second time the same webhook-id arrives it is a no-op."""
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id,
                timestamp=timestamp,
                payload=payload,
                prediction_id=str(payload.get("id", ""))[:128],
                prediction_status=str(payload.get("status", ""))[:20],
            )
    except IntegrityError:
        delivery = WebhookDelivery.objects.get(webhook_id=webhook_id)
        if delivery.processed_at is None:
            # Stored before but never processed (the broker was down): the provider's retry is the cue to try again.
            try:
                _send_delivery(delivery.pk)
            except Exception:
                # Still stored, so still acknowledged: the sweep processes what no message carried.
                logger.warning("Webhook %s: could not enqueue its processing; the sweep will", webhook_id)
        return delivery, False
    transaction.on_commit(lambda: _send_delivery(delivery.pk), robust=True)
    return delivery, True


def _send_delivery(delivery_id: int) -> None:
    from generation.tasks import process_webhook  # noqa: PLC0415

    process_webhook.send(delivery_id)


def _replay_deliveries(prediction_id: str) -> None:
    from generation.tasks import process_webhook  # noqa: PLC0415

    waiting = WebhookDelivery.objects.filter(prediction_id=prediction_id, processed_at__isnull=True)
    for pk in waiting.order_by("received_at", "pk").values_list("pk", flat=True):
        process_webhook.send(pk)


def webhook_process(*, delivery_id: int) -> None:
    from generation.providers.replicate_api import state_from_payload  # noqa: PLC0415

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.processed_at:
        return
    job = Job.objects.filter(provider="replicate", prediction_id=delivery.prediction_id).first()
    if job is None:
        # Probably faster than the worker recording the prediction: it replays this delivery then.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(outcome="waiting for its job")
        return
    else:
        before = job.status
        changed = apply_remote_state(job_id=job.pk, state=state_from_payload(job.capability, delivery.payload))
        job.refresh_from_db()
        outcome = f"{before} → {job.status}" if changed else f"ignored: job already {job.status}"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(processed_at=timezone.now(), job=job, outcome=outcome[:200])


# The sweeper -----------------------------------------------------------------


@dataclass
class SweepReport:
    requeued: int = 0
    polled: int = 0
    canceled: int = 0
    failed: int = 0
    deliveries: int = 0

    def __str__(self) -> str:
        return (
            f"requeued {self.requeued}, polled {self.polled}, canceled {self.canceled}, failed {self.failed}, "
            f"webhook deliveries resent {self.deliveries}"
        )


def sweep() -> SweepReport:
    """Recover what queues and webhooks lost. Safe to run anywhere, any number of times."""
    from generation.tasks import poll_job, run_job  # noqa: PLC0415

    report = SweepReport()
    now = timezone.now()
    quiet = now - timedelta(seconds=settings.SWEEP_QUIET_SECONDS)
    for job in Job.objects.filter(status__in=ACTIVE, deadline_at__lt=now):
        if job.prediction_id:
            # Its result may be waiting at the provider (a lost webhook): look before giving up on it.
            try:
                job_poll(job_id=job.pk, reschedule=False)
            except Exception:
                logger.exception("Sweeper: polling job %s failed", job.pk)
            job.refresh_from_db()
            if job.is_terminal:
                continue
        if job_cancel(job=job, reason=f"Past its deadline ({settings.JOB_DEADLINE_MINUTES} min) with no result."):
            report.canceled += 1
    unprocessed = WebhookDelivery.objects.filter(processed_at__isnull=True, received_at__lt=quiet)
    known = Job.objects.filter(provider="replicate").exclude(prediction_id="").values("prediction_id")
    for pk in unprocessed.filter(prediction_id__in=known).values_list("pk", flat=True):
        # Stored while the broker was down, or its message lost: the row is the truth, process it now.
        _send_delivery(pk)
        report.deliveries += 1
    unprocessed.exclude(prediction_id__in=known).filter(received_at__lt=now - timedelta(minutes=10)).update(
        processed_at=now, outcome="no job has this prediction id"
    )
    lease = now - timedelta(seconds=settings.JOB_SUBMIT_LEASE_SECONDS)
    lost = (
        Job.objects.filter(status=JobStatus.QUEUED, prediction_id="", updated_at__lt=quiet)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now))
        .filter(Q(attempt_started_at__isnull=True) | Q(attempt_started_at__lt=lease))
    )
    for pk in lost.values_list("pk", flat=True):
        run_job.send(pk)
        report.requeued += 1
    stalled = Job.objects.filter(status__in=[JobStatus.SUBMITTED, JobStatus.PROCESSING], updated_at__lt=quiet)
    for pk, prediction_id, provider, started in stalled.values_list(
        "pk", "prediction_id", "provider", "attempt_started_at"
    ):
        if prediction_id:
            poll_job.send(pk)
            report.polled += 1
        elif getattr(for_provider(provider), "synchronous", False):
            # A worker died while making it here; once its lease runs out, make it again.
            if started is None or started < lease:
                run_job.send(pk)
                report.requeued += 1
        else:
            job_fail(job=Job.objects.get(pk=pk), error="Submitted without a prediction id: cannot be tracked.")
            report.failed += 1
    return report
