"""The timeline editor in headless Chromium: reorder by drag, trim by handle, transition, title, undo, redo, export."""

from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from editor import timeline as tl
from editor.models import EditorProject, FinalVideo
from tests.browser.test_sound_compile import _login
from tests.editor.conftest import approved_segments
from tests.fixtures_media import flat_clip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _flat_clips(segments, tmp_path: Path) -> None:
    """Flat grey pictures (each a different grey), so a title's box and letters are all that is dark or white."""
    for n, segment in enumerate(segments):
        flat = tmp_path / f"flat-{n}.mp4"
        grey = ("0x8a8a8a", "0x9a9a9a", "0xaaaaaa")[n]
        flat_clip(flat, grey=grey, tone=330 + 110 * n)
        default_storage.delete(segment.video.name)
        default_storage.save(segment.video.name, ContentFile(flat.read_bytes()))


def _drag(page: Page, source, target) -> None:
    """Drag source past the middle of target, as a hand would: past Sortable's threshold first, a frame to start."""
    target.scroll_into_view_if_needed()
    box, goal = source.bounding_box(), target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y, steps=2)
    page.wait_for_timeout(150)
    page.mouse.move(goal["x"] + goal["width"] * 0.6, goal["y"] + goal["height"] / 2, steps=15)
    page.wait_for_timeout(150)
    page.mouse.up()


SEEK_TO_ONE = """v => new Promise((done, fail) => {
  const go = () => { v.addEventListener("seeked", () => done(), {once: true}); v.currentTime = 1.0; };
  if (v.readyState >= 1) go(); else { v.addEventListener("loadedmetadata", go, {once: true}); v.load(); }
  const state = () => `readyState ${v.readyState}, error ${v.error && v.error.code}, src ${v.currentSrc}`;
  setTimeout(() => fail(new Error("no seek: " + state())), 10000);
})"""


def _frame(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            if frame.time >= seconds:
                return frame.to_ndarray(format="gray")
    raise AssertionError("no frame")


def test_it_edits_a_timeline_and_exports_it(
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
    _flat_clips(segments, tmp_path)
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1440, "height": 1000})
    _login(page, live_server.url, owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/edit/")
    page.get_by_role("button", name="Open the editor").click()
    clips = page.locator(".ed-clip.video")
    expect(clips).to_have_count(3)
    shoot("edit-01-opened")

    # Reorder: drag the first clip past the second.
    _drag(page, clips.nth(0).locator(".ed-grip"), clips.nth(1))
    expect(page.get_by_role("status").filter(has_text="Moved a clip (revision 2)")).to_be_visible()
    expect(clips.nth(0)).to_have_attribute("data-index", "0")
    expect(clips.nth(1).locator(".ed-clip-link")).to_have_attribute(
        "aria-label", "Clip 2: scene 1 shot 1, 2.00 seconds"
    )

    # Trim: select the last clip and drag its end handle half a second to the left (80 px per second).
    clips.nth(2).locator(".ed-clip-link").click()
    expect(page.locator("#trim-out")).to_have_value("2.00")
    handle = clips.nth(2).locator(".ed-handle.out")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(box["x"] + 4 - 5 * step, box["y"] + box["height"] / 2)
    page.mouse.up()
    expect(page.get_by_role("status").filter(has_text="Trimmed a clip (revision 3)")).to_be_visible()
    expect(page.locator("#trim-out")).to_have_value("1.50")

    # Transition into the selected (last) clip.
    page.get_by_label("Transition into it").select_option("wipe")
    page.get_by_label("Transition length in seconds").fill("0.4")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Set a wipe (revision 4)")).to_be_visible()

    # A title, from the inspector with nothing selected.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="Add a title")).to_be_visible()
    page.get_by_label("Text", exact=True).fill("TOKYO")
    page.get_by_label("Start (s)").fill("0.2")
    page.get_by_label("Duration (s)").fill("1")
    page.get_by_label("Style").select_option("boxed")
    page.get_by_role("button", name="Add title").click()
    expect(page.get_by_role("status").filter(has_text="Added a title (revision 5)")).to_be_visible()
    expect(page.locator(".ed-clip.text")).to_have_text("TOKYO")
    shoot("edit-02-edited")

    # Undo and redo, by button and by keyboard.
    page.get_by_role("button", name="↶ Undo").click()
    expect(page.locator(".ed-clip.text")).to_have_count(0)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+Z")
    expect(page.locator(".ed-clip.text")).to_have_text("TOKYO")
    editor = EditorProject.objects.get(project=project)
    timeline = tl.parse(editor.current.timeline)
    assert [c.segment for c in timeline.tracks.video] == [segments[1].pk, segments[0].pk, segments[2].pk]
    assert timeline.tracks.video[2].end == pytest.approx(1.5, abs=0.05)
    assert timeline.tracks.video[2].transition.model_dump() == {"kind": "wipe", "length": 0.4}

    # Export, watch it finish, and check the file.
    page.get_by_label("Quality").select_option("draft")
    page.get_by_role("button", name="Export MP4").click()
    expect(page.locator("#export-done")).to_be_visible(timeout=90_000)
    shoot("edit-03-exported")
    final = FinalVideo.objects.get()
    with av.open(final.video.path) as container:
        assert container.duration / av.time_base == pytest.approx(timeline.duration, abs=0.1)
    centre = (slice(380, 700), slice(560, 1360))
    with_title, after = _frame(Path(final.video.path), 0.7)[centre], _frame(Path(final.video.path), 2.5)[centre]
    assert (with_title < 40).mean() > 0.1 and (with_title > 220).mean() > 0.01, "the boxed title is drawn"
    assert (after < 40).mean() < 0.01, "and gone after its second"

    # The playhead follows the player.
    page.locator(".ed-clip.video").nth(1).locator(".ed-clip-link").click()
    player = page.locator("#editor-player")
    expect(page.locator(".ed-inspector h2").first).to_contain_text("Clip 2")
    player.evaluate(SEEK_TO_ONE)
    # Clip 2 (moved from first place, so it comes in with a cut) starts at 2 s; 1 s into it is 3 s.
    assert float(page.locator(".ed-playhead").get_attribute("data-time")) == pytest.approx(3.0, abs=0.1)
