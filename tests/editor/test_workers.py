"""Normalization and compiles through real Dramatiq workers, with committed rows: approve, compile, cancel."""

import pytest

from editor import services
from editor.models import CompileStatus
from storyboard import services as storyboard_services
from storyboard.models import ApprovalStatus, VideoSegment
from tests.editor.conftest import approved_segments
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_normalizes_on_approval_and_then_compiles_the_fast_way(project, owner, raw_clips, broker, worker):
    segments = approved_segments(project, raw_clips)
    VideoSegment.objects.filter(project=project).update(approval_status=ApprovalStatus.NONE)
    for segment in segments:
        storyboard_services.segment_approve(segment=segment, user=owner)
    wait_for(
        lambda: VideoSegment.objects.filter(project=project, normalized_aspect="16:9").count() == 3,
        timeout=60,
        message="three normalized segments",
    )
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in segments],
        transitions=[{"kind": "cut"}] * 2,
        aspect_ratio="16:9",
        captions_mode="off",
    )
    assert job.render_path == "smart"
    done = wait_for(
        lambda: (j := type(job).objects.get(pk=job.pk)).status == CompileStatus.SUCCEEDED and j,
        timeout=60,
        message="compile done",
    )
    assert done.final_video.clip_count == 3 and done.final_video.loudness["report"]["copied_pieces"] == 3


def test_it_cancels_a_compile_a_worker_is_running(project, owner, raw_clips, broker, worker):
    segments = approved_segments(project, raw_clips)
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in segments],
        transitions=[{"kind": "dissolve", "length": 0.5}] * 2,
        aspect_ratio="1:1",
        captions_mode="burned",
    )
    wait_for(lambda: type(job).objects.get(pk=job.pk).status == CompileStatus.RUNNING, message="compile running")
    services.compile_cancel(job=job)
    ended = wait_for(
        lambda: (j := type(job).objects.get(pk=job.pk)).status != CompileStatus.RUNNING and j,
        timeout=30,
        message="compile ended",
    )
    assert ended.status == CompileStatus.CANCELED
    assert not hasattr(ended, "final_video") or ended.final_video is None
