"""Projects whose shots have master images, and helpers that run a segment's job here, in the test."""

import pytest

from generation.models import Job
from generation.services import job_run
from projects import services as project_services
from projects.models import SceneShot
from storyboard.models import VideoSegment
from tests.factories import build_tree


def with_masters(project, *, scenes: int = 1, shots: int = 3) -> list[SceneShot]:
    built = build_tree(project, scenes=scenes, shots=shots, iterations=1)
    for shot in built:
        project_services.shot_select_master(shot=shot, image=shot.images.order_by("variant_number").first())
    return [SceneShot.objects.select_related("selected_image").get(pk=s.pk) for s in built]


def run_segment(segment: VideoSegment) -> VideoSegment:
    """Run the segment's job through the offline provider in this thread, as a worker would."""
    segment.refresh_from_db()
    assert segment.job_id, f"{segment} has no job yet"
    job_run(job_id=segment.job_id)
    segment.refresh_from_db()
    return segment


def job_of(segment: VideoSegment) -> Job:
    segment.refresh_from_db()
    return Job.objects.get(pk=segment.job_id)


@pytest.fixture
def shots(project) -> list[SceneShot]:
    return with_masters(project)
