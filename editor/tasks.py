"""Actors: ids in, a service call out."""

import dramatiq
from django.conf import settings

from editor import live_fragments, services


@dramatiq.actor(queue_name="compile", max_retries=2, min_backoff=2000, time_limit=15 * 60 * 1000)
def normalize_segment(segment_id: int) -> None:
    services.segment_normalize(segment_id=segment_id)


# No retries: a compile is not idempotent work to repeat blindly; a failure is shown and the user starts again.
@dramatiq.actor(queue_name="compile", max_retries=0, time_limit=settings.COMPILE_TIME_LIMIT_MINUTES * 60 * 1000)
def compile_video(job_id: int) -> None:
    services.compile_run(job_id=job_id, on_change=live_fragments.compile_changed)


@dramatiq.actor(queue_name="compile", max_retries=3, min_backoff=2000)
def quick_compile(project_id: int) -> None:
    services.quick_compile(project_id=project_id)
