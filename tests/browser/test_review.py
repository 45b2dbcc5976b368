"""Storyboard and Review in headless Chromium: animate with a cost check, approve, reject, regenerate, compare."""

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Page, expect

from generation.providers.offline import image as offline_image
from projects import services
from projects.models import GenerationStatus
from storyboard.models import ApprovalStatus, VideoSegment
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = [
    ("Wide shot of Tokyo Tower at sunrise", "Cinematic wide shot, Tokyo Tower, golden hour, mist"),
    ("Close-up of a ramen vendor at night", "Close-up, ramen vendor, steam, neon signs at night"),
]

# Draws the video's current frame on a canvas and says whether it holds a picture (not one flat colour).
FRAME_HAS_PICTURE = """(video) => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 36;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(video, 0, 0, 64, 36);
  const data = ctx.getImageData(0, 0, 64, 36).data;
  let min = 255, max = 0;
  for (let i = 0; i < data.length; i += 4) {
    const l = data[i] + data[i + 1] + data[i + 2];
    min = Math.min(min, l); max = Math.max(max, l);
  }
  return max - min > 60;
}"""


def _project_with_masters(team, owner):
    project = services.project_create(team=team, user=owner, title="Tokyo Dreams", prompt="Tokyo from dawn to night")
    scene = services.scene_create_with_shots(
        project=project, title="Dawn to night", shots=[services.ShotSpec(d, p) for d, p in SHOTS]
    )
    for n, shot in enumerate(scene.shots.order_by("shot_number")):
        (image,) = services.shot_images_create_batch(shot=shot, iteration_prompt=shot.initial_prompt, count=1)
        picture = offline_image.draw(prompt=shot.initial_prompt, seed=7 + n, caption=shot.description)
        image.image.save("master.png", ContentFile(offline_image.to_png(picture)), save=False)
        image.status = GenerationStatus.COMPLETE
        image.save()
        services.shot_select_master(shot=shot, image=image)
    return project


SEEK = """([v, t]) => new Promise((done, fail) => {
  const go = () => { v.addEventListener("seeked", () => done(v.readyState), {once: true}); v.currentTime = t; };
  if (v.readyState >= 1) go();
  else { v.addEventListener("loadedmetadata", go, {once: true}); v.preload = "auto"; v.load(); }
  setTimeout(() => fail(new Error(`no frame: readyState ${v.readyState}, error ${v.error && v.error.code}`)), 15000);
})"""


def _seek_and_check(video, at: float = 1.0) -> None:
    handle = video.element_handle()
    assert video.page.evaluate(SEEK, [handle, at]) >= 2, "a decoded frame is there"
    assert video.evaluate(FRAME_HAS_PICTURE), "the player shows a real frame of the segment"


def test_it_animates_reviews_and_compares_segments(live_server, page: Page, shoot, owner, team, broker, worker):
    project = _project_with_masters(team, owner)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.64001f\"')")

    page.goto(f"{live_server.url}/projects/{project.pk}/storyboard/")
    expect(page.get_by_role("heading", name="Scene 1: Dawn to night")).to_be_visible()
    shoot("storyboard-01-masters")
    page.get_by_label("Select every shot with a master").check()
    page.get_by_role("button", name="Animate selected…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Animate 2 shots?")
    expect(dialog).to_contain_text("Offline motion (ffmpeg)")
    shoot("storyboard-02-confirm-cost")
    assert not VideoSegment.objects.exists(), "nothing is made before the confirmation"
    dialog.get_by_role("button", name="Animate (free)").click()
    expect(page.get_by_role("status").filter(has_text="Animating 2 shots")).to_be_visible()
    expect(page.locator(".sb-card video")).to_have_count(2, timeout=60_000)
    expect(page.locator(".sb-card .badge", has_text="To review")).to_have_count(2)
    shoot("storyboard-03-animated")

    first, second = VideoSegment.objects.order_by("shot__shot_number")
    page.goto(f"{live_server.url}/projects/{project.pk}/review/{first.shot_id}/")
    expect(page.locator("#player-video")).to_be_visible()
    expect(page.locator(f"#scores-{first.pk} .score-table")).to_be_visible(timeout=30_000)
    page.get_by_label("Rating").select_option("5")
    page.get_by_label("Feedback").fill("Lovely light")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").filter(has_text="Approved.")).to_be_visible()
    _seek_and_check(page.locator("#player-video"))
    shoot("review-01-approved")

    page.keyboard.press("]")
    expect(page.get_by_role("heading", name="Scene 1 · Shot 2")).to_be_visible()
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Say why you reject it.")).to_be_visible()
    page.get_by_label("Reason").fill("The camera drifts too far from the vendor")
    page.get_by_label("Suggested changes").fill("Slow push in")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".badge", has_text="Rejected").first).to_be_visible()

    regenerate = page.locator("form[data-regenerate]")
    regenerate.get_by_label("Motion prompt").fill("slow push in on the vendor")
    regenerate.get_by_label("Seed").fill("1234")
    expect(page.locator("#regenerate-button")).to_have_text("Regenerate (free)")
    page.locator("#regenerate-button").click()
    expect(page.get_by_role("heading", name="Version 2", exact=True)).to_be_visible()
    expect(page.locator("#player-video")).to_be_visible(timeout=60_000)
    expect(page.locator("table.versions tbody tr")).to_have_count(2)

    page.get_by_label("Compare version 1").check()
    page.get_by_label("Compare version 2").check()
    page.get_by_role("button", name="Compare two ticked").click()
    expect(page.get_by_role("heading", name="v1 and v2")).to_be_visible()
    videos = page.locator("video[data-sync]")
    expect(videos).to_have_count(2)
    for n in range(2):
        _seek_and_check(videos.nth(n), at=2.5)
    shoot("review-02-compare-versions")

    second.refresh_from_db()
    v2 = VideoSegment.objects.get(shot=second.shot, version=2)
    assert second.approval_status == ApprovalStatus.REJECTED and not second.is_current
    assert v2.parent_id == second.pk and v2.is_current and v2.generation_params["seed"] == 1234
    first.refresh_from_db()
    assert first.approval_status == ApprovalStatus.APPROVED and first.reviews.get().rating == 5
