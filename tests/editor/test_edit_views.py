"""The Edit page: drawn timeline, edits posted one at a time, refusals, undo and redo, renders, interchange."""

import io
import zipfile

import pytest
from django.urls import reverse

from editor import services
from editor import timeline as tl
from editor.models import CompileJob, EditorProject, TimelineRevision
from tests.conftest import login

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def editor(project, owner, segments):
    return services.editor_open(project=project, user=owner)


def _clips(editor) -> list[tl.VideoClip]:
    editor.refresh_from_db()
    return tl.parse(editor.current.timeline).tracks.video


def test_it_offers_to_open_the_editor_and_opens_it(client, owner, project, segments):
    login(client, owner)
    page = client.get(reverse("project_edit", args=[project.pk])).content.decode()
    assert "Open the editor" in page and "3 approved segments" in page
    response = client.post(reverse("edit_open", args=[project.pk]), headers=HX)
    assert response.status_code == 200 and "data-video-lane" in response.content.decode()
    assert EditorProject.objects.get(project=project).current.number == 1


def test_it_draws_clips_in_proportion_with_a_ruler(client, teammate, project, editor):
    login(client, teammate)
    page = client.get(reverse("project_edit", args=[project.pk]) + "?zoom=40").content.decode()
    assert page.count('class="ed-clip video') == 3
    assert "width: 80.0px; margin-left: -0.0px" in page, "2 s at 40 px per second"
    assert "width: 80.0px; margin-left: -20.0px" in page, "the 0.5 s dissolve overlaps its neighbour"
    assert page.count('class="tick') == 6 and ">5s<" in page, "a tick a second over 5 s"
    assert 'aria-label="Clip 1: scene 1 shot 1, 2.00 seconds"' in page


def test_it_applies_an_edit_and_shows_the_clip(client, owner, project, editor):
    login(client, owner)
    clip = _clips(editor)[1]
    data = {"op": "trim", "clip": clip.id, "in": "0.2", "out": "1.6", "base": "1"}
    response = client.post(reverse("edit_op", args=[project.pk]), data, headers=HX)
    body = response.content.decode()
    assert response.status_code == 200 and "Trimmed a clip (revision 2)" in body
    assert 'id="trim-in" name="in" value="0.20"' in body, "the clip stays selected in the inspector"
    assert "#t=0.200,1.600" in body, "the player plays the trimmed range"
    assert (_clips(editor)[1].start, _clips(editor)[1].end) == (0.2, 1.6)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"op": "trim", "in": "-1", "out": "1"}, "cannot be negative"),
        ({"op": "trim", "in": "x", "out": "1"}, "In must be a number of seconds"),
        ({"op": "trim", "in": "0", "out": "7"}, "past the end of its video"),
        ({"op": "split", "at": "0.1"}, "half a second"),
        ({"op": "transition", "kind": "dissolve", "length": "3"}, "0.1 to 2.5 seconds"),
        ({"op": "text_add", "text": "", "start": "0", "duration": "2"}, "at least 1 character"),
        ({"op": "text_add", "text": "Hi", "start": "0", "duration": "2", "position": "left"}, "Input should be"),
        ({"op": "explode"}, "Unknown edit"),
    ],
)
def test_it_refuses_a_bad_edit_with_a_message_and_keeps_the_revision(client, owner, project, editor, data, message):
    login(client, owner)
    clip = _clips(editor)[1]
    response = client.post(reverse("edit_op", args=[project.pk]), {"clip": clip.id, **data}, headers=HX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert TimelineRevision.objects.count() == 1


def test_it_refuses_an_edit_from_a_stale_page(client, owner, project, editor):
    login(client, owner)
    clip = _clips(editor)[0]
    url = reverse("edit_op", args=[project.pk])
    client.post(url, {"op": "trim", "clip": clip.id, "in": "0", "out": "1.5", "base": "1"}, headers=HX)
    stale = client.post(url, {"op": "trim", "clip": clip.id, "in": "0", "out": "1.0", "base": "1"}, headers=HX)
    assert stale.status_code == 422 and "changed in another window" in stale.content.decode()
    assert _clips(editor)[0].end == 1.5


def test_it_undoes_redoes_and_restores_through_the_page(client, owner, project, editor):
    login(client, owner)
    clip = _clips(editor)[0]
    client.post(reverse("edit_op", args=[project.pk]), {"op": "remove", "clip": clip.id}, headers=HX)
    assert len(_clips(editor)) == 2
    undone = client.post(reverse("edit_undo", args=[project.pk]), headers=HX)
    assert "Back at revision 1" in undone.content.decode() and len(_clips(editor)) == 3
    client.post(reverse("edit_redo", args=[project.pk]), headers=HX)
    assert len(_clips(editor)) == 2
    nothing = client.post(reverse("edit_redo", args=[project.pk]), headers=HX)
    assert nothing.status_code == 422 and "Nothing to redo" in nothing.content.decode()
    first = TimelineRevision.objects.get(number=1)
    client.post(reverse("revision_restore", args=[project.pk, first.pk]), headers=HX)
    assert len(_clips(editor)) == 3 and editor.current.number == 3


def test_it_queues_a_preview_and_an_export(client, owner, project, editor):
    login(client, owner)
    url = reverse("edit_render", args=[project.pk])
    preview = client.post(url, {"purpose": "preview"}, headers=HX)
    assert preview.status_code == 200 and 'id="render-status-preview"' in preview.content.decode()
    bad = client.post(url, {"purpose": "export", "fps": "60", "quality": "standard"}, headers=HX)
    assert bad.status_code == 422 and "a frame rate (24, 25, 30)" in bad.content.decode()
    client.post(url, {"purpose": "export", "fps": "25", "quality": "high", "aspect_ratio": "1:1"}, headers=HX)
    export = CompileJob.objects.get(purpose="export")
    assert export.options == {"fps": 25, "quality": "high", "revision": 1} and export.aspect_ratio == "1:1"
    status = client.get(reverse("render_status", args=[project.pk, export.pk]))
    assert "every 1s" in status.content.decode()
    cancel = client.post(reverse("compile_cancel", args=[project.pk, export.pk]), headers=HX)
    assert 'id="render-status-export"' in cancel.content.decode()


def test_it_downloads_the_timeline_for_other_editors(client, teammate, project, editor):
    login(client, teammate)
    response = client.get(reverse("interchange_zip", args=[project.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        names = archive.namelist()
    assert any(n.endswith(".otio") for n in names) and any(n.endswith(".edl") for n in names)


def test_it_keeps_outsiders_and_viewers_out(client, outsider, viewer, project, editor):
    login(client, outsider)
    assert client.get(reverse("project_edit", args=[project.pk])).status_code == 404
    assert client.get(reverse("interchange_zip", args=[project.pk])).status_code == 404
    login(client, viewer)
    page = client.get(reverse("project_edit", args=[project.pk]))
    assert page.status_code == 200
    clip = _clips(editor)[0]
    response = client.post(reverse("edit_op", args=[project.pk]), {"op": "remove", "clip": clip.id})
    assert response.status_code == 403 and len(_clips(editor)) == 3


def test_it_keeps_working_when_a_clips_shot_is_deleted(client, owner, project, editor, segments):
    login(client, owner)
    segments[1].shot.delete()
    page = client.get(reverse("project_edit", args=[project.pk]))
    assert page.status_code == 200 and "missing media" in page.content.decode()
    missing = _clips(editor)[1]
    selected = client.get(reverse("project_edit", args=[project.pk]) + f"?clip={missing.id}").content.decode()
    assert "Its video was deleted with its shot or scene" in selected
    render = client.post(reverse("edit_render", args=[project.pk]), {"purpose": "preview"}, headers=HX)
    assert render.status_code == 422 and "media that does not exist" in render.content.decode()
    client.post(reverse("edit_op", args=[project.pk]), {"op": "remove", "clip": missing.id}, headers=HX)
    assert len(_clips(editor)) == 2


def test_it_swaps_only_for_approved_versions_and_splits_halfway_by_default(
    client, owner, project, editor, segments, raw_clips
):
    from storyboard.models import ApprovalStatus
    from tests.factories import make_segment

    approved = make_segment(
        segments[0].shot,
        version=2,
        data=raw_clips[1],
        duration=2.0,
        is_current=False,
        approval_status=ApprovalStatus.APPROVED,
    )
    rejected = make_segment(
        segments[0].shot,
        version=3,
        data=raw_clips[1],
        duration=2.0,
        is_current=False,
        approval_status=ApprovalStatus.REJECTED,
    )
    login(client, owner)
    clip = _clips(editor)[0]
    page = client.get(reverse("project_edit", args=[project.pk]) + f"?clip={clip.id}").content.decode()
    assert f'<option value="{approved.pk}"' in page and f'<option value="{rejected.pk}"' not in page
    assert 'id="split-at" name="at" value="1.00"' in page
    url = reverse("edit_op", args=[project.pk])
    refused = client.post(url, {"op": "swap", "clip": clip.id, "segment": rejected.pk}, headers=HX)
    assert refused.status_code == 404
    client.post(url, {"op": "swap", "clip": clip.id, "segment": approved.pk}, headers=HX)
    assert _clips(editor)[0].segment == approved.pk


def test_it_refuses_an_undo_from_a_stale_page(client, owner, project, editor):
    login(client, owner)
    clip = _clips(editor)[0]
    client.post(
        reverse("edit_op", args=[project.pk]), {"op": "trim", "clip": clip.id, "in": "0", "out": "1.5"}, headers=HX
    )
    stale = client.post(reverse("edit_undo", args=[project.pk]), {"base": "1"}, headers=HX)
    assert stale.status_code == 422 and "changed in another window" in stale.content.decode()
    assert _clips(editor)[0].end == 1.5
    fresh = client.post(reverse("edit_undo", args=[project.pk]), {"base": "2"}, headers=HX)
    assert fresh.status_code == 200 and _clips(editor)[0].end == 2.0


def test_it_sets_a_clips_volume_and_fades_from_the_inspector(client, owner, project, segments):
    from tests.editor.conftest import run_audio

    run_audio(services.music_request(project=project, user=owner))
    editor = services.editor_open(project=project, user=owner)
    login(client, owner)
    music = tl.parse(editor.current.timeline).tracks.music[0]
    page = client.get(reverse("project_edit", args=[project.pk]) + f"?clip={music.id}").content.decode()
    assert 'id="audio-volume" name="volume" value="35"' in page and "Duck the music under the voice" in page
    data = {"op": "audio", "clip": music.id, "volume": "60", "fade_in": "0.5", "fade_out": "1"}
    client.post(reverse("edit_op", args=[project.pk]), data, headers=HX)
    client.post(reverse("edit_op", args=[project.pk]), {"op": "duck", "clip": music.id}, headers=HX)
    editor.refresh_from_db()
    timeline = tl.parse(editor.current.timeline)
    assert (timeline.tracks.music[0].volume, timeline.tracks.music[0].fade_in) == (0.6, 0.5)
    assert timeline.duck_music is False
