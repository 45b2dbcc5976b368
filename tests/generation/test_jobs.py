"""The job ledger with the offline providers, through real Dramatiq workers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from generation import registry, services
from generation.models import AIModel, CapabilityRoute, Job, JobStatus
from generation.providers.base import Completed, RemoteState
from projects.models import GenerationStatus, ShotImage
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = {"prompt": "Cinematic wide shot, Tokyo Tower at dawn", "aspect_ratio": "16:9", "seed": 42}


def finished(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.is_terminal else None


def test_it_uses_the_offline_provider_without_a_token_and_says_so(project, owner):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    assert (job.provider, job.model_id, job.estimated_cost) == ("offline", "offline/pillow-image", Decimal("0"))


def test_it_prefers_the_api_provider_when_its_token_is_set(settings, project, owner):
    settings.REPLICATE_API_TOKEN = "r8_x"
    job = services.job_create(project=project, user=owner, capability="video", input={"image": "x.png", "duration": 5})
    assert (job.provider, job.model_id) == ("replicate", "wan-video/wan-2.5-i2v")
    assert job.estimated_cost == Decimal("0.50000")  # 5 s at 720p, $0.10 a second


@pytest.mark.parametrize(("resolution", "cost"), [("480p", "0.25000"), ("720p", "0.50000"), ("1080p", "0.75000")])
def test_it_prices_video_by_resolution_as_published(settings, project, owner, resolution, cost):
    settings.REPLICATE_API_TOKEN = "r8_x"
    job = services.job_create(
        project=project,
        user=owner,
        capability="video",
        input={"image": "x.png", "duration": 5, "resolution": resolution},
    )
    assert job.estimated_cost == Decimal(cost)


def test_an_admin_route_overrides_the_settings(settings, project, owner):
    settings.REPLICATE_API_TOKEN = "r8_x"
    CapabilityRoute.objects.create(capability="video", model=AIModel.objects.get(model_id="kwaivgi/kling-v2.1"))
    assert registry.resolve("video").model_id == "kwaivgi/kling-v2.1"
    settings.PROVIDERS = {**settings.PROVIDERS, "image": "offline"}
    assert registry.resolve("image").provider == "offline"


def test_an_idempotency_key_makes_a_double_submit_one_job(project, owner):
    first = services.job_create(
        project=project, user=owner, capability="image", input=IMAGE, idempotency_key="shot-1-v0"
    )
    second = services.job_create(
        project=project, user=owner, capability="image", input=IMAGE, idempotency_key="shot-1-v0"
    )
    assert first.pk == second.pk
    assert Job.objects.count() == 1


def test_it_runs_an_offline_image_job_into_its_target(project, owner, pending_image, broker, worker, fast_jobs):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: finished(job), message="the job to finish")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1 and job.actual_cost == Decimal("0")
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert image.status == GenerationStatus.COMPLETE
    assert (image.width, image.height) == (1024, 576)
    assert image.image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert image.thumbnail.name.endswith(".webp") and image.get_thumb_url().endswith("/thumb/")
    assert image.metadata["provenance"]["provider"] == "offline"
    assert image.metadata["provenance"]["seed"] == 42


def test_it_fails_at_once_with_the_providers_message(project, owner, broker, worker, fast_jobs):
    job = services.job_create(
        project=project, user=owner, capability="lipsync", input={"video": "a.mp4", "audio": "b.wav"}
    )
    job = wait_for(lambda: finished(job))
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "not available offline" in job.error


def test_status_only_moves_forward(project, owner):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    services.job_complete(job_id=job.pk, result=Completed(data={"ok": True}))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    for late in ("processing", "submitted", "failed", "canceled"):
        services.apply_remote_state(job_id=job.pk, state=RemoteState(status=late))
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, late
    assert services.job_fail(job=job, error="late") is False
    assert services.job_cancel(job=job) is False


def test_it_records_a_retryable_failure_visibly_and_gives_up_at_the_cap(project, owner, settings, monkeypatch):
    from generation.providers.base import TransientError
    from generation.providers.offline.provider import OfflineProvider

    def flaky(self, job):
        raise TransientError("provider overloaded")

    monkeypatch.setattr(OfflineProvider, "_image", flaky)
    settings.JOB_BACKOFF_SECONDS = 1
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    job.max_attempts = 2
    job.save()
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and job.attempts == 1  # not final: waiting for its next attempt
    assert "Attempt 1 of 2 failed: provider overloaded. Retrying in" in job.error
    assert job.next_attempt_at > timezone.now()
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Gave up after 2 attempts. Last error: provider overloaded")


def test_the_backoff_grows_and_is_capped(settings):
    settings.JOB_BACKOFF_SECONDS = 2
    settings.JOB_BACKOFF_CAP_SECONDS = 30
    delays = [services._backoff(n, None) for n in range(1, 8)]
    assert 2 <= delays[0] <= 2.4 and 4 <= delays[1] <= 4.8 and 8 <= delays[2] <= 9.6
    assert all(d <= 36 for d in delays)
    assert services._backoff(1, retry_after=20) >= 20


def test_it_refuses_over_budget_with_a_message_and_spends_nothing(settings, project, owner, team):
    settings.REPLICATE_API_TOKEN = "r8_x"
    team.monthly_budget = Decimal("0.80")
    team.save()
    services.job_create(project=project, user=owner, capability="video", input={"image": "x.png", "duration": 5})
    with pytest.raises(services.BudgetExceededError) as refused:
        services.job_create(project=project, user=owner, capability="video", input={"image": "x.png", "duration": 5})
    assert "This would cost about $0.50" in refused.value.messages[0]
    assert "$0.30 left of its $0.80 monthly budget" in refused.value.messages[0]
    assert Job.objects.count() == 1


def test_a_batch_is_all_or_nothing(settings, project, owner, team):
    settings.REPLICATE_API_TOKEN = "r8_x"
    team.monthly_budget = Decimal("1.00")
    team.save()
    specs = [services.JobSpec(capability="video", input={"image": "x.png", "duration": 5}) for _ in range(3)]
    with pytest.raises(services.BudgetExceededError):
        services.jobs_create(project=project, user=owner, specs=specs)
    assert not Job.objects.exists()


def test_failed_jobs_without_a_bill_do_not_count(settings, project, owner, team):
    settings.REPLICATE_API_TOKEN = "r8_x"
    job = services.job_create(project=project, user=owner, capability="video", input={"image": "x.png", "duration": 10})
    assert services.team_month_spend(team=team) == Decimal("1.00")
    services.job_fail(job=job, error="boom")
    assert services.team_month_spend(team=team) == Decimal("0.00")
    assert services.project_spend(project=project) == Decimal("0.00")


def test_a_keyed_retry_of_a_failed_job_is_a_new_job(project, owner):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    with pytest.raises(ValidationError):
        services.job_retry(job=job)
    services.job_fail(job=job, error="boom")
    again = services.job_retry(job=job)
    assert again.pk != job.pk and again.input == job.input and again.status == JobStatus.QUEUED


def test_the_sweeper_requeues_polls_fails_and_cancels(project, owner, broker, settings, monkeypatch):
    settings.SWEEP_QUIET_SECONDS = 5
    sent: list[tuple[str, int]] = []
    from generation import tasks

    monkeypatch.setattr(tasks.run_job, "send", lambda pk: sent.append(("run", pk)))
    monkeypatch.setattr(tasks.poll_job, "send", lambda pk: sent.append(("poll", pk)))
    old = timezone.now() - timedelta(minutes=10)
    lost = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    quiet = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    orphan = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    late = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    fresh = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    Job.objects.filter(pk=lost.pk).update(updated_at=old)
    Job.objects.filter(pk=quiet.pk).update(status="submitted", prediction_id="p-quiet", updated_at=old)
    Job.objects.filter(pk=orphan.pk).update(status="submitted", provider="replicate", updated_at=old)
    Job.objects.filter(pk=late.pk).update(deadline_at=old)
    sent.clear()
    report = services.sweep()
    assert (report.requeued, report.polled, report.failed, report.canceled) == (1, 1, 1, 1)
    assert ("run", lost.pk) in sent and ("poll", quiet.pk) in sent
    assert Job.objects.get(pk=orphan.pk).status == JobStatus.FAILED
    assert Job.objects.get(pk=late.pk).status == JobStatus.CANCELED
    assert "deadline" in Job.objects.get(pk=late.pk).error
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.QUEUED


def test_a_second_worker_does_not_submit_a_job_whose_submit_is_in_flight(project, owner):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    Job.objects.filter(pk=job.pk).update(attempt_started_at=timezone.now(), attempts=1)
    assert services._claim(job.pk) is None
    job.refresh_from_db()
    assert job.attempts == 1 and job.status == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("capability", "params", "message"),
    [
        ("image", {"prompt": ""}, "prompt: String should have at least 1 character"),
        ("image", {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
        ("image", {"prompt": "x", "num_outputs": 9}, "num_outputs"),
        ("video", {"image": "a.png", "duration": 7}, "duration"),
        ("refine", {"prompt": "x", "image": "a.png", "strength": 2}, "strength"),
        ("speech", {"voice": "narrator"}, "text: Field required"),
        ("music", {"duration": 0}, "duration"),
        ("text", {"task": "poem"}, "task"),
        ("image", {"prompt": "x", "secret_flag": True}, "secret_flag: Extra inputs are not permitted"),
        ("teleport", {}, "Unknown capability"),
    ],
)
def test_it_refuses_bad_input_before_queueing_or_spending(project, owner, capability, params, message):
    with pytest.raises(ValidationError) as refused:
        services.job_create(project=project, user=owner, capability=capability, input=params)
    assert message in refused.value.messages[0]
    assert not Job.objects.exists()


def test_the_sweep_command_reports(project, owner):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sweep_jobs", stdout=out)
    assert out.getvalue().strip() == "Sweeper: requeued 0, polled 0, canceled 0, failed 0, webhook deliveries resent 0."


def test_deleting_what_a_job_makes_cancels_the_job(settings, project, owner, pending_image):
    settings.REPLICATE_API_TOKEN = "r8_x"
    from projects import services as project_services

    job = services.job_create(
        project=project, user=owner, capability="video", input={"image": "a.png"}, target=pending_image
    )
    other = services.job_create(project=project, user=owner, capability="video", input={"image": "b.png"})
    project_services.shot_delete(shot=pending_image.shot)
    job.refresh_from_db()
    other.refresh_from_db()
    assert job.status == JobStatus.CANCELED and job.error == "What it was making was deleted."
    assert other.status == JobStatus.QUEUED


def test_deleting_a_project_cancels_its_jobs_but_keeps_the_ledger(settings, project, owner, team):
    settings.REPLICATE_API_TOKEN = "r8_x"
    from projects import services as project_services

    done = services.job_create(project=project, user=owner, capability="video", input={"image": "a.png"})
    services.job_complete(job_id=done.pk, result=Completed())
    running = services.job_create(project=project, user=owner, capability="video", input={"image": "b.png"})
    project_services.project_delete(project=project)
    done.refresh_from_db()
    running.refresh_from_db()
    assert done.project is None and done.status == JobStatus.SUCCEEDED
    assert running.status == JobStatus.CANCELED
    # What was spent stays spent: deleting a project does not refill the budget.
    assert services.team_month_spend(team=team) == Decimal("0.50")


def test_an_offline_job_shows_processing_while_it_runs(project, owner, pending_image, monkeypatch):
    from generation.providers.offline.provider import OfflineProvider

    seen = {}
    real = OfflineProvider._image

    def watching(self, params):
        seen["job"] = Job.objects.get(pk=job.pk).status
        seen["tile"] = ShotImage.objects.get(pk=pending_image.pk).status
        return real(self, params)

    monkeypatch.setattr(OfflineProvider, "_image", watching)
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    services.job_run(job_id=job.pk)
    assert seen == {"job": JobStatus.PROCESSING, "tile": GenerationStatus.PROCESSING}
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def test_the_sweeper_reruns_an_offline_job_whose_worker_died(project, owner, settings, monkeypatch):
    settings.SWEEP_QUIET_SECONDS = 5
    settings.JOB_SUBMIT_LEASE_SECONDS = 5
    from generation import tasks

    sent = []
    monkeypatch.setattr(tasks.run_job, "send", sent.append)
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    old = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk=job.pk).update(status="processing", attempt_started_at=old, updated_at=old, attempts=1)
    sent.clear()
    assert services.sweep().requeued == 1 and sent == [job.pk]
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


def test_changing_the_master_cancels_the_old_animation(settings, project, owner):
    settings.REPLICATE_API_TOKEN = "r8_x"
    from projects import services as project_services
    from projects.models import StoryboardSelection
    from tests.factories import build_tree

    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    first, second = shot.images.order_by("variant_number")[:2]
    selection = project_services.shot_select_master(shot=shot, image=first)
    animation = services.job_create(
        project=project, user=owner, capability="video", input={"image": first.image.name}, target=selection
    )
    project_services.shot_select_master(shot=shot, image=second)
    animation.refresh_from_db()
    assert animation.status == JobStatus.CANCELED and "master image changed" in animation.error
    assert StoryboardSelection.objects.get(pk=selection.pk).selected_image_id == second.pk
