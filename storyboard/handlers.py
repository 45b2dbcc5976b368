"""What a video job does to its segment: progress, the finished clip with its facts and thumbnail, failure."""

from typing import TYPE_CHECKING

import av
from django.core.files.base import ContentFile
from django.db import transaction

from generation.handlers import HANDLERS, Handler, _save_file, provenance
from storyboard import scoring, services
from storyboard.models import SegmentStatus, VideoSegment

if TYPE_CHECKING:
    from generation.ingest import Media
    from generation.models import Job


def _progress(segment: VideoSegment, job: "Job") -> None:
    if segment.status == SegmentStatus.PENDING:
        segment.status = SegmentStatus.GENERATING
        segment.save(update_fields=["status", "updated_at"])
        services.mirror_selection(shot_id=segment.shot_id)


def _success(segment: VideoSegment, job: "Job", files: list["Media"]) -> None:
    media = files[0]
    _save_file(segment.video, media, f"segment-v{segment.version}")
    try:
        frame = scoring.middle_frame(media.path)
    except (av.FFmpegError, ValueError, OSError):
        frame = None  # the file decoded at ingest; a thumbnail is a nicety, never a reason to lose a paid clip
    if frame is not None:
        segment.thumbnail.save("thumb.webp", ContentFile(scoring.thumbnail_bytes(frame)), save=False)
    meta = media.meta
    segment.duration = round(meta["duration"], 3) if meta.get("duration") else None
    segment.width, segment.height = meta.get("width"), meta.get("height")
    segment.codec = meta.get("codec", "")[:20]
    segment.format = "mp4" if media.extension == "mp4" else media.extension
    segment.file_size = media.path.stat().st_size
    segment.status = SegmentStatus.COMPLETED
    segment.error = ""
    segment.generation_params = {**segment.generation_params, "provenance": provenance(job, media)}
    # Only what the job produced: notes typed meanwhile must survive.
    segment.save(
        update_fields=["video", "thumbnail", "duration", "width", "height", "codec", "format", "file_size", "status",
                       "error", "generation_params", "updated_at"]
    )  # fmt: skip
    services.mirror_selection(shot_id=segment.shot_id)
    services.segment_finished(segment=segment)
    from storyboard.tasks import score_segment  # noqa: PLC0415 - tasks imports services

    transaction.on_commit(lambda: score_segment.send(segment.pk), robust=True)


def _failure(segment: VideoSegment, job: "Job") -> None:
    segment.status = SegmentStatus.FAILED
    segment.error = job.error or job.get_status_display()
    segment.save(update_fields=["status", "error", "updated_at"])
    services.mirror_selection(shot_id=segment.shot_id)
    services.segment_finished(segment=segment)


HANDLERS["storyboard.videosegment"] = Handler(_progress, _success, _failure)
