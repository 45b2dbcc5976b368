"""The Compile page, its form and status partial, and the final video page and files, per persona."""

import pytest
from django.urls import reverse

from editor import services
from editor.models import CompileJob, CompileStatus
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _form(segments, *, kinds=None, lengths=None, **extra) -> dict:
    kinds = kinds or ["dissolve"] * len(segments)
    lengths = lengths or ["0.5"] * len(segments)
    return {
        "segment": [s.pk for s in segments],
        "transition": kinds,
        "length": lengths,
        "aspect_ratio": "16:9",
        "captions": "soft",
        "target_lufs": "-14.0",
        "voice": "on",
        "music": "on",
        **extra,
    }


def test_it_lists_approved_segments_in_storyboard_order(client, teammate, project, segments):
    login(client, teammate)
    page = client.get(reverse("project_compile", args=[project.pk])).content.decode()
    positions = [page.index(f'name="segment" value="{s.pk}"') for s in segments]
    assert positions == sorted(positions)
    assert "Slower: 3 segments are still being prepared" in page, "none normalized yet: the page says it is slower"


def test_it_shows_an_empty_state_without_approved_segments(client, owner, project):
    login(client, owner)
    page = client.get(reverse("project_compile", args=[project.pk])).content.decode()
    assert "Nothing to compile yet" in page and 'id="compile-form"' not in page


def test_it_starts_a_compile_in_the_order_and_with_the_joins_given(client, owner, project, segments):
    login(client, owner)
    order = [segments[2], segments[0], segments[1]]
    data = _form(order, kinds=["cut", "wipe", "cut"], lengths=["0", "0.8", "0"], captions="burned")
    response = client.post(reverse("compile_start", args=[project.pk]), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    job = CompileJob.objects.get()
    assert job.segment_ids == [s.pk for s in order]
    assert job.transitions == [{"kind": "wipe", "length": 0.8}, {"kind": "cut", "length": 0}]
    assert (job.captions, job.aspect_ratio, job.render_path) == ("burned", "16:9", "full")
    assert job.audio_config["target_lufs"] == -14.0 and job.audio_config["voice"] is True
    assert 'id="compile-status"' in response.content.decode() and "Cancel compile" in response.content.decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segment": []}, "Choose at least one approved segment"),
        ({"transition": ["cut", "spin", "cut"]}, "unknown transition"),
        ({"length": ["0", "abc", "0"]}, "must be a number of seconds"),
        ({"length": ["0", "9", "0.5"]}, "0.1 to 2.5 seconds"),
        ({"aspect_ratio": "4:3"}, "Select a valid choice"),
        ({"target_lufs": "-9"}, "Select a valid choice"),
    ],
)
def test_it_refuses_a_bad_compile_with_a_message(client, owner, project, segments, change, message):
    login(client, owner)
    data = {**_form(segments), **change}
    response = client.post(reverse("compile_start", args=[project.pk]), data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not CompileJob.objects.exists()


def test_it_polls_and_cancels_a_compile(client, owner, project, segments):
    login(client, owner)
    job = services.compile_request(
        project=project, user=owner, segment_ids=[segments[0].pk], transitions=[], aspect_ratio="16:9"
    )
    status = client.get(reverse("compile_status", args=[project.pk, job.pk]))
    assert status.status_code == 200 and "every 1s" in status.content.decode()
    response = client.post(reverse("compile_cancel", args=[project.pk, job.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Cancelled before it started" in response.content.decode()
    job.refresh_from_db()
    assert job.status == CompileStatus.CANCELED
    again = client.post(reverse("compile_cancel", args=[project.pk, job.pk]), headers={"HX-Request": "true"})
    assert again.status_code == 422 and "already ended" in again.content.decode()


def test_it_shows_the_final_video_with_its_player_and_downloads(client, teammate, owner, project, segments):
    services.segment_normalize(segment_id=segments[0].pk)
    job = services.compile_request(
        project=project, user=owner, segment_ids=[segments[0].pk], transitions=[], aspect_ratio="16:9"
    )
    final = services.compile_run(job_id=job.pk).final_video
    login(client, teammate)
    page = client.get(final.get_absolute_url()).content.decode()
    assert '<video id="final-player"' in page and '<track kind="captions"' in page
    assert "Download MP4" in page and f"${final.total_cost}" in page
    download = client.get(reverse("final_file", args=[project.pk, final.pk, "mp4"]) + "?download=1")
    assert download.status_code == 200 and download["Content-Type"] == "video/mp4"
    assert 'attachment; filename="Tokyo Dreams 16x9.mp4"' in download["Content-Disposition"]
    vtt = client.get(reverse("final_file", args=[project.pk, final.pk, "vtt"]))
    assert b"".join(vtt.streaming_content).startswith(b"WEBVTT")
    assert client.get(reverse("final_file", args=[project.pk, final.pk, "exe"])).status_code == 404
    compile_page = client.get(reverse("project_compile", args=[project.pk])).content.decode()
    assert final.title in compile_page


def test_it_hides_everything_from_outsiders(client, outsider, project, segments):
    login(client, outsider)
    for name in ("project_compile", "project_sound"):
        assert client.get(reverse(name, args=[project.pk])).status_code == 404
    response = client.post(reverse("compile_start", args=[project.pk]), _form(segments))
    assert response.status_code == 404 and not CompileJob.objects.exists()


def test_it_keeps_the_users_order_and_joins_when_it_refuses(client, owner, project, segments):
    login(client, owner)
    order = [segments[1], segments[2], segments[0]]
    data = _form(order, kinds=["cut", "wipe", "fade"], lengths=["0", "1.2", "9"], aspect_ratio="9:16")
    response = client.post(reverse("compile_start", args=[project.pk]), data, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 422
    assert "The transition into segment 3 (Scene 1 · shot 1 (v1)): A transition lasts 0.1 to 2.5 seconds." in body
    positions = [body.index(f'name="segment" value="{s.pk}"') for s in order]
    assert positions == sorted(positions), "the order the user made is kept"
    assert 'value="1.2"' in body and 'value="9"' in body and '<option value="wipe" selected>' in body
    assert '<option value="9:16" selected>' in body
