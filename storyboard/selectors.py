"""Reads for the storyboard and review pages, each a fixed number of queries."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from generation import registry
from generation.models import AIModel, Capability
from projects.models import ProjectScene, SceneShot, VideoProject
from storyboard.models import ApprovalStatus, ReviewSettings, SegmentReview, SegmentStatus, VideoSegment


def review_settings_of(*, project: VideoProject) -> ReviewSettings:
    """The project's settings, or the defaults (unsaved) until someone changes them."""
    return ReviewSettings.objects.filter(project=project).first() or ReviewSettings(project=project)


def animation_models() -> list[AIModel]:
    return registry.usable(Capability.VIDEO)


def default_animation_model() -> AIModel | None:
    try:
        return registry.resolve(Capability.VIDEO)
    except registry.NoModelError:
        return None


def _segments() -> QuerySet[VideoSegment]:
    return VideoSegment.objects.select_related("job").order_by("-version")


def storyboard_scenes(*, project: VideoProject) -> list[ProjectScene]:
    """Scenes in order; each shot has .segments_list (newest first), .current, .animation (or None)."""
    shots = (
        SceneShot.objects.select_related("selected_image", "animation__ai_model")
        .prefetch_related(Prefetch("segments", queryset=_segments(), to_attr="segments_list"))
        .order_by("shot_number")
    )
    scenes = list(
        ProjectScene.objects.filter(project=project)
        .order_by("scene_number")
        .prefetch_related(Prefetch("shots", queryset=shots, to_attr="shots_list"))
    )
    for scene in scenes:
        for shot in scene.shots_list:
            shot.current = next((s for s in shot.segments_list if s.is_current), None)
            shot.settings = getattr(shot, "animation", None)
    return scenes


def ordered_shots(scenes: list[ProjectScene]) -> list[SceneShot]:
    return [shot for scene in scenes for shot in scene.shots_list]


@dataclass(frozen=True)
class SegmentProgress:
    total_shots: int
    with_master: int
    animated: int
    approved: int
    working: int
    failed: int
    to_review: int

    @staticmethod
    def _percent(part: int, whole: int) -> float:
        return round(part / whole * 100, 1) if whole else 0.0

    @property
    def selection_percent(self) -> float:
        return self._percent(self.with_master, self.total_shots)

    @property
    def animation_percent(self) -> float:
        return self._percent(self.animated, self.total_shots)

    @property
    def approval_percent(self) -> float:
        return self._percent(self.approved, self.total_shots)


def segment_progress(shots: list[SceneShot]) -> SegmentProgress:
    currents = [shot.current for shot in shots if shot.current]
    return SegmentProgress(
        total_shots=len(shots),
        with_master=sum(1 for shot in shots if shot.selected_image_id),
        animated=sum(1 for s in currents if s.status == SegmentStatus.COMPLETED),
        approved=sum(1 for s in currents if s.approval_status == ApprovalStatus.APPROVED),
        working=sum(1 for s in currents if s.is_working),
        failed=sum(1 for s in currents if s.status == SegmentStatus.FAILED),
        to_review=sum(
            1 for s in currents if s.status == SegmentStatus.COMPLETED and s.approval_status == ApprovalStatus.NONE
        ),
    )


def shot_versions(*, shot: SceneShot) -> list[VideoSegment]:
    reviews = SegmentReview.objects.select_related("user").order_by("-created_at", "-id")
    return list(
        VideoSegment.objects.filter(shot=shot)
        .select_related("job", "parent", "created_by", "source_image")
        .prefetch_related(Prefetch("reviews", queryset=reviews, to_attr="review_list"))
        .order_by("-version")
    )


def neighbour_signatures(*, segment: VideoSegment) -> list[dict]:
    """Signatures of the current, scored segments of the shots just before and after segment's shot."""
    order = list(
        SceneShot.objects.filter(project_id=segment.project_id)
        .order_by("scene__scene_number", "shot_number")
        .values_list("pk", flat=True)
    )
    index = order.index(segment.shot_id)
    neighbours = [order[i] for i in (index - 1, index + 1) if 0 <= i < len(order)]
    found = VideoSegment.objects.filter(shot_id__in=neighbours, is_current=True).values_list("scores", flat=True)
    return [scores["signature"] for scores in found if scores and scores.get("signature")]
