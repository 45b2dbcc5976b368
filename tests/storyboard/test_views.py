"""The Storyboard and Review pages, their forms, and segment media over HTTP."""

from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from generation.models import AIModel, Job
from storyboard import services
from storyboard.models import ApprovalStatus, ShotAnimation, VideoSegment
from tests.factories import make_segment
from tests.storyboard.conftest import run_segment, with_masters

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_it_shows_every_scene_with_masters_progress_and_missing_masters(owner_client, project):
    shots = with_masters(project, shots=2)
    from projects import services as project_services

    project_services.shot_create(scene=shots[0].scene, description="A shot with no master")
    html = _html(owner_client.get(reverse("project_storyboard", args=[project.pk])))
    assert "2 / 3" in html and "(66.7%)" in html  # the seed's selection progress
    assert html.count("No master image") >= 1 and "Choose one in Iterate" in html
    assert html.count('name="shot"') == 3 and html.count("disabled data-shot-box") == 1


def test_it_shows_an_empty_state_before_the_script(owner_client, project):
    html = _html(owner_client.get(reverse("project_storyboard", args=[project.pk])))
    assert "No scenes yet" in html
    assert "Nothing to review yet" in _html(owner_client.get(reverse("project_review", args=[project.pk])))


def test_it_shows_the_cost_and_asks_before_spending(owner_client, project, settings):
    settings.REPLICATE_API_TOKEN = "r8-test"
    shots = with_masters(project, shots=2)
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    url = reverse("shot_animation", args=[project.pk, shots[0].pk])
    response = owner_client.post(
        url,
        {"ai_model": wan.pk, "duration": 10, "motion_prompt": "slow push in", "seed": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "Saved" in _html(response)
    assert ShotAnimation.objects.get(shot=shots[0]).ai_model == wan

    query = f"?shot={shots[0].pk}&shot={shots[1].pk}"
    confirm = owner_client.get(reverse("animate_estimate", args=[project.pk]) + query, headers={"HX-Request": "true"})
    html = _html(confirm)
    # The chosen model for 10 s, and the default (Replicate, as a token is set) for 5 s.
    # Wan 2.5 at 720p costs $0.10 a second.
    assert "Animate 2 shots?" in html and "$1.00" in html and "$0.50" in html and "Spend $1.50 and animate" in html
    assert not VideoSegment.objects.exists() and not Job.objects.exists()

    spent = owner_client.post(
        reverse("animate", args=[project.pk]),
        {"shot": [shots[0].pk, shots[1].pk], "expected_total": "1.50"},
        headers={"HX-Request": "true"},
    )
    assert spent.status_code == 200 and "Animating 2 shots" in _html(spent)
    assert VideoSegment.objects.count() == 2
    assert Job.objects.get(target_id=VideoSegment.objects.get(shot=shots[0]).pk).model_id == "wan-video/wan-2.5-i2v"


def test_it_shows_the_new_price_when_it_changed_since_the_confirmation(owner_client, project):
    shots = with_masters(project, shots=1)
    response = owner_client.post(
        reverse("animate", args=[project.pk]),
        {"shot": [shots[0].pk], "expected_total": "3.00"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "The cost changed from $3.00 to $0.00" in _html(response) and "Animate (free)" in _html(response)
    # The dialog goes back into its slot; the board stays.
    assert response["HX-Retarget"] == "#confirm-slot" and response["HX-Reswap"] == "innerHTML"
    assert not VideoSegment.objects.exists()


def test_it_refuses_bad_animation_settings_with_a_message(owner_client, project):
    (shot,) = with_masters(project, shots=1)
    url = reverse("shot_animation", args=[project.pk, shot.pk])
    response = owner_client.post(url, {"duration": 7, "seed": -1}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = _html(response)
    assert "Select a valid choice" in html and "greater than or equal to 0" in html
    assert not ShotAnimation.objects.exists()
    response = owner_client.post(url, {"duration": 5, "ai_model": 99999}, headers={"HX-Request": "true"})
    assert "That model is not available here" in _html(response)


def test_it_refuses_an_empty_selection(owner_client, project):
    with_masters(project, shots=1)
    response = owner_client.get(reverse("animate_estimate", args=[project.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 422 and "Choose at least one shot" in _html(response)
    assert response["HX-Retarget"] == "#confirm-slot" and 'id="board"' not in _html(response)


def test_it_works_without_javascript(owner_client, project):
    (shot,) = with_masters(project, shots=1)
    page = owner_client.get(reverse("animate_estimate", args=[project.pk]) + f"?shot={shot.pk}")
    assert "<dialog" in _html(page) and " open>" in _html(page) and "hx-post" not in _html(page)
    response = owner_client.post(reverse("animate", args=[project.pk]), {"shot": [shot.pk], "expected_total": "0"})
    assert response.status_code == 302 and VideoSegment.objects.count() == 1


def test_it_saves_generation_settings(owner_client, project):
    url = reverse("review_settings", args=[project.pk])
    assert owner_client.post(url, {"mode": "sequential", "batch_size": 0}).status_code == 422
    assert owner_client.post(url, {"mode": "sequential", "batch_size": 2, "auto_approve": "on"}).status_code == 200
    assert project.review_settings.mode == "sequential" and project.review_settings.auto_approve


@pytest.fixture
def finished(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = services.segments_request(project=project, shots=[shot], user=owner)
    return run_segment(segment)


def test_it_reviews_approve_reject_regenerate_restore(owner_client, project, finished):
    segment = finished
    page = _html(owner_client.get(reverse("review_shot", args=[project.pk, segment.shot_id])))
    assert segment.get_video_url() in page and "1280x720" in page and "Approve" in page

    rejected = owner_client.post(reverse("segment_reject", args=[project.pk, segment.pk]), {"reason": ""})
    assert rejected.status_code == 422 and "Say why you reject it." in _html(rejected)
    owner_client.post(
        reverse("segment_reject", args=[project.pk, segment.pk]), {"reason": "Too fast", "suggested_changes": "slower"}
    )
    segment.refresh_from_db()
    assert segment.approval_status == ApprovalStatus.REJECTED and segment.rejection_reason == "Too fast"

    offline = AIModel.objects.get(model_id="offline/ffmpeg-motion")
    response = owner_client.post(
        reverse("segment_regenerate", args=[project.pk, segment.pk]),
        {"prompt": "slow pan", "seed": 7, "duration": 5, "ai_model": offline.pk, "expected_cost": "0.00"},
    )
    assert response.status_code == 302 and response["Location"].endswith("?version=2")
    v2 = VideoSegment.objects.get(version=2)
    assert v2.parent_id == segment.pk and v2.is_current

    restore = owner_client.post(
        reverse("segment_restore", args=[project.pk, segment.pk]), headers={"HX-Request": "true"}
    )
    assert restore.status_code == 422 and "still being made" in _html(restore)
    run_segment(v2)
    restore = owner_client.post(
        reverse("segment_restore", args=[project.pk, segment.pk]), headers={"HX-Request": "true"}
    )
    assert restore.status_code == 200 and "Restored as the current version." in _html(restore)
    segment.refresh_from_db()
    assert segment.is_current

    approved = owner_client.post(
        reverse("segment_approve", args=[project.pk, segment.pk]),
        {"rating": 5, "feedback": "Lovely"},
        headers={"HX-Request": "true"},
    )
    nav = _html(approved).split('id="shot-nav"')[1]
    assert 'hx-swap-oob="true"' in nav.split(">")[0] and "(approved)" in nav, "the shot list follows"
    segment.refresh_from_db()
    assert segment.approval_status == ApprovalStatus.APPROVED and segment.reviews.filter(rating=5).exists()

    compare = owner_client.get(
        reverse("segment_compare", args=[project.pk, segment.shot_id]) + f"?segment={segment.pk}&segment={v2.pk}"
    )
    html = _html(compare)
    assert compare.status_code == 200 and segment.get_video_url() in html and v2.get_video_url() in html


def test_it_refuses_a_comparison_of_other_shots_versions(owner_client, project, finished):
    other_shot = with_masters(project, shots=1)[0]
    other = make_segment(other_shot)
    url = reverse("segment_compare", args=[project.pk, finished.shot_id])
    assert owner_client.get(url + f"?segment={finished.pk}&segment={other.pk}").status_code == 404
    assert owner_client.get(url + f"?segment={finished.pk}").status_code == 302


def test_it_answers_a_range_request_with_exactly_those_bytes(owner_client, project, finished):
    data = default_storage.open(finished.video.name, "rb").read()
    response = owner_client.get(finished.get_video_url(), headers={"Range": "bytes=100-1099"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert response["Content-Type"] == "video/mp4" and response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == data[100:1100]
    whole = owner_client.get(finished.get_video_url())
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data


def test_it_answers_404_to_outsiders_and_anonymous_users_for_segment_media(client, outsider, project, finished):
    client.force_login(outsider)
    assert client.get(finished.get_video_url(), headers={"Range": "bytes=0-10"}).status_code == 404
    assert client.get(finished.get_thumb_url()).status_code == 404
    assert client.get(reverse("review_shot", args=[project.pk, finished.shot_id])).status_code == 404
    client.logout()
    assert client.get(finished.get_video_url()).status_code == 302  # to the login page


def test_it_redirects_to_a_short_lived_presigned_url_on_s3(owner_client, project, settings):
    (shot,) = with_masters(project, shots=1)
    segment = make_segment(shot)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "videopipe-media",
                "endpoint_url": "https://account.r2.cloudflarestorage.com",
                "access_key": "AKIAEXAMPLE",
                "secret_key": "secret",
                "region_name": "auto",
                "querystring_auth": True,
                "querystring_expire": 600,
            },
        },
    }
    response = owner_client.get(segment.get_video_url())
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://account.r2.cloudflarestorage.com/videopipe-media/")
    assert segment.video.name in location and "X-Amz-Signature=" in location and "X-Amz-Expires=600" in location


def test_it_lets_a_viewer_watch_but_not_act(client, viewer, project, finished):
    client.force_login(viewer)
    page = _html(client.get(reverse("review_shot", args=[project.pk, finished.shot_id])))
    assert finished.get_video_url() in page
    assert client.post(reverse("segment_approve", args=[project.pk, finished.pk])).status_code == 403
    assert client.post(reverse("animate", args=[project.pk]), {"shot": [finished.shot_id]}).status_code == 403


def test_it_keeps_the_storyboard_query_count_flat(owner_client, project, owner):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(reverse("project_storyboard", args=[project.pk])).status_code == 200
        return len(ctx.captured_queries)

    shots = with_masters(project, shots=1)
    make_segment(shots[0])
    small = count()
    more = with_masters(project, scenes=2, shots=3)
    for n, shot in enumerate(more):
        make_segment(shot, version=1, is_current=n % 2 == 0)
    assert count() == small


def test_it_costs_nothing_offline(project, owner):
    (shot,) = with_masters(project, shots=1)
    estimate = services.animation_estimate(project=project, shots=[shot])
    assert estimate.total == Decimal("0") and estimate.lines[0].model.provider == "offline"


def test_it_starts_from_the_chosen_shot_and_leaves_earlier_ones(owner_client, project):
    shots = with_masters(project, shots=3)
    response = owner_client.post(
        reverse("animate", args=[project.pk]),
        {"shot": [s.pk for s in shots], "start_from": shots[1].pk, "expected_total": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert sorted(VideoSegment.objects.values_list("shot_id", flat=True)) == [shots[1].pk, shots[2].pk]


def test_it_renders_the_live_fragments_of_a_segment(project, finished):
    from storyboard.live_fragments import segment_fragments

    fragments = segment_fragments(finished, finished.job)
    assert set(fragments) == {
        f"shot-card-{finished.shot_id}",
        "storyboard-progress",
        f"review-row-{finished.shot_id}",
        f"player-{finished.pk}",
    }
    assert all('hx-swap-oob="true"' in html for html in fragments.values())
    assert finished.get_video_url() in fragments[f"player-{finished.pk}"]


def test_it_polls_a_working_player_until_it_is_done(owner_client, project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = services.segments_request(project=project, shots=[shot], user=owner)
    url = reverse("review_shot", args=[project.pk, shot.pk]) + "?version=1&part=player"
    working = _html(owner_client.get(url, headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 2s"' in working and "Generating" in working
    run_segment(segment)
    done = _html(owner_client.get(url, headers={"HX-Request": "true"}))
    assert "every 2s" not in done and segment.get_video_url() in done and 'hx-trigger="load"' in done


def test_the_cleanup_command_reports_what_it_removes(project, owner, capsys):
    from django.core.management import call_command

    call_command("cleanup_segments", "--dry-run")
    assert "Would remove the files of 0 rejected version(s)" in capsys.readouterr().out
