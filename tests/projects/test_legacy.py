"""The v1-to-v2 migration: a Quick project's scenes, images and clips become the Director hierarchy, once."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from projects import services
from projects.models import (
    GenerationStatus,
    ProjectScene,
    ProjectStatus,
    Scene,
    SceneShot,
    ShotImage,
    StoryboardSelection,
    VideoClip,
    WorkflowVersion,
)
from storyboard.models import ApprovalStatus, VideoSegment
from tests.conftest import login
from tests.factories import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def quick(team, owner, raw_clips):
    project = services.project_create(
        team=team,
        user=owner,
        title="Quick Tokyo",
        prompt="Tokyo in a minute",
        workflow_version=WorkflowVersion.V1_LEGACY,
    )
    for n, (text, clip) in enumerate(
        zip(["Dawn over the bay", "Trains at noon", "Neon at night"], raw_clips, strict=True), start=1
    ):
        scene = Scene(
            project=project, scene_number=n, description=text, image_prompt=f"{text}, cinematic", duration=Decimal("5")
        )
        scene.image.save(f"scene-{n}.png", ContentFile(png_bytes((40 * n, 80, 120))), save=False)
        scene.save()
        video = VideoClip(project=project, scene=scene, status=GenerationStatus.COMPLETE, duration=Decimal("2"))
        video.video.save(f"clip-{n}.mp4", ContentFile(clip), save=False)
        video.save()
    return project


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (ProjectScene, SceneShot, ShotImage, StoryboardSelection, VideoSegment))


def test_it_converts_a_three_scene_quick_project_into_the_director_hierarchy(quick, capsys):
    call_command("migrate_legacy_projects")
    quick.refresh_from_db()
    assert quick.workflow_version == WorkflowVersion.V2_REDESIGN
    assert quick.status == ProjectStatus.ANIMATION_COMPLETE
    scenes = list(quick.scenes.order_by("scene_number"))
    assert [s.title for s in scenes] == ["Dawn over the bay", "Trains at noon", "Neon at night"]
    for scene, legacy in zip(scenes, quick.legacy_scenes.order_by("scene_number"), strict=True):
        (shot,) = scene.shots.all()
        image = ShotImage.objects.get(shot=shot)
        assert (image.iteration_number, image.image.name, image.status) == (0, legacy.image.name, "complete")
        assert shot.selected_image_id == image.pk and shot.selection.selected_image_id == image.pk
        assert image.thumbnail and shot.initial_prompt == legacy.image_prompt
        segment = VideoSegment.objects.get(shot=shot)
        assert segment.is_current and segment.approval_status == ApprovalStatus.APPROVED
        assert segment.video.name == legacy.clips.get().video.name and segment.source_image_id == image.pk
        assert segment.reviews.get().action == "approve"
    printed = capsys.readouterr().out
    assert (
        "became a Director project: 3 scene(s) with one shot each, 3 master image(s), 3 approved segment(s)" in printed
    )


def test_it_changes_nothing_on_a_dry_run_and_nothing_the_second_time(quick, capsys):
    before = _counts()
    call_command("migrate_legacy_projects", "--dry-run")
    quick.refresh_from_db()
    assert quick.workflow_version == WorkflowVersion.V1_LEGACY and _counts() == before
    assert "would become a Director project: 3 scene(s)" in capsys.readouterr().out
    call_command("migrate_legacy_projects")
    after = _counts()
    assert after == (before[0] + 3, before[1] + 3, before[2] + 3, before[3] + 3, before[4] + 3)
    call_command("migrate_legacy_projects")
    assert _counts() == after
    assert "No Quick-mode (v1) projects to convert." in capsys.readouterr().out


def test_it_lists_both_kinds_and_opens_a_converted_project_in_director_mode(client, owner, team, quick):
    services.project_create(team=team, user=owner, title="Director Tokyo", prompt="Tokyo, shot by shot")
    login(client, owner)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Quick Tokyo" in dashboard and "Director Tokyo" in dashboard and "Quick (v1)" in dashboard
    call_command("migrate_legacy_projects")
    page = client.get(reverse("project_storyboard", args=[quick.pk])).content.decode()
    assert "Director (v2)" in page and page.count("sb-card") >= 3
    assert client.get(reverse("project_compile", args=[quick.pk])).content.decode().count('name="segment"') == 3
