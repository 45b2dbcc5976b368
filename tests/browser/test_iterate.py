"""Iterate stage in headless Chromium: generate, refine twice, star, choose the master, reload."""

import pytest
from playwright.sync_api import Page, expect

from projects import services
from projects.models import ProjectStatus, SceneShot, ShotImage, StoryboardSelection
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_iterates_a_shot_to_a_master_image(live_server, page: Page, shoot, owner, team, broker, worker):
    project = services.project_create(team=team, user=owner, title="Tokyo Dreams", prompt="Tokyo at dawn")
    scene = services.scene_create_with_shots(
        project=project,
        title="Opening",
        shots=[
            services.ShotSpec("Wide shot of Tokyo Tower at sunrise", "Cinematic wide shot, Tokyo Tower, golden hour"),
            services.ShotSpec("Close-up of a street vendor", "Close-up, ramen vendor, steam, neon at night"),
        ],
    )
    shot = scene.shots.get(shot_number=1)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/projects/{project.pk}/iterate/")
    expect(page.get_by_role("heading", name="Scene 1 · Shot 1")).to_be_visible()

    page.get_by_role("button", name="Generate 6 variants").click()
    tiles = page.locator(".iteration").first.locator(".tile img")
    expect(tiles).to_have_count(6, timeout=30_000)
    shoot("iterate-01-first-six")

    for round_, instruction in enumerate(["Same composition, more dramatic clouds", "Warmer light, sunset"], start=1):
        page.locator(".iteration").first.get_by_role("button", name="Refine from this").nth(2).click()
        page.get_by_label("Instruction").fill(instruction)
        page.get_by_role("button", name="Make 6 refined variants").click()
        newest = page.locator(".iteration").first
        expect(newest.locator(".iteration-head")).to_contain_text(f"Iteration {round_}", timeout=10_000)
        expect(newest.locator(".tile img")).to_have_count(6, timeout=30_000)
    shoot("iterate-02-refined-twice")

    newest = page.locator(".iteration").first
    newest.get_by_role("button", name="Favorite variant 4 of iteration 2").click()
    expect(newest.get_by_role("button", name="Favorite variant 4 of iteration 2")).to_have_attribute(
        "aria-pressed", "true"
    )
    newest.get_by_role("button", name="Use as master").nth(3).click()
    expect(page.locator(".badge-ok", has_text="Master chosen")).to_be_visible()

    page.reload()
    iterations = page.locator(".iteration")
    expect(iterations).to_have_count(3)
    expect(iterations.nth(0).locator(".iteration-head")).to_contain_text("Warmer light, sunset")
    expect(iterations.nth(1).locator(".iteration-head")).to_contain_text("more dramatic clouds")
    expect(page.locator(".tile.is-master")).to_have_count(1)
    expect(page.locator(".tile.is-master .star")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("link", name="★ Favorites only").click()
    expect(page.locator(".tile")).to_have_count(1)
    shoot("iterate-03-master-and-favorites")

    master = ShotImage.objects.get(shot=shot, iteration_number=2, variant_number=3)
    shot.refresh_from_db()
    assert shot.selected_image_id == master.pk and master.is_favorite
    assert StoryboardSelection.objects.get(shot=shot).selected_image_id == master.pk
    assert master.parent_image.iteration_number == 1 and master.parent_image.variant_number == 2
    assert ShotImage.objects.filter(shot=shot).count() == 18
    assert SceneShot.objects.get(pk=shot.pk).project.status == ProjectStatus.SHOT_ITERATION

    # Keyboard: "]" goes to the next shot.
    page.keyboard.press("]")
    expect(page.get_by_role("heading", name="Scene 1 · Shot 2")).to_be_visible()
