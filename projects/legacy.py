"""Converting Quick-mode (v1) projects to the Director (v2) hierarchy, as seed 001's migration plan says.

Each v1 scene becomes a ProjectScene with one SceneShot; its image becomes
that shot's iteration-0 ShotImage, chosen as master; its finished clip
becomes the shot's approved segment. The files are shared, not copied: the
legacy rows keep pointing at them. A project converts in one transaction, and
a converted project is a v2 project, so running the conversion again finds
nothing to do.
"""

import logging
from dataclasses import dataclass, field

import av
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from projects import services
from projects.imaging import thumbnail_bytes
from projects.models import (
    GenerationStatus,
    ProjectStatus,
    Scene,
    ShotImage,
    VideoClip,
    VideoProject,
    WorkflowVersion,
)

logger = logging.getLogger(__name__)


@dataclass
class Conversion:
    project_id: int
    title: str
    scenes: int = 0
    images: int = 0
    segments: int = 0
    notes: list[str] = field(default_factory=list)
    busy: str = ""  # why it is left as it is for now

    def describe(self, *, dry_run: bool) -> str:
        if self.busy:
            return f"Project {self.project_id} “{self.title}” is left as it is for now: {self.busy}"
        verb = "would become" if dry_run else "became"
        text = (
            f"Project {self.project_id} “{self.title}” {verb} a Director project: {self.scenes} scene(s) with one shot "
            f"each, {self.images} master image(s), {self.segments} approved segment(s)."
        )
        return " ".join([text, *self.notes])


def legacy_projects() -> list[VideoProject]:
    return list(VideoProject.objects.filter(workflow_version=WorkflowVersion.V1_LEGACY).order_by("pk"))


def _title(scene: Scene) -> str:
    words = scene.description.split()
    return (" ".join(words[:8]) + ("…" if len(words) > 8 else "")) or f"Scene {scene.scene_number}"


def _clip_of(scene: Scene) -> VideoClip | None:
    clips = [c for c in scene.clips.all() if c.status == GenerationStatus.COMPLETE and c.video]
    return clips[-1] if clips else None


def busy_reason(project: VideoProject) -> str:
    """Why converting now would lose work: something is still being made for its v1 rows."""
    from generation.models import ACTIVE, Job  # noqa: PLC0415

    if project.status in (ProjectStatus.GENERATING_STORYBOARD, ProjectStatus.GENERATING_VIDEO):
        return f"it is {project.get_status_display().lower()}. Run the conversion again when that is done."
    running = Job.objects.filter(
        project=project,
        status__in=ACTIVE,
        target_type__app_label="projects",
        target_type__model__in=["scene", "videoclip"],
    )
    if running.exists():
        return "an image or clip is still being made for it. Run the conversion again when that is done."
    return ""


def plan(project: VideoProject) -> Conversion:
    """What converting the project would make (nothing is written)."""
    report = Conversion(project.pk, project.title, busy=busy_reason(project))
    if report.busy:
        return report
    if project.scenes.exists():
        _count_mirror(project, report)
        report.notes.append("Quick mode had already made its Director scenes when it compiled; they are kept.")
        return report
    for scene in project.legacy_scenes.prefetch_related("clips").order_by("scene_number"):
        report.scenes += 1
        if scene.image:
            report.images += 1
            if _clip_of(scene):
                report.segments += 1
        elif _clip_of(scene):
            report.notes.append(f"Scene {scene.scene_number} has a clip but no image; its clip is left behind.")
    return report


@transaction.atomic
def project_convert(*, project: VideoProject) -> Conversion:
    """Convert one v1 project (locked, and checked again) to the v2 hierarchy."""
    project = VideoProject.objects.select_for_update().get(pk=project.pk)
    report = Conversion(project.pk, project.title)
    if project.workflow_version != WorkflowVersion.V1_LEGACY:
        report.notes.append("Already a Director project: nothing to do.")
        return report
    report.busy = busy_reason(project)
    if report.busy:
        return report
    mirrored = project.scenes.exists()
    project.workflow_version, project.status = WorkflowVersion.V2_REDESIGN, ProjectStatus.SCENES_SETUP
    project.save(update_fields=["workflow_version", "status", "updated_at"])
    if mirrored:
        _count_mirror(project, report)
        report.notes.append("Quick mode had already made its Director scenes when it compiled; they are kept.")
    else:
        _mirror(project, report)
    shots = report.scenes
    if shots and report.segments == shots:
        services.project_set_status(project=project, status=ProjectStatus.ANIMATION_COMPLETE)
    elif shots and report.images == shots:
        services.project_set_status(project=project, status=ProjectStatus.STORYBOARD_FINAL)
    elif report.images:
        services.project_set_status(project=project, status=ProjectStatus.SHOT_ITERATION)
    else:
        services.project_set_status(project=project, status=ProjectStatus.SCENES_SETUP)
    return report


@transaction.atomic
def project_mirror(*, project: VideoProject) -> Conversion:
    """The v2 hierarchy of a Quick project that stays one, so its clips can be compiled and edited."""
    project = VideoProject.objects.select_for_update().get(pk=project.pk)
    report = Conversion(project.pk, project.title)
    if project.scenes.exists():
        _count_mirror(project, report)
    else:
        _mirror(project, report)
    return report


def _count_mirror(project: VideoProject, report: Conversion) -> None:
    from storyboard.models import ApprovalStatus  # noqa: PLC0415

    report.scenes = project.scenes.count()
    report.images = project.shots.exclude(selected_image=None).count()
    report.segments = project.segments.filter(is_current=True, approval_status=ApprovalStatus.APPROVED).count()


def _mirror(project: VideoProject, report: Conversion) -> None:
    """Each v1 scene as a ProjectScene with one shot, its image the master, its finished clip an approved segment."""
    from storyboard.models import ApprovalStatus, ReviewAction, SegmentReview, SegmentStatus, VideoSegment  # noqa: PLC0415

    for legacy in project.legacy_scenes.prefetch_related("clips").order_by("scene_number"):
        scene = services.scene_create_with_shots(
            project=project,
            title=_title(legacy),
            description=legacy.description,
            shots=[services.ShotSpec(legacy.description, legacy.image_prompt or legacy.description)],
        )
        scene.duration = max(1, min(round(legacy.duration), 60))
        scene.save(update_fields=["duration"])
        report.scenes += 1
        shot = scene.shots.get()
        clip = _clip_of(legacy)
        if not legacy.image:
            if clip:
                report.notes.append(f"Scene {legacy.scene_number} has a clip but no image; its clip is left behind.")
            continue
        image = ShotImage(
            project=project,
            scene=scene,
            shot=shot,
            iteration_number=0,
            variant_number=0,
            iteration_prompt=legacy.image_prompt,
            status=GenerationStatus.COMPLETE,
            metadata={"provenance": {"migrated_from": f"v1 scene {legacy.scene_number}"}},
        )
        image.image.name = legacy.image.name  # shared with the legacy row, not copied
        try:
            with default_storage.open(legacy.image.name, "rb") as handle, Image.open(handle) as picture:
                image.width, image.height = picture.size
                image.thumbnail.save("thumb.webp", ContentFile(thumbnail_bytes(picture)), save=False)
        except (OSError, UnidentifiedImageError) as error:
            report.notes.append(
                f"Scene {legacy.scene_number}'s image could not be read ({error}); it has no thumbnail."
            )
        image.save()
        services.shot_select_master(shot=shot, image=image)
        report.images += 1
        if clip is None:
            continue
        segment = VideoSegment(
            project=project,
            scene=scene,
            shot=shot,
            version=1,
            is_current=True,
            source_image=image,
            status=SegmentStatus.COMPLETED,
            approval_status=ApprovalStatus.APPROVED,
            approved_at=timezone.now(),
            duration=float(clip.duration) if clip.duration else None,
            format="mp4",
            generation_params={"migrated_from": f"v1 clip {clip.pk}", "duration": float(legacy.duration)},
        )
        segment.video.name = clip.video.name
        segment.duration = segment.duration or _duration(clip.video.name)
        segment.save()
        SegmentReview.objects.create(
            segment=segment,
            action=ReviewAction.APPROVE,
            feedback="Approved in Quick mode.",
        )
        report.segments += 1


def _duration(name: str) -> float | None:
    try:
        with default_storage.open(name, "rb") as handle, av.open(handle) as container:
            return container.duration / av.time_base if container.duration else None
    except (av.FFmpegError, OSError, ValueError):
        return None
