"""Waiting segments whose dispatch message Redis lost are dispatched again by the periodic task."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import periodic
from storyboard import services
from storyboard.models import VideoSegment

pytestmark = pytest.mark.django_db


def test_a_waiting_segment_whose_message_was_lost_is_started_by_the_periodic_redispatch(
    project, shots, owner, settings
):
    services.review_settings_update(project=project, mode="parallel", batch_size=2, auto_approve=False)
    first, _second, third = services.segments_request(project=project, shots=shots, user=owner)
    # The first finished while Redis was restarting: the dispatch that would start the third never arrived.
    VideoSegment.objects.filter(pk=first.pk).update(status="completed")
    third.refresh_from_db()
    assert third.is_waiting
    assert services.segments_redispatch_waiting() == 0, "not before the quiet period"
    VideoSegment.objects.filter(pk=third.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert services.segments_redispatch_waiting() == 1
    third.refresh_from_db()
    assert third.job_id, "the free slot took it"
    assert "redispatch_segments" in periodic.registered()
