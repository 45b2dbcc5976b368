"""With the broker down the rows stay the truth: no 500 after a commit, no second payment, the sweeper catches up."""

import json

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from generation import services, tasks
from generation.models import Job, JobStatus, WebhookDelivery
from projects import services as project_services
from tests.fakes.replicate import SECRET
from tests.generation.test_webhooks import post, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    sent: list[tuple[str, tuple]] = []

    def refuse(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for actor in (tasks.run_job, tasks.poll_job, tasks.process_webhook):
        monkeypatch.setattr(actor, "send", refuse)
        monkeypatch.setattr(actor, "send_with_options", refuse)

    def restore() -> None:
        for actor in (tasks.run_job, tasks.poll_job, tasks.process_webhook):
            name = actor.actor_name
            monkeypatch.setattr(actor, "send", lambda *args, _n=name: sent.append((_n, args)))
            monkeypatch.setattr(actor, "send_with_options", lambda *, args=(), _n=name, **kw: sent.append((_n, args)))

    return restore, sent


def test_generate_with_the_broker_down_answers_queued_and_the_sweeper_sends_it_later(
    owner_client, project, broker_down, settings, django_capture_on_commit_callbacks
):
    restore, sent = broker_down
    scene = project_services.scene_create_with_shots(
        project=project, title="Opening", shots=[project_services.ShotSpec("Wide", "Tokyo Tower at dawn")]
    )
    shot = scene.shots.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("shot_generate", args=[project.pk, shot.pk]), headers={"HX-Request": "true"}
        )
    assert response.status_code == 200, "the rows committed: the user sees them queued, not an error"
    jobs = Job.objects.filter(project=project)
    assert jobs.count() == 6 and set(jobs.values_list("status", flat=True)) == {JobStatus.QUEUED}

    restore()
    settings.SWEEP_QUIET_SECONDS = 0
    report = services.sweep()
    assert report.requeued == 6
    assert sorted(args[0] for name, args in sent if name == "run_job") == sorted(jobs.values_list("pk", flat=True))


def test_a_webhook_stored_while_the_broker_was_down_is_processed_on_the_providers_retry(
    client, project, owner, broker_down, settings, django_capture_on_commit_callbacks
):
    restore, sent = broker_down
    settings.REPLICATE_WEBHOOK_SECRET = SECRET
    body = json.dumps({"id": "pred-down", "status": "succeeded", "output": None})
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body, signed(body, msg_id="msg_down"))
    assert first.status_code == 202
    delivery = WebhookDelivery.objects.get(webhook_id="msg_down")
    assert delivery.processed_at is None

    restore()
    again = post(client, body, signed(body, msg_id="msg_down"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert sent == [("process_webhook", (delivery.pk,))], "the retry is the cue to process what was stored"


def test_the_sweeper_sends_stored_deliveries_whose_job_is_known(project, owner, broker_down, settings):
    restore, sent = broker_down
    job = services.job_create(project=project, user=owner, capability="image", input={"prompt": "x"})
    Job.objects.filter(pk=job.pk).update(provider="replicate", prediction_id="pred-known", status=JobStatus.SUBMITTED)

    delivery = WebhookDelivery.objects.create(
        webhook_id="msg_lost",
        timestamp=timezone.now(),
        payload={"id": "pred-known", "status": "processing"},
        prediction_id="pred-known",
        prediction_status="processing",
    )
    stray = WebhookDelivery.objects.create(
        webhook_id="msg_stray", timestamp=timezone.now(), payload={"id": "nobody"}, prediction_id="nobody"
    )
    restore()
    settings.SWEEP_QUIET_SECONDS = 0
    report = services.sweep()
    assert report.deliveries == 1
    assert ("process_webhook", (delivery.pk,)) in sent
    stray.refresh_from_db()
    assert stray.processed_at is None, "a delivery for no known job waits its 10 minutes before it is given up"


@pytest.mark.usefixtures("broker_down")
def test_a_retried_webhook_while_the_broker_is_still_down_is_acknowledged_not_a_500(
    client, project, owner, settings, django_capture_on_commit_callbacks
):
    settings.REPLICATE_WEBHOOK_SECRET = SECRET
    body = json.dumps({"id": "pred-still-down", "status": "succeeded", "output": None})
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body, msg_id="msg_still")).status_code == 202
    again = post(client, body, signed(body, msg_id="msg_still"))
    assert again.status_code == 200 and again.json()["duplicate"] is True, "stored, so acknowledged"
    assert WebhookDelivery.objects.get(webhook_id="msg_still").processed_at is None, "left for the sweep"
