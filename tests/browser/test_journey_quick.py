"""The whole Quick journey in headless Chromium, as a new user clicks it: sign up, a Quick project, questions,
a storyboard of one image per scene (edited, redrawn, reordered), every clip at once, the editor, a downloaded MP4."""

import av
import pytest
from playwright.sync_api import Page, expect

from editor.models import FinalVideo
from projects.models import ProjectStatus, Scene, VideoClip, VideoProject

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _drag(page: Page, handle: str, onto: str) -> None:
    """Drag by a SortableJS handle to just above another item (pointer events, as a person would)."""
    page.wait_for_function("[...document.querySelectorAll('[data-sortable]')].every((list) => list._sortable)")
    page.locator(onto).scroll_into_view_if_needed()
    start, box = page.locator(handle).bounding_box(), page.locator(onto).bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 8, steps=2)  # past Sortable's drag threshold, then give it a frame to start
    page.wait_for_timeout(150)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.1, steps=15)
    page.wait_for_timeout(150)
    with page.expect_response(lambda r: "/quick/scenes/order/" in r.url):
        page.mouse.up()


def test_it_takes_a_new_user_from_a_quick_idea_to_a_downloaded_mp4(
    new_user, export_download, page: Page, shoot, broker, worker
):
    new_user("kai", "journey-quick-01-signup")

    # A Quick project: the form says what each mode is for.
    page.get_by_role("link", name="Create your first project").click()
    page.get_by_label("Title").fill("Tokyo in a minute")
    page.get_by_label("Prompt").fill("A cinematic journey through Tokyo")
    expect(page.locator(".choice-card", has_text="Quick")).to_contain_text("one image per scene")
    page.get_by_label("Quick").check()
    page.get_by_label("Target duration (seconds)").fill("15")
    shoot("journey-quick-02-new-project")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("button", name="Draft the storyboard")).to_be_visible()

    # Questions (optional), one answered with a suggestion, then the storyboard.
    page.get_by_role("button", name="Ask me questions first").click()
    first = page.locator(".question").first
    expect(first).to_be_visible(timeout=60_000)
    first.locator(".chip").first.click()
    expect(first.locator("input")).not_to_have_value("")
    shoot("journey-quick-03-questions")
    page.get_by_role("button", name="Draft the storyboard").click()
    generate = page.get_by_role("button", name="Generate every clip…")
    expect(generate).to_be_enabled(timeout=60_000)
    project = VideoProject.objects.get()
    scenes = list(Scene.objects.filter(project=project).order_by("scene_number"))
    assert len(scenes) >= 2 and project.questions.exclude(answer="").count() == 1

    # Edit scene 1, draw scene 2 again, then drag scene 2 to the top.
    card = page.locator(f"#quick-scene-{scenes[0].pk}")
    card.get_by_label("Description").fill("Dawn over Tokyo Bay, the first trains crossing the water")
    card.get_by_label("Duration (seconds)").fill("4")
    card.get_by_role("button", name="Save scene").click()
    expect(page.locator(f"#quick-scene-{scenes[0].pk}")).to_contain_text("Saved")
    old_image = scenes[1].image.name
    page.get_by_role("button", name="Draw scene 2's image again").click()
    expect(page.locator(f"#quick-image-{scenes[1].pk} figcaption")).to_be_visible()
    expect(page.locator(f"#quick-image-{scenes[1].pk} figcaption")).to_have_count(0, timeout=60_000)
    assert Scene.objects.get(pk=scenes[1].pk).image.name != old_image
    unsaved = "Dawn over Tokyo Bay, first light on the water"
    page.locator(f"#quick-scene-{scenes[0].pk}").get_by_label("Description").fill(unsaved)
    _drag(page, f"#quick-scene-{scenes[1].pk} .drag-handle", f"#quick-scene-{scenes[0].pk}")
    expect(page.locator(".quick-scene").first).to_have_attribute("data-id", str(scenes[1].pk))
    assert Scene.objects.get(pk=scenes[1].pk).scene_number == 1
    expect(page.locator(f"#quick-scene-{scenes[0].pk}").get_by_label("Description")).to_have_value(unsaved)
    shoot("journey-quick-04-storyboard")

    # One click: the cost first, then every clip at once, a compile, and the editor opens by itself.
    expect(generate).to_be_enabled(timeout=30_000)
    generate.click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Make {len(scenes)} clips?")
    shoot("journey-quick-05-confirm")
    page.locator("#confirm-clips").click()
    expect(page.get_by_role("heading", name="Making the clips")).to_be_visible()
    shoot("journey-quick-06-clips")
    page.wait_for_url("**/edit/", timeout=180_000)
    assert VideoClip.objects.filter(project=project, status="complete").count() == len(scenes)
    project.refresh_from_db()
    assert project.is_quick and project.status == ProjectStatus.EDITOR
    expect(page.locator(".ed-clip.video")).to_have_count(len(scenes), timeout=30_000)
    shoot("journey-quick-07-editor")

    target = export_download("journey-quick-08-download")
    export = FinalVideo.objects.order_by("-pk").first()
    assert target.suffix == ".mp4" and target.stat().st_size == export.file_size > 0
    with av.open(str(target)) as container:
        (video,) = container.streams.video
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert container.duration / av.time_base == pytest.approx(export.duration, abs=0.15)
        assert next(container.decode(video=0)).width == 1920, "a picture decodes"
