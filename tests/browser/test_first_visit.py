"""A new user, in headless Chromium: sign up, create a project, find it on the dashboard."""

import pytest
from playwright.sync_api import Page, expect

from projects.models import VideoProject

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_takes_a_new_user_from_sign_up_to_a_project_on_the_dashboard(live_server, page: Page, shoot):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Username").fill("maya")
    page.get_by_label("Email").fill("maya@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase-42")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase-42")
    shoot("01-signup")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="No projects yet")).to_be_visible()
    shoot("02-empty-dashboard")
    page.get_by_role("link", name="Create your first project").click()

    # Submitting empty shows messages next to the fields and keeps the page.
    page.get_by_role("button", name="Create project").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    page.get_by_label("Title").fill("Tokyo Dreams")
    page.get_by_label("Prompt").fill("A cinematic journey through Tokyo at dawn")
    page.get_by_label("Brain dump").fill("Neon reflections, a lone cyclist, quiet before the city wakes.")
    page.get_by_text("Director", exact=True).click()
    page.get_by_label("Aspect ratio").select_option("9:16")
    shoot("03-new-project")
    page.get_by_role("button", name="Create project").click()

    expect(page.get_by_role("heading", name="Tokyo Dreams")).to_be_visible()
    expect(page.get_by_role("navigation", name="Stages").get_by_role("link", name="Storyboard")).to_be_visible()
    shoot("04-project-overview")
    page.get_by_role("navigation", name="Stages").get_by_role("link", name="Storyboard").click()
    expect(page.get_by_role("heading", name="No scenes yet")).to_be_visible()
    page.get_by_role("navigation", name="Stages").get_by_role("link", name="Sound").click()
    expect(page.get_by_text("No scene has narration yet.")).to_be_visible()
    page.get_by_role("navigation", name="Stages").get_by_role("link", name="Compile").click()
    expect(page.get_by_role("heading", name="Nothing to compile yet")).to_be_visible()
    page.get_by_role("navigation", name="Stages").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Nothing to edit yet")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    card = page.locator(".project-card", has_text="Tokyo Dreams")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Director (v2)")
    page.get_by_placeholder("Search title or prompt").fill("kyoto")
    expect(page.get_by_text("No matching projects")).to_be_visible()
    page.get_by_placeholder("Search title or prompt").fill("tokyo")
    expect(card).to_be_visible()
    shoot("05-dashboard")

    project = VideoProject.objects.get()
    assert (project.title, project.aspect_ratio, project.team.name) == ("Tokyo Dreams", "9:16", "maya's team")
