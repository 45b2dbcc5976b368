"""The whole Director journey in headless Chromium, as a new user clicks it: sign up, then Plan, Iterate,
Storyboard, Review, Sound, Compile and Edit, ending with a downloaded MP4 that has picture and sound."""

import av
import pytest
from playwright.sync_api import Page, expect

from editor.models import AudioAsset, FinalVideo
from projects.models import VideoProject, WorkflowVersion
from storyboard.models import ApprovalStatus, VideoSegment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _stage(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Stages").get_by_role("link", name=name, exact=True).click()


def test_it_takes_a_new_user_through_every_director_stage_to_a_downloaded_mp4(
    new_user, export_download, page: Page, shoot, broker, worker
):
    new_user("dara", "journey-director-01-signup")

    # A Director project from the new-project form; ten seconds keeps the drafted script small.
    page.get_by_role("link", name="Create your first project").click()
    page.get_by_label("Title").fill("Kyoto Mornings")
    page.get_by_label("Prompt").fill("A quiet morning walk through Kyoto's temples")
    page.get_by_label("Brain dump").fill("Moss gardens, a tea house opening its shutters, bells in the distance.")
    page.get_by_label("Director").check()
    expect(page.get_by_label("Director")).to_be_checked()
    page.get_by_label("Target duration (seconds)").fill("10")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Kyoto Mornings")).to_be_visible()

    # Plan: questions, one answer, the brief, the script.
    _stage(page, "Plan")
    page.get_by_role("button", name="Ask me questions").click()
    first = page.locator(".question").first
    expect(first).to_be_visible(timeout=60_000)
    first.locator(".chip").first.click()
    expect(first).to_contain_text("Answer saved", timeout=30_000)
    page.get_by_role("button", name="Write the brief from my idea and answers").click()
    expect(page.locator("#id_tone")).not_to_have_value("", timeout=60_000)
    page.get_by_role("button", name="Draft the script").click()
    expect(page.get_by_role("link", name="Edit scenes & shots")).to_be_visible(timeout=60_000)
    shoot("journey-director-02-plan")

    # Scenes: keep the first scene (two shots) and delete the rest, as a user trimming the draft would.
    page.get_by_role("link", name="Edit scenes & shots").click()
    scenes = page.locator(".scene-card")
    expect(scenes.first).to_be_visible()
    while scenes.count() > 1:
        count = scenes.count()
        page.get_by_role("link", name=f"Delete scene {count}", exact=True).click()
        page.get_by_role("button", name="Delete scene").click()
        expect(scenes).to_have_count(count - 1, timeout=30_000)
    shots = page.locator(".shot-row")
    shot_total = shots.count()
    assert 1 <= shot_total <= 3
    page.get_by_role("button", name="Continue to Iterate →").click()

    # Iterate: six variants for every shot, and a master image for each.
    for n in range(1, shot_total + 1):
        expect(page.get_by_role("heading", name=f"Scene 1 · Shot {n}")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Generate 6 variants").click()
        tiles = page.locator(".iteration").first.locator(".tile img")
        expect(tiles).to_have_count(6, timeout=60_000)
        page.locator(".iteration").first.get_by_role("button", name="Use as master").first.click()
        expect(page.locator(".badge-ok", has_text="Master chosen")).to_be_visible(timeout=30_000)
        if n < shot_total:
            page.get_by_role("link", name="Next →").click()
    # The shot list beside the panel is drawn with the page: after a reload every shot is ticked.
    page.reload()
    expect(page.locator(".shot-nav").get_by_text("(master chosen)")).to_have_count(shot_total)
    shoot("journey-director-03-iterate")

    # Storyboard: animate every shot, after the cost estimate is shown and confirmed.
    _stage(page, "Storyboard")
    page.get_by_label("Select every shot with a master").check()
    page.get_by_role("button", name="Animate selected…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Animate {shot_total} shots?")
    expect(dialog).to_contain_text("Total")
    shoot("journey-director-04-storyboard")
    dialog.get_by_role("button", name="Animate (free)").click()
    expect(page.locator(".sb-card video")).to_have_count(shot_total, timeout=90_000)
    expect(page.locator(".sb-card .badge", has_text="To review")).to_have_count(shot_total, timeout=30_000)

    # Review: approve every segment.
    _stage(page, "Review")
    expect(page.locator(".review-table .badge", has_text="To review")).to_have_count(shot_total)
    page.locator(".review-table").get_by_role("link", name="Review").first.click()
    for n in range(1, shot_total + 1):
        expect(page.get_by_role("heading", name=f"Scene 1 · Shot {n}")).to_be_visible(timeout=30_000)
        expect(page.locator("#player-video")).to_be_visible(timeout=60_000)
        page.get_by_label("Rating").select_option("5")
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("status").filter(has_text="Approved.")).to_be_visible(timeout=30_000)
        if n < shot_total:
            page.get_by_role("link", name="Next →").click()
    shoot("journey-director-05-review")

    # Sound: the voiceover of the scene and a music bed.
    _stage(page, "Sound")
    page.get_by_role("button", name="Make all voiceovers").click()
    expect(page.locator(".voice-row audio")).to_have_count(1, timeout=60_000)
    page.get_by_role("button", name="Make music").click()
    expect(page.locator("#music-panel audio")).to_have_count(1, timeout=60_000)
    shoot("journey-director-06-sound")

    # Compile, and wait for it to finish.
    page.get_by_role("link", name="Continue to Compile →").click()
    expect(page.locator(".compile-row")).to_have_count(shot_total)
    page.get_by_role("button", name="Compile", exact=True).click()
    expect(page.locator("#compile-status")).to_contain_text("Compile #", timeout=30_000)
    expect(page.locator("#open-final")).to_be_visible(timeout=120_000)
    shoot("journey-director-07-compile")

    # Edit: open the timeline editor from the compiled cut, export, download.
    _stage(page, "Edit")
    page.get_by_role("button", name="Open the editor").click()
    expect(page.locator(".ed-clip.video")).to_have_count(shot_total, timeout=30_000)
    expect(page.locator(".ed-clip.voice")).to_have_count(1)
    expect(page.locator(".ed-clip.music")).to_have_count(1)
    shoot("journey-director-08-edit")
    target = export_download("journey-director-09-download")
    assert target.suffix == ".mp4"
    export = FinalVideo.objects.order_by("-pk").first()
    assert target.stat().st_size == export.file_size > 0
    with av.open(str(target)) as container:
        assert "mp4" in container.format.name
        (video,), (audio,) = container.streams.video, container.streams.audio
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert audio.codec_context.name == "aac" and audio.codec_context.sample_rate == 48000
        seconds = container.duration / av.time_base
        assert seconds > 0
        assert seconds == pytest.approx(export.duration, abs=0.15)
        assert next(container.decode(video=0)).width == 1920, "a picture decodes"
        assert next(container.decode(audio=0)).samples > 0, "and so does sound"

    project = VideoProject.objects.get()
    assert project.workflow_version == WorkflowVersion.V2_REDESIGN and project.created_by.username == "dara"
    assert project.scenes.count() == 1
    assert VideoSegment.objects.filter(is_current=True, approval_status=ApprovalStatus.APPROVED).count() == shot_total
    assert AudioAsset.objects.filter(is_current=True, status="completed").count() == 2, "a voiceover and the music"
    assert FinalVideo.objects.count() == 2, "the compile and the export"
