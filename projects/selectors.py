"""Reads of the project hierarchy that are more than a one-line filter.

Each function runs a fixed number of queries, whatever the size of the project.
"""

from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from projects.models import (
    GenerationStatus,
    Membership,
    ProjectScene,
    Scene,
    SceneShot,
    ShotImage,
    StoryboardSelection,
    Team,
    VideoClip,
    VideoProject,
)


@dataclass(frozen=True)
class ProjectProgress:
    """The seed's useProjectProgress figures."""

    totalScenes: int  # noqa: N815 - names as the product documents define them
    totalShots: int  # noqa: N815
    shotsWithSelections: int  # noqa: N815
    shotsWithAnimations: int  # noqa: N815

    @staticmethod
    def _percent(part: int, whole: int) -> float:
        return round(part / whole * 100, 1) if whole else 0.0

    @property
    def selectionProgress(self) -> float:  # noqa: N802
        return self._percent(self.shotsWithSelections, self.totalShots)

    @property
    def animationProgress(self) -> float:  # noqa: N802
        return self._percent(self.shotsWithAnimations, self.totalShots)

    @property
    def isSelectionComplete(self) -> bool:  # noqa: N802
        return self.totalShots > 0 and self.shotsWithSelections == self.totalShots

    @property
    def isAnimationComplete(self) -> bool:  # noqa: N802
        return self.totalShots > 0 and self.shotsWithAnimations == self.totalShots

    def as_dict(self) -> dict[str, int | float | bool]:
        return {
            "totalScenes": self.totalScenes,
            "totalShots": self.totalShots,
            "shotsWithSelections": self.shotsWithSelections,
            "shotsWithAnimations": self.shotsWithAnimations,
            "selectionProgress": self.selectionProgress,
            "animationProgress": self.animationProgress,
            "isSelectionComplete": self.isSelectionComplete,
            "isAnimationComplete": self.isAnimationComplete,
        }


def _count(queryset: QuerySet, outer: str = "project") -> Coalesce:
    counted = queryset.filter(**{outer: OuterRef("pk")}).order_by().values(outer).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_progress(projects: QuerySet[VideoProject]) -> QuerySet[VideoProject]:
    """Annotate the four counts behind ProjectProgress, one subquery each, no row multiplication."""
    return projects.annotate(
        total_scenes=_count(ProjectScene.objects.all()),
        total_shots=_count(SceneShot.objects.all()),
        shots_with_selections=_count(StoryboardSelection.objects.all()),
        shots_with_animations=_count(StoryboardSelection.objects.filter(animation_status=GenerationStatus.COMPLETE)),
        total_v1_scenes=_count(Scene.objects.all()),
    )


def progress_of(project: VideoProject) -> ProjectProgress:
    if not hasattr(project, "total_shots"):
        project = with_progress(VideoProject.objects.filter(pk=project.pk)).get()
    return ProjectProgress(
        totalScenes=project.total_scenes,
        totalShots=project.total_shots,
        shotsWithSelections=project.shots_with_selections,
        shotsWithAnimations=project.shots_with_animations,
    )


def project_progress(*, project: VideoProject) -> ProjectProgress:
    return progress_of(project)


def projects_for_dashboard(*, team: Team, query: str = "", status: str = "") -> QuerySet[VideoProject]:
    projects = VideoProject.objects.filter(team=team)
    if query:
        projects = projects.filter(Q(title__icontains=query) | Q(prompt__icontains=query))
    if status:
        projects = projects.filter(status=status)
    master = StoryboardSelection.objects.filter(project=OuterRef("pk")).order_by(
        "scene__scene_number", "shot__shot_number"
    )
    latest_image = ShotImage.objects.filter(project=OuterRef("pk"), status=GenerationStatus.COMPLETE).exclude(image="")
    first_v1 = Scene.objects.filter(project=OuterRef("pk")).exclude(image="").order_by("scene_number")
    return (
        with_progress(projects)
        .annotate(
            thumb_image_id=Coalesce(
                Subquery(master.values("selected_image_id")[:1]),
                Subquery(latest_image.order_by("-created_at").values("pk")[:1]),
                output_field=BigIntegerField(),
            ),
            thumb_v1_scene_id=Subquery(first_v1.values("pk")[:1]),
        )
        .order_by("-updated_at", "-id")
    )


def project_scenes(*, project: VideoProject) -> QuerySet[ProjectScene]:
    return ProjectScene.objects.filter(project=project).order_by("scene_number")


def scene_shots(*, scene: ProjectScene) -> QuerySet[SceneShot]:
    return SceneShot.objects.filter(scene=scene).order_by("shot_number")


def shot_images(*, shot: SceneShot, iteration_number: int | None = None) -> QuerySet[ShotImage]:
    images = ShotImage.objects.filter(shot=shot)
    if iteration_number is not None:
        images = images.filter(iteration_number=iteration_number)
    return images.order_by("iteration_number", "variant_number")


def storyboard_selections(*, project: VideoProject) -> QuerySet[StoryboardSelection]:
    return (
        StoryboardSelection.objects.filter(project=project)
        .select_related("selected_image", "shot", "scene")
        .order_by("scene__scene_number", "shot__shot_number")
    )


def scenes_with_shots(*, project: VideoProject) -> list[ProjectScene]:
    """Scenes in order, each with .shots_list (shots in order, selection and master joined)."""
    shots = SceneShot.objects.select_related("selected_image", "selection").order_by("shot_number")
    return list(
        ProjectScene.objects.filter(project=project)
        .order_by("scene_number")
        .prefetch_related(Prefetch("shots", queryset=shots, to_attr="shots_list"))
    )


def latest_iteration_number(*, shot: SceneShot) -> int | None:
    """The highest iteration of the shot, or None before its first batch."""
    return (
        ShotImage.objects.filter(shot=shot)
        .order_by("-iteration_number")
        .values_list("iteration_number", flat=True)
        .first()
    )


@dataclass
class IterationGroup:
    iteration_number: int
    prompt: str
    parent_image: ShotImage | None
    images: list[ShotImage] = field(default_factory=list)


def shot_images_grouped(*, shot: SceneShot) -> list[IterationGroup]:
    """The seed's useGroupedShotImages: one group per iteration, with its prompt and parent."""
    groups: dict[int, IterationGroup] = {}
    for image in shot_images(shot=shot).select_related("parent_image"):
        group = groups.get(image.iteration_number)
        if group is None:
            group = groups[image.iteration_number] = IterationGroup(
                iteration_number=image.iteration_number, prompt=image.iteration_prompt, parent_image=image.parent_image
            )
        group.images.append(image)
    return list(groups.values())


def scene_storyboard_complete(*, scene: ProjectScene) -> bool:
    """True when the scene has shots and every one of them has a master selection."""
    counts = SceneShot.objects.filter(scene=scene).aggregate(
        shots=Count("pk"), selected=Count("pk", filter=Q(selection__isnull=False))
    )
    return counts["shots"] > 0 and counts["shots"] == counts["selected"]


def memberships_of(user) -> QuerySet[Membership]:  # noqa: ANN001
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name", "team_id")


def team_members(*, team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def plan_jobs(*, project: VideoProject) -> dict[str, object]:
    """The latest text job of each plan task, for the page's drafting status."""
    from generation.models import Job  # noqa: PLC0415

    latest: dict[str, object] = {}
    for job in Job.objects.filter(project=project, capability="text", target_type__model="videoproject").order_by(
        "-created_at", "-id"
    )[:30]:
        latest.setdefault(job.input.get("task"), job)
    return latest


def scene_jobs(*, project: VideoProject) -> dict[int, object]:
    """The latest shots redraft job of each scene."""
    from generation.models import Job  # noqa: PLC0415

    latest: dict[int, object] = {}
    for job in Job.objects.filter(project=project, capability="text", target_type__model="projectscene").order_by(
        "-created_at", "-id"
    )[:100]:
        latest.setdefault(job.target_id, job)
    return latest


def scenes_for_setup(*, project: VideoProject) -> list[ProjectScene]:
    """Scenes in order with .shots_list and the counts a delete confirmation states."""
    shots = SceneShot.objects.order_by("shot_number").annotate(image_count=Count("images", distinct=True))
    return list(
        ProjectScene.objects.filter(project=project)
        .order_by("scene_number")
        .annotate(image_count=Count("images", distinct=True))
        .prefetch_related(Prefetch("shots", queryset=shots, to_attr="shots_list"))
    )


def quick_scenes(*, project: VideoProject) -> list[Scene]:
    """A Quick project's storyboard in order, each scene with its newest image job and clip attached.

    Sets on each scene: image_job (newest image job or None), drawing, image_failed,
    clip (newest VideoClip or None) and needs_clip.
    """
    from generation.models import ACTIVE, Job, JobStatus  # noqa: PLC0415 - generation builds on projects

    scenes = list(Scene.objects.filter(project=project).order_by("scene_number"))
    jobs: dict[int, Job] = {}
    scene_jobs = Job.objects.filter(project=project, target_type__app_label="projects", target_type__model="scene")
    for job in scene_jobs.order_by("pk"):
        jobs[job.target_id] = job
    clips: dict[int, VideoClip] = {}
    for clip in VideoClip.objects.filter(project=project).order_by("created_at", "pk"):
        clips[clip.scene_id] = clip
    for scene in scenes:
        scene.image_job = jobs.get(scene.pk)
        scene.drawing = scene.image_job is not None and scene.image_job.status in ACTIVE
        scene.image_failed = scene.image_job is not None and scene.image_job.status == JobStatus.FAILED
        scene.clip = clips.get(scene.pk)
        # A clip asked for before the scene last changed (new text, length or image) is out of date.
        scene.clip_stale = scene.clip is not None and scene.clip.created_at < scene.updated_at
        scene.needs_clip = scene.clip is None or scene.clip.status == GenerationStatus.FAILED or scene.clip_stale
    return scenes
