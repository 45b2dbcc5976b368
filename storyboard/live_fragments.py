"""What a segment's job pushes to open pages: its storyboard card, the progress figures, its review player."""

from generation.live import push, register_fragments, render_partial
from generation.models import Job
from storyboard.models import VideoSegment


def segment_fragments(segment: VideoSegment, job: Job) -> dict[str, str]:
    from storyboard.views import card_context, progress_context  # noqa: PLC0415 - views import this app

    project = segment.project
    shot_context = card_context(project, segment.shot_id)
    fragments = {
        f"shot-card-{segment.shot_id}": render_partial(
            "storyboard/storyboard.html#shot-card", {**shot_context, "oob": True}
        ),
        "storyboard-progress": render_partial(
            "storyboard/storyboard.html#progress", {**progress_context(project), "oob": True}
        ),
        f"review-row-{segment.shot_id}": render_partial(
            "storyboard/review_list.html#row", {**shot_context, "oob": True}
        ),
    }
    segment.refresh_from_db()
    fragments[f"player-{segment.pk}"] = render_partial(
        "storyboard/review.html#player", {"project": project, "segment": segment, "oob": True, "refresh": True}
    )
    return fragments


register_fragments("storyboard.videosegment", segment_fragments)


def scores_changed(segment_id: int) -> None:
    segment = VideoSegment.objects.select_related("project").filter(pk=segment_id).first()
    if segment is None:
        return
    html = render_partial(
        "storyboard/review.html#scores", {"project": segment.project, "segment": segment, "oob": True}
    )
    push(segment.project_id, {f"scores-{segment.pk}": html})
