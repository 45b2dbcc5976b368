"""Sound and Compile in headless Chromium: voiceovers, music, reorder, compile with live progress, play, download."""

from pathlib import Path

import av
import pytest
from playwright.sync_api import Locator, Page, expect

from editor import services
from editor.models import AudioAsset, CompileJob, FinalVideo
from tests.conftest import PASSWORD
from tests.editor.conftest import approved_segments

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _duration(audio: Locator) -> float:
    return audio.evaluate(
        "a => new Promise(done => { if (a.readyState >= 1) done(a.duration);"
        " a.addEventListener('loadedmetadata', () => done(a.duration), {once: true}); a.preload = 'auto'; a.load(); })"
    )


def test_it_makes_sound_and_compiles_a_final_video(
    live_server,
    page: Page,
    shoot,
    owner,
    project,
    raw_clips,
    broker,
    worker,
    tmp_path,
):
    segments = approved_segments(project, raw_clips)
    for segment in segments:
        services.segment_normalize(segment_id=segment.pk)
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, live_server.url, owner)

    page.goto(f"{live_server.url}/projects/{project.pk}/sound/")
    expect(page.get_by_role("heading", name="Scene 1: Scene 1")).to_be_visible()
    expect(page.get_by_text("Lipsync is not available offline").first).to_be_visible()
    page.get_by_label("Voice", exact=True).select_option("warm")
    page.get_by_role("button", name="Save sound settings").click()
    expect(page.get_by_role("status").filter(has_text="Sound settings saved")).to_be_visible()
    # A sample line of the chosen voice, made once through the speech job path, plays in the page.
    page.get_by_role("button", name="Hear a sample").click()
    sample = page.get_by_label("Sample of the voice Warm (female)")
    expect(sample).to_be_visible(timeout=30_000)
    assert _duration(sample) > 0.5, "the sample plays"
    page.get_by_role("button", name="Make all voiceovers").click()
    expect(page.locator(".voice-row audio")).to_have_count(3, timeout=60_000)
    page.get_by_label("Mood", exact=True).fill("calm piano, hopeful")
    page.get_by_role("button", name="Make music").click()
    expect(page.locator("#music-panel audio")).to_have_count(1, timeout=60_000)
    expect(page.locator("#music-panel")).to_contain_text("calm piano, hopeful")
    assert _duration(page.locator(".voice-row audio").first) > 1, "the voiceover plays in the page"
    shoot("sound-01-voice-and-music")
    assert AudioAsset.objects.filter(is_current=True, status="completed").count() == 4

    page.goto(f"{live_server.url}/projects/{project.pk}/compile/")
    rows = page.locator(".compile-row")
    expect(rows).to_have_count(3)
    expect(page.get_by_text("Fast path: every segment is already in the house format")).to_be_visible()
    rows.nth(0).get_by_role("button", name="Move scene 1 shot 1 down").click()
    expect(rows.nth(0)).to_contain_text("Scene 2")
    expect(page.get_by_role("button", name="Move scene 1 shot 1 down")).to_be_focused()
    expect(page.locator("[data-move-status]")).to_have_text("Scene 1 · shot 1 is now number 2 of 3.")
    rows.nth(2).get_by_role("combobox").select_option("fade")
    rows.nth(2).get_by_label("Length in seconds of the transition into scene 3 shot 1").fill("1")
    page.get_by_label("Output").select_option("9:16")
    expect(page.get_by_text("each shot is reframed by a centre crop")).to_be_visible()
    page.get_by_label("Output").select_option("16:9")
    shoot("compile-01-order-and-transitions")
    page.get_by_role("button", name="Compile", exact=True).click()
    expect(page.locator("#compile-status")).to_contain_text("Compile #", timeout=10_000)
    expect(page.locator("#start-compile")).to_be_disabled()
    expect(page.locator("#open-final")).to_be_visible(timeout=90_000)
    expect(page.locator("#start-compile")).to_be_enabled()
    shoot("compile-02-done")

    job = CompileJob.objects.get()
    assert job.segment_ids == [segments[1].pk, segments[0].pk, segments[2].pk]
    assert job.transitions == [{"kind": "dissolve", "length": 0.5}, {"kind": "fade", "length": 1.0}]
    page.locator("#open-final").click()
    player = page.locator("#final-player")
    expect(player).to_be_visible()
    length = player.evaluate(
        "v => new Promise(done => { if (v.readyState >= 1) done(v.duration);"
        " v.addEventListener('loadedmetadata', () => done(v.duration), {once: true}); v.load(); })"
    )
    assert length == pytest.approx(6 - 0.5 - 1.0, abs=0.15)
    assert player.evaluate("v => v.textTracks.length") == 1
    shoot("compile-03-final-video")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download MP4").click()
    target = tmp_path / "film.mp4"
    download_info.value.save_as(target)
    with av.open(str(target)) as container:
        assert container.streams.video[0].codec_context.width == 1920
        assert container.duration / av.time_base == pytest.approx(4.5, abs=0.15)
    assert Path(FinalVideo.objects.get().video.path).stat().st_size == target.stat().st_size

    # On a phone: the current stage tab is in view, and the rows fit the width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/projects/{project.pk}/compile/")
    expect(page.locator(".stage-nav [aria-current=page]")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scrolling"
    shoot("compile-04-phone")
    page.goto(f"{live_server.url}/projects/{project.pk}/sound/")
    expect(page.get_by_label("Sample of the voice Warm (female)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scrolling"
    shoot("sound-02-phone")
