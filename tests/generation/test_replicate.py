"""The real `replicate` client against a fake Replicate on loopback: webhooks, polling, retries, crashes."""

import threading

import pytest
from django.core.files.storage import default_storage

from generation import services
from generation.models import Job, JobStatus, WebhookDelivery
from projects.models import GenerationStatus, ShotImage
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = {"prompt": "Cinematic wide shot, Tokyo Tower at dawn", "aspect_ratio": "16:9", "seed": 42}


def done(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.is_terminal else None


@pytest.fixture
def via_webhooks(settings, fake_replicate, live_server):
    settings.PUBLIC_BASE_URL = live_server.url
    return fake_replicate


def test_it_completes_through_signed_webhooks(project, owner, pending_image, via_webhooks, broker, worker):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: done(job), message="the webhook to complete the job")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.provider == "replicate" and job.model_id == "black-forest-labs/flux-schnell"
    (prediction,) = via_webhooks.predictions.values()
    assert job.prediction_id == prediction.id
    assert prediction.input == {
        "prompt": IMAGE["prompt"],
        "aspect_ratio": "16:9",
        "seed": 42,
        "num_outputs": 1,
        "output_format": "png",
        "go_fast": True,
    }
    assert prediction.events == ["start", "completed"]
    assert prediction.webhook.endswith(f"/webhooks/replicate/?job={job.pk}")
    assert {status for status, _ in via_webhooks.deliveries} == {"processing", "succeeded"}
    wait_for(lambda: WebhookDelivery.objects.filter(job=job).count() == 2, message="both deliveries processed")
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert image.status == GenerationStatus.COMPLETE and image.image.read(4) == b"\x89PNG"
    assert image.metadata["provenance"]["provider"] == "replicate"
    assert job.actual_cost == job.estimated_cost == job.ai_model.unit_price


def test_it_completes_by_polling_without_a_public_url(project, owner, pending_image, fake_replicate, broker, worker):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: done(job), message="polling to complete the job")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.last_polled_at is not None
    assert not fake_replicate.deliveries
    assert ShotImage.objects.get(pk=pending_image.pk).status == GenerationStatus.COMPLETE


def test_five_concurrent_completed_webhooks_make_one_asset(project, owner, pending_image, via_webhooks, broker, worker):
    via_webhooks.switches.completed_copies = 5
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: done(job))
    wait_for(lambda: WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 6, message="all deliveries")
    assert job.status == JobStatus.SUCCEEDED
    folder = f"projects/{project.pk}/images"
    files = [f for sub in default_storage.listdir(folder)[0] for f in default_storage.listdir(f"{folder}/{sub}")[1]]
    assert len(files) == 1
    outcomes = list(WebhookDelivery.objects.filter(prediction_status="succeeded").values_list("outcome", flat=True))
    assert sorted(outcomes).count("ignored: job already succeeded") == 4


def test_a_processing_webhook_after_succeeded_is_ignored(project, owner, pending_image, via_webhooks, broker, worker):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: done(job))
    (prediction,) = via_webhooks.predictions.values()
    late = {**prediction.payload(via_webhooks.url), "status": "processing", "output": None}
    assert via_webhooks.deliver(prediction, late, "start", webhook_id="msg_late") == 202
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(webhook_id="msg_late", processed_at__isnull=False).first()
    )
    assert delivery.outcome == "ignored: job already succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert ShotImage.objects.get(pk=pending_image.pk).status == GenerationStatus.COMPLETE


def test_out_of_order_deliveries_never_move_a_job_backwards(
    project, owner, pending_image, via_webhooks, broker, worker
):
    via_webhooks.switches.reorder = True  # "start" arrives after "completed"
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    wait_for(lambda: WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 2, message="both deliveries")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert ShotImage.objects.get(pk=pending_image.pk).status == GenerationStatus.COMPLETE


def test_a_failed_prediction_fails_the_job_and_its_tile(project, owner, pending_image, via_webhooks, broker, worker):
    via_webhooks.switches.outcome = "failed"
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    job = wait_for(lambda: done(job))
    assert job.status == JobStatus.FAILED
    assert "NSFW content detected" in job.error
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert image.status == GenerationStatus.FAILED and "NSFW" in image.metadata["error"]


def test_a_429_on_create_is_retried_with_backoff(settings, project, owner, fake_replicate, broker, worker):
    settings.JOB_BACKOFF_SECONDS = 1
    fake_replicate.switches.create_failures = [429, 429]
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    job = wait_for(lambda: done(job), timeout=30)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 3
    assert len(fake_replicate.creates) == 3 and len(fake_replicate.predictions) == 1
    first_gap = fake_replicate.creates[1] - fake_replicate.creates[0]
    second_gap = fake_replicate.creates[2] - fake_replicate.creates[1]
    assert first_gap >= 0.9 and second_gap >= 1.8 and second_gap > first_gap


def test_a_4xx_on_create_fails_at_once_with_the_message(settings, project, owner, fake_replicate, broker, worker):
    fake_replicate.switches.create_failures = [422]
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    job = wait_for(lambda: done(job))
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "Replicate refused the request (422)" in job.error


def test_a_redelivered_message_after_a_crash_does_not_create_a_second_prediction(
    settings, project, owner, pending_image, fake_replicate, broker, monkeypatch
):
    # No worker runs: the test plays the worker, crashes it, then plays the redelivery.
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)

    class Crash(BaseException):
        pass

    real_record = services._record_submission

    def crash_before_recording(job, prediction_id):
        raise Crash

    monkeypatch.setattr(services, "_record_submission", crash_before_recording)
    with pytest.raises(Crash):
        services.job_run(job_id=job.pk)
    assert len(fake_replicate.predictions) == 1
    job.refresh_from_db()
    assert job.prediction_id == "" and job.attempt_started_at is not None
    monkeypatch.setattr(services, "_record_submission", real_record)
    # Redelivered at once: the lease is fresh, so nobody submits.
    services.job_run(job_id=job.pk)
    assert len(fake_replicate.predictions) == 1
    # Redelivered after the lease: the earlier prediction is found and adopted, not created again.
    settings.JOB_SUBMIT_LEASE_SECONDS = 0
    services.job_run(job_id=job.pk)
    (prediction,) = fake_replicate.predictions.values()
    job.refresh_from_db()
    assert job.prediction_id == prediction.id and job.status == JobStatus.SUBMITTED
    wait_for(lambda: prediction.status == "succeeded")
    services.job_poll(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and len(fake_replicate.creates) == 1


def test_a_redelivered_message_for_a_recorded_prediction_only_polls(
    project, owner, fake_replicate, broker, monkeypatch
):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.prediction_id
    services.job_run(job_id=job.pk)
    services.job_run(job_id=job.pk)
    assert len(fake_replicate.creates) == 1


def test_two_workers_racing_on_one_job_submit_once(project, owner, fake_replicate, broker):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    barrier = threading.Barrier(4)

    def run() -> None:
        from django.db import connection

        barrier.wait()
        try:
            services.job_run(job_id=job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_replicate.creates) == 1


def test_cancel_tells_the_provider_and_stops_spending(project, owner, pending_image, fake_replicate, broker, worker):
    fake_replicate.switches.hold = True
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    wait_for(lambda: Job.objects.get(pk=job.pk).prediction_id)
    assert services.job_cancel(job=Job.objects.get(pk=job.pk)) is True
    (prediction,) = fake_replicate.predictions.values()
    assert prediction.status == "canceled"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED
    assert services.team_month_spend(team=project.team) == 0
    assert ShotImage.objects.get(pk=pending_image.pk).status == GenerationStatus.FAILED


@pytest.mark.parametrize("lost", ["500-after-create", "answer-too-late"])
def test_an_uncertain_create_failure_adopts_the_prediction_instead_of_paying_twice(
    settings, project, owner, fake_replicate, broker, worker, lost
):
    if lost == "500-after-create":
        fake_replicate.switches.create_then_error = [500]
    else:
        settings.REPLICATE_TIMEOUT_SECONDS = 1
        fake_replicate.switches.create_answer_delay = 2.5
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    job = wait_for(lambda: done(job), timeout=30)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(fake_replicate.predictions) == 1 and len(fake_replicate.creates) == 1
    (prediction,) = fake_replicate.predictions.values()
    assert job.prediction_id == prediction.id


def test_sibling_jobs_never_adopt_each_others_prediction(settings, project, owner, fake_replicate, broker):
    # Two variants of one prompt, both interrupted: each finds only its own prediction (their seeds differ).
    jobs = [
        services.job_create(project=project, user=owner, capability="image", input={"prompt": "same", "variant": n})
        for n in range(2)
    ]
    assert jobs[0].input["seed"] != jobs[1].input["seed"]
    for job in jobs:
        services._claim(job.pk)
        services.for_provider("replicate").start(Job.objects.get(pk=job.pk))
    settings.JOB_SUBMIT_LEASE_SECONDS = 0
    for job in jobs:
        services.job_run(job_id=job.pk)
    found = {Job.objects.get(pk=j.pk).prediction_id for j in jobs}
    assert found == set(fake_replicate.predictions) and len(fake_replicate.creates) == 2


def test_a_webhook_that_beats_the_recorded_prediction_is_replayed(project, owner, fake_replicate, broker, client):
    import json

    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    early = {
        "id": "pred-early",
        "status": "succeeded",
        "output": [fake_replicate.output_file(type("P", (), {"id": "pred-early", "input": {"prompt": "x"}})())],
    }
    delivery, _ = services.webhook_store(webhook_id="msg-early", timestamp=job.created_at, payload=early)
    services.webhook_process(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.processed_at is None and delivery.outcome == "waiting for its job"
    sent = []
    from generation import tasks

    original = tasks.process_webhook.send
    tasks.process_webhook.send = sent.append
    try:
        services._record_submission(Job.objects.get(pk=job.pk), "pred-early")
    finally:
        tasks.process_webhook.send = original
    assert sent == [delivery.pk]
    services.webhook_process(delivery_id=delivery.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert json.loads(json.dumps(job.output))["media"][0]["width"] == 320


def test_the_sweeper_polls_a_job_past_its_deadline_before_canceling_it(project, owner, fake_replicate, broker):
    from datetime import timedelta

    from django.utils import timezone

    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    services.job_run(job_id=job.pk)
    (prediction,) = fake_replicate.predictions.values()
    wait_for(lambda: prediction.status == "succeeded")
    Job.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(minutes=1))
    report = services.sweep()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and report.canceled == 0
