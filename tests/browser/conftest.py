from pathlib import Path

import pytest
from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def shoot(page):
    """Save a full-page screenshot under artifacts/screenshots/ (kept by CI)."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


JOURNEY_PASSWORD = "a-long-pass-phrase-42"


@pytest.fixture
def new_user(live_server, page, shoot, settings):
    """Start a journey as a person would: sign up through the form (not a fixture user), see the empty dashboard."""
    settings.JOB_POLL_SECONDS = 1
    # hx-confirm asks before paid-looking work (voiceovers, music); a person would say yes.
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1366, "height": 900})

    def sign_up(username: str, screenshot: str) -> None:
        page.goto(live_server.url)
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("Username").fill(username)
        page.get_by_label("Email").fill(f"{username}@example.com")
        page.get_by_label("Password", exact=True).fill(JOURNEY_PASSWORD)
        page.get_by_label("Password confirmation").fill(JOURNEY_PASSWORD)
        shoot(screenshot)
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_role("heading", name="No projects yet")).to_be_visible()

    return sign_up


@pytest.fixture
def export_download(page, shoot, tmp_path):
    """Export the open editor's timeline and download the MP4 as a person would; returns the saved file."""

    def export(screenshot: str) -> Path:
        page.get_by_role("button", name="Export MP4").click()
        expect(page.locator("#export-done")).to_be_visible(timeout=120_000)
        with page.expect_download(timeout=60_000) as download_info:
            page.locator("#download-export").click()
        download = download_info.value
        shoot(screenshot)
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        return target

    return export
