"""Actors: ids in, a service call out."""

from pathlib import Path

import av
import dramatiq

from generation.providers.files import local_copy
from storyboard import live_fragments, scoring, selectors, services
from storyboard.models import VideoSegment


@dramatiq.actor(queue_name="segments", max_retries=3, min_backoff=500)
def dispatch_segments(project_id: int) -> None:
    services.segments_dispatch(project_id=project_id)


@dramatiq.actor(queue_name="segments", max_retries=2, min_backoff=1000, time_limit=5 * 60 * 1000)
def score_segment(segment_id: int) -> None:
    segment = VideoSegment.objects.select_related("source_image").filter(pk=segment_id).first()
    if segment is None or not segment.video:
        return
    try:
        with local_copy(segment.video.name) as path:
            result = scoring.score(
                Path(path), master=segment.source_image, neighbours=selectors.neighbour_signatures(segment=segment)
            )
    except (av.FFmpegError, ValueError, OSError) as error:
        # Recorded, so the page stops waiting for scores and says why there are none.
        result = {"quality": None, "consistency": None, "scores": {"error": f"Could not measure this video: {error}"}}
    services.segment_store_scores(segment=segment, **result)
    live_fragments.scores_changed(segment_id)


CLEANUP_INTERVAL_SECONDS = 24 * 60 * 60


@dramatiq.actor(queue_name="maintenance", max_retries=0)
def cleanup_segments() -> None:
    """The storage policy on demand; daily it runs from the periodic ticker (registered in apps.py)."""
    services.segments_cleanup()
