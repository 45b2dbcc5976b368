"""The line through real Dramatiq workers: dispatch, the score actor and auto-approve, with committed rows."""

import pytest

from storyboard import services
from storyboard.models import ApprovalStatus, SegmentStatus, VideoSegment
from tests.fixtures_generation import wait_for
from tests.storyboard.conftest import with_masters

pytestmark = pytest.mark.django_db(transaction=True)


def _segment(shot) -> VideoSegment:
    return VideoSegment.objects.get(shot=shot, is_current=True)


def test_it_generates_one_at_a_time_and_moves_on_after_approval(project, owner, broker, worker, fast_jobs):
    shots = with_masters(project, shots=2)
    services.review_settings_update(project=project, mode="sequential", batch_size=1, auto_approve=False)
    services.segments_request(project=project, shots=shots, user=owner)
    first = wait_for(lambda: (s := _segment(shots[0])).quality_score is not None and s, message="first scored")
    assert first.status == SegmentStatus.COMPLETED and first.scores["consistency"]
    broker.join("segments")
    worker.join()
    assert _segment(shots[1]).is_waiting, "sequential: the second waits for the first to be approved"
    services.segment_approve(segment=first, user=owner, rating=5)
    second = wait_for(lambda: (s := _segment(shots[1])).quality_score is not None and s, message="second scored")
    assert second.status == SegmentStatus.COMPLETED
    # Its neighbour was scored first, so its consistency includes the neighbour comparison.
    assert [m["key"] for m in second.scores["consistency"]] == ["master", "neighbours"]


def test_it_auto_approves_a_whole_batch(project, owner, broker, worker, fast_jobs):
    shots = with_masters(project, shots=3)
    services.review_settings_update(project=project, mode="parallel", batch_size=2, auto_approve=True)
    services.segments_request(project=project, shots=shots, user=owner)
    wait_for(
        lambda: VideoSegment.objects.filter(approval_status=ApprovalStatus.APPROVED).count() == 3,
        timeout=60,
        message="three approved segments",
    )
    project.refresh_from_db()
    assert project.status == "animation_complete"
