"""Plan stage in headless Chromium: from a prompt to an editable plan, with drag and drop."""

import pytest
from playwright.sync_api import Page, expect

from projects import services
from projects.models import ProjectStatus, SceneShot, VideoProject
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_it_goes_from_a_prompt_to_an_editable_plan(live_server, page: Page, shoot, broker, worker, settings):
    settings.JOB_POLL_SECONDS = 1
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Email").fill("nadia@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("link", name="Create your first project").click()
    page.get_by_label("Title").fill("Tokyo Dreams")
    page.get_by_label("Prompt").fill("A cinematic journey through Tokyo at dawn")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("navigation", name="Stages").get_by_role("link", name="Plan").click()

    # Autosave: typing is saved without a button, and the page says so.
    page.get_by_label("Brain dump").fill("Neon reflections, a lone cyclist, ramen stalls opening")
    expect(page.locator("#save-state")).to_contain_text("Saved", timeout=10_000)
    page.get_by_label("Title").fill("")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=10_000)
    expect(page.locator("#id_title_errors")).to_contain_text("This field is required.")
    # Nothing typed is lost: a failed save keeps the text in the browser, and a reload restores and saves it.
    page.get_by_label("Brain dump").fill("Neon reflections, a lone cyclist, ramen stalls opening, steam")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=10_000)
    page.reload()
    expect(page.get_by_label("Brain dump")).to_have_value(
        "Neon reflections, a lone cyclist, ramen stalls opening, steam"
    )
    expect(page.locator("#toast")).to_contain_text("Restored what you typed")
    page.get_by_label("Title").fill("Tokyo Dreams at Dawn")
    expect(page.locator("#save-state")).to_contain_text("Saved", timeout=10_000)

    page.get_by_role("button", name="Ask me questions").click()
    expect(page.locator(".question").first).to_be_visible(timeout=20_000)
    first = page.locator(".question").first
    first.locator(".chip").first.click()
    expect(first).to_contain_text("Answer saved", timeout=10_000)
    second = page.locator(".question").nth(1)
    second.get_by_label("Or in your words").fill("Night-shift workers heading home")
    expect(second).to_contain_text("Answer saved", timeout=10_000)
    shoot("plan-01-questions")

    page.get_by_role("button", name="Write the brief from my idea and answers").click()
    expect(page.locator("#id_tone")).not_to_have_value("", timeout=20_000)
    expect(page.locator("#brief")).to_contain_text("Recurring characters and places")
    page.get_by_role("button", name="Draft the script").click()
    expect(page.get_by_role("link", name="Edit scenes & shots")).to_be_visible(timeout=20_000)
    shoot("plan-02-brief-and-script")

    project = VideoProject.objects.get()
    assert project.title == "Tokyo Dreams at Dawn" and project.status == ProjectStatus.SCENES_SETUP
    assert project.prompt_planner_data.endswith("steam")
    assert project.questions.exclude(answer="").count() == 2

    page.get_by_role("link", name="Edit scenes & shots").click()
    scene = project.scenes.order_by("scene_number").first()
    shots = list(SceneShot.objects.filter(scene=scene).order_by("shot_number"))
    assert len(shots) >= 2
    rows = page.locator(f"#scene-{scene.pk} .shot-row")
    expect(rows).to_have_count(len(shots))
    shoot("plan-03-scenes")

    # Drag the first shot below the second, by its handle, once the lists are sortable.
    page.wait_for_function("[...document.querySelectorAll('[data-sortable]')].every((list) => list._sortable)")
    handle = page.locator(f"#shot-{shots[0].pk} .drag-handle")
    target = page.locator(f"#shot-{shots[1].pk}")
    box = target.bounding_box()
    start = handle.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 8, steps=2)  # past Sortable's drag threshold, then give it a frame to start
    page.wait_for_timeout(150)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9, steps=15)
    page.wait_for_timeout(150)
    with page.expect_response(lambda r: "/shots/order/" in r.url):
        page.mouse.up()
    expect(page.locator(f"#scene-{scene.pk} .shot-row").first).to_have_attribute("data-id", str(shots[1].pk))
    page.reload()
    expect(page.locator(f"#scene-{scene.pk} .shot-row").first).to_have_attribute("data-id", str(shots[1].pk))
    expect(page.locator(f"#shot-{shots[0].pk} .shot-label")).to_have_text("Shot 2")

    # Keyboard: move it back up with its button.
    page.get_by_role("button", name=f"Move shot 2 of scene {scene.scene_number} up").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#scene-{scene.pk} .shot-row").first).to_have_attribute("data-id", str(shots[0].pk))

    # Inline edit with a bad value shows the message next to the field.
    page.locator(f"#scene-{scene.pk}").get_by_label("Duration (seconds)").fill("500")
    page.locator(f"#scene-{scene.pk}").get_by_role("button", name="Save scene").click()
    expect(page.locator(f"#scene-{scene.pk}")).to_contain_text("A scene lasts 1 to 120 seconds.")
    shoot("plan-04-reordered")
    numbers = list(SceneShot.objects.filter(scene=scene).order_by("shot_number").values_list("shot_number", flat=True))
    assert numbers == list(range(1, len(shots) + 1))


def test_a_viewer_sees_the_plan_read_only(live_server, page: Page, owner, team, viewer):
    project = services.project_create(team=team, user=owner, title="Ours", prompt="A trip to Kyoto")
    log_in(page, live_server, viewer.username)
    page.goto(f"{live_server.url}/projects/{project.pk}/plan/")
    expect(page.get_by_label("Title")).to_be_disabled()
    expect(page.get_by_role("button", name="Ask me questions")).to_be_hidden()
