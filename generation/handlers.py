"""What a finished job does to the object it produces.

Each target model registers how it reflects a job's progress and takes its
output. Jobs without a target (text) keep their result in Job.output.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import models, transaction
from PIL import Image

from generation import orphans
from projects.imaging import thumbnail_bytes
from projects.models import GenerationStatus, Scene, ShotImage, StoryboardSelection, VideoClip
from projects.services import quick_clip_settled
from projects.tasks import delete_stored_files

if TYPE_CHECKING:
    from generation.ingest import Media
    from generation.models import Job


@dataclass
class Handler:
    on_progress: Callable[[models.Model, "Job"], None]
    on_success: Callable[[models.Model, "Job", list["Media"]], None]
    on_failure: Callable[[models.Model, "Job"], None]
    # False for jobs whose product is data (text), not a file.
    expects_files: bool = True


HANDLERS: dict[str, Handler] = {}


def handler_for(obj: models.Model) -> Handler | None:
    return HANDLERS.get(obj._meta.label_lower)


def provenance(job: "Job", media: "Media | None" = None) -> dict:
    """What the UI shows about who made an asset and how."""
    data = {
        "job_id": job.pk,
        "provider": job.provider,
        "model": job.model_id,
        "seed": job.input.get("seed"),
        "prompt": job.input.get("prompt") or job.input.get("text", ""),
        "strength": job.input.get("strength"),
        "estimated_cost": str(job.estimated_cost),
        "actual_cost": str(job.actual_cost) if job.actual_cost is not None else None,
        "attempts": job.attempts,
        "queued_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.submitted_at.isoformat() if job.submitted_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if media:
        data["media"] = media.meta
    return {k: v for k, v in data.items() if v is not None}


def _save_file(field_file: models.fields.files.FieldFile, media: "Media", stem: str) -> None:
    with media.path.open("rb") as handle:
        field_file.save(f"{stem}.{media.extension}", File(handle), save=False)
    # Noted before any row names it: if the job's transaction fails before the save, the file is still found.
    orphans.note_written(field_file.name)


def _image_progress(image: ShotImage, job: "Job") -> None:
    image.status = GenerationStatus.PROCESSING
    image.prediction_id = job.prediction_id
    image.save(update_fields=["status", "prediction_id", "updated_at"])


def _image_success(image: ShotImage, job: "Job", files: list["Media"]) -> None:
    _save_file(image.image, files[0], f"variant-{image.variant_number}")
    with Image.open(files[0].path) as picture:
        image.thumbnail.save(f"thumb-{image.variant_number}.webp", ContentFile(thumbnail_bytes(picture)), save=False)
    image.status = GenerationStatus.COMPLETE
    image.prediction_id = job.prediction_id
    image.metadata = {**image.metadata, "provenance": provenance(job, files[0])}
    image.metadata.pop("error", None)
    # Only what the job produced: a concurrent favorite toggle or master change must survive.
    image.save(
        update_fields=["image", "width", "height", "thumbnail", "status", "prediction_id", "metadata", "updated_at"]
    )


def _image_failure(image: ShotImage, job: "Job") -> None:
    image.status = GenerationStatus.FAILED
    image.metadata = {**image.metadata, "error": job.error or job.get_status_display(), "provenance": provenance(job)}
    image.save(update_fields=["status", "metadata", "updated_at"])


HANDLERS["projects.shotimage"] = Handler(_image_progress, _image_success, _image_failure)


def _selection_progress(selection: StoryboardSelection, job: "Job") -> None:
    selection.animation_status = GenerationStatus.PROCESSING
    selection.prediction_id = job.prediction_id
    selection.save(update_fields=["animation_status", "prediction_id", "updated_at"])


def _selection_success(selection: StoryboardSelection, job: "Job", files: list["Media"]) -> None:
    _save_file(selection.animated_video, files[0], "animation")
    selection.animation_status = GenerationStatus.COMPLETE
    selection.prediction_id = job.prediction_id
    selection.save(update_fields=["animated_video", "animation_status", "prediction_id", "updated_at"])


def _selection_failure(selection: StoryboardSelection, job: "Job") -> None:
    selection.animation_status = GenerationStatus.FAILED
    selection.save(update_fields=["animation_status", "updated_at"])


HANDLERS["projects.storyboardselection"] = Handler(_selection_progress, _selection_success, _selection_failure)


def _v1_scene_success(scene: Scene, job: "Job", files: list["Media"]) -> None:
    replaced = scene.image.name
    _save_file(scene.image, files[0], f"scene-{scene.scene_number}")
    scene.save(update_fields=["image", "updated_at"])
    if replaced and not ShotImage.objects.filter(image=replaced).exists():
        # A redrawn image replaces the old one, unless a Director shot shares the file (after a conversion).
        transaction.on_commit(lambda: delete_stored_files.send([replaced]), robust=True)


HANDLERS["projects.scene"] = Handler(lambda scene, job: None, _v1_scene_success, lambda scene, job: None)


def _clip_progress(clip: VideoClip, job: "Job") -> None:
    clip.status = GenerationStatus.PROCESSING
    clip.prediction_id = job.prediction_id
    clip.save(update_fields=["status", "prediction_id", "updated_at"])


def _clip_success(clip: VideoClip, job: "Job", files: list["Media"]) -> None:
    _save_file(clip.video, files[0], "clip")
    clip.status = GenerationStatus.COMPLETE
    duration = files[0].meta.get("duration")
    clip.duration = round(duration, 2) if duration else None
    clip.save(update_fields=["video", "status", "duration", "updated_at"])
    quick_clip_settled(project_id=clip.project_id)


def _clip_failure(clip: VideoClip, job: "Job") -> None:
    clip.status = GenerationStatus.FAILED
    clip.save(update_fields=["status", "updated_at"])


HANDLERS["projects.videoclip"] = Handler(_clip_progress, _clip_success, _clip_failure)
