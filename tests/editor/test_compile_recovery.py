"""A compile queued while Redis was down (or whose message Redis lost) is sent again, never rendered twice."""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from editor import services, tasks
from editor.models import CompileJob, CompileStatus
from generation import periodic

pytestmark = pytest.mark.django_db


def test_a_compile_queued_with_redis_down_answers_queued_and_is_sent_again_later(
    project, owner, segments, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.compile_video, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.compile_request(
            project=project,
            user=owner,
            segment_ids=[s.pk for s in segments[:2]],
            transitions=[{"kind": "cut", "length": 0}],
            aspect_ratio="16:9",
        )
    assert CompileJob.objects.get(pk=job.pk).status == CompileStatus.PENDING, "the row stays; no 500"

    sent: list[int] = []
    monkeypatch.setattr(tasks.compile_video, "send", sent.append)
    assert services.compiles_requeue_pending() == 0, "not before the quiet period"
    CompileJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.compiles_requeue_pending() == 1 and sent == [job.pk]
    assert "requeue_compiles" in periodic.registered()
    assert services.compile_run(job_id=job.pk).status == CompileStatus.SUCCEEDED
    assert services.compile_run(job_id=job.pk) is None, "a duplicate message renders nothing twice"
    assert services.compiles_requeue_pending() == 0
