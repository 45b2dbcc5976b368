"""Quick mode: prompt and questions, a storyboard of one image per scene, every clip at once, compile, the editor."""

import re
from datetime import timedelta
from decimal import Decimal

import av
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from editor import live_fragments
from editor import services as editor_services
from editor.models import CompileStatus, EditorProject, FinalVideo
from generation.models import Job, JobStatus
from generation.providers.base import RemoteState
from generation.services import apply_remote_state, job_fail, job_run
from projects import services
from projects.models import ProjectStatus, Scene, VideoClip, WorkflowVersion
from projects.signals import quick_clips_ready
from storyboard.models import ApprovalStatus, VideoSegment
from tests.conftest import login
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def quick(team, owner):
    return services.project_create(
        team=team,
        user=owner,
        title="Quick Tokyo",
        prompt="A cinematic journey through Tokyo",
        workflow_version=WorkflowVersion.V1_LEGACY,
        target_duration=10,
    )


def _url(name: str, project, *args) -> str:
    return reverse(name, args=[project.pk, *args])


def _run_queued(project) -> list[Job]:
    jobs = list(Job.objects.filter(project=project, status=JobStatus.QUEUED).order_by("pk"))
    for job in jobs:
        job_run(job_id=job.pk)
    return jobs


def _confirmed(client, project) -> dict:
    """What the cost dialog posts when the user confirms it."""
    dialog = client.get(_url("quick_clips_estimate", project), **HX).content.decode()
    return dict(re.findall(r'type="hidden" name="(expected_total|scenes)" value="([^"]*)"', dialog))


@pytest.fixture
def storyboard(client, owner, quick):
    """The quick project with its storyboard drafted and every image drawn (through the pages)."""
    login(client, owner)
    client.post(_url("quick_storyboard", quick), **HX)
    _run_queued(quick)  # the script, which queues one image per scene
    _run_queued(quick)  # the images
    quick.refresh_from_db()
    return quick


def test_it_offers_both_modes_and_opens_a_quick_project_on_its_storyboard(client, owner, team):
    login(client, owner)
    page = client.get(reverse("project_new")).content.decode()
    assert "Director" in page and "Quick" in page and "one image per scene" in page
    response = client.post(
        reverse("project_new"),
        {
            "title": "Fast one",
            "prompt": "Tokyo at night",
            "workflow_version": "v1_legacy",
            "aspect_ratio": "16:9",
            "target_duration": 20,
        },
    )
    project = owner.memberships.get().team.projects.get()
    assert project.is_quick and project.status == ProjectStatus.INPUT
    assert response["Location"] == _url("project_quick", project)
    page = client.get(response["Location"]).content.decode()
    assert "Draft the storyboard" in page and "Ask me questions first" in page
    assert _url("project_quick", project) in page and _url("project_edit", project) in page  # its two stages
    assert _url("project_iterate", project) not in page


def test_it_asks_questions_and_drafts_the_storyboard_from_the_answers(client, owner, quick):
    login(client, owner)
    response = client.post(_url("quick_questions", quick), **HX)
    assert response.status_code == 200 and "Thinking of questions" in response.content.decode()
    _run_queued(quick)
    question = quick.questions.order_by("order").first()
    page = client.get(_url("project_quick", quick)).content.decode()
    assert question.question in page
    drafting = client.post(_url("quick_storyboard", quick), {f"answer-{question.pk}": "Night owls"}, **HX)
    assert "Drafting scenes from your idea" in drafting.content.decode()
    assert 'id="project-status" hx-swap-oob="true">Generating storyboard<' in drafting.content.decode()
    question.refresh_from_db()
    quick.refresh_from_db()
    assert question.answer == "Night owls" and quick.status == ProjectStatus.GENERATING_STORYBOARD
    (script,) = _run_queued(quick)
    assert script.input["answers"] == [{"question": question.question, "answer": "Night owls"}]
    quick.refresh_from_db()
    scenes = list(quick.legacy_scenes.order_by("scene_number"))
    assert quick.status == ProjectStatus.STORYBOARD and len(scenes) >= 2
    assert not quick.scenes.exists(), "Quick mode keeps to the v1 tables until it compiles"
    images = _run_queued(quick)
    assert sorted(j.target_id for j in images) == sorted(s.pk for s in scenes), "one image per scene"
    page = client.get(_url("project_quick", quick)).content.decode()
    assert all(_url("v1_scene_image_file", quick, s.pk) in page for s in scenes)
    assert 'id="generate-clips"' in page and "disabled" not in page.split('id="generate-clips"')[1].split(">")[0]


def test_it_edits_reorders_and_redraws_scenes(client, storyboard, worker, django_capture_on_commit_callbacks):
    first, second = storyboard.legacy_scenes.order_by("scene_number")[:2]
    url = _url("quick_scene_update", storyboard, first.pk)
    bad = client.post(url, {f"scene-{first.pk}-description": "x", f"scene-{first.pk}-duration": "90"}, **HX)
    assert bad.status_code == 422
    assert "A scene lasts 1 to 60 seconds." in bad.content.decode() and "in a few words" in bad.content.decode()
    first.refresh_from_db()
    assert first.duration != Decimal("90"), "nothing saved from a bad form"
    ok = client.post(
        url, {f"scene-{first.pk}-description": "Dawn over the bay", f"scene-{first.pk}-duration": "8.5"}, **HX
    )
    assert ok.status_code == 200 and "Saved" in ok.content.decode()
    assert "Drawn from the earlier text" in ok.content.decode(), "the image no longer matches the words"
    first.refresh_from_db()
    assert (first.description, first.duration) == ("Dawn over the bay", Decimal("8.5"))

    ids = list(storyboard.legacy_scenes.order_by("scene_number").values_list("pk", flat=True))
    new_order = [ids[1], ids[0], *ids[2:]]
    client.post(_url("quick_scenes_reorder", storyboard), {"ids": ",".join(map(str, new_order))}, **HX)
    assert list(storyboard.legacy_scenes.order_by("scene_number").values_list("pk", flat=True)) == new_order
    assert client.post(_url("quick_scenes_reorder", storyboard), {"ids": str(ids[0])}, **HX).status_code == 422
    client.post(_url("quick_scene_move", storyboard, first.pk), {"direction": "up"}, **HX)
    assert storyboard.legacy_scenes.order_by("scene_number").first().pk == first.pk

    old_image = Scene.objects.get(pk=second.pk).image.name
    client.post(_url("quick_scene_regenerate", storyboard, second.pk), **HX)
    client.post(_url("quick_scene_regenerate", storyboard, second.pk), **HX)  # a double click: one job
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "Drawing a new image" in page and Scene.objects.get(pk=second.pk).image.name == old_image
    with django_capture_on_commit_callbacks(execute=True):
        (job,) = _run_queued(storyboard)
    assert job.target_id == second.pk and Scene.objects.get(pk=second.pk).image.name != old_image
    wait_for(lambda: not default_storage.exists(old_image), message="the replaced image is deleted")


def test_it_makes_every_clip_at_the_price_shown_then_compiles_and_opens_the_editor(client, owner, storyboard):
    scenes = list(storyboard.legacy_scenes.order_by("scene_number"))
    dialog = client.get(_url("quick_clips_estimate", storyboard), **HX).content.decode()
    assert f"Make {len(scenes)} clips?" in dialog and 'name="expected_total"' in dialog
    confirmed = _confirmed(client, storyboard)
    changed = client.post(_url("quick_clips", storyboard), {**confirmed, "expected_total": "123.45"}, **HX)
    assert changed.status_code == 422 and "since you looked. Nothing was spent." in changed.content.decode()
    fewer = client.post(_url("quick_clips", storyboard), {**confirmed, "scenes": str(scenes[0].pk)}, **HX)
    assert fewer.status_code == 422 and "The scenes to animate changed" in fewer.content.decode()
    assert not VideoClip.objects.exists()
    client.post(_url("quick_clips", storyboard), confirmed, **HX)
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.GENERATING_VIDEO
    jobs = list(Job.objects.filter(project=storyboard, capability="video", status=JobStatus.QUEUED))
    assert len(jobs) == len(scenes) == VideoClip.objects.count(), "every clip at once"

    ready = []
    quick_clips_ready.connect(lambda sender, project, **kw: ready.append(project.pk), weak=False, dispatch_uid="t")
    try:
        for n, job in enumerate(jobs, start=1):
            job_run(job_id=job.pk)
            assert len(ready) == (1 if n == len(jobs) else 0), "the compile starts once, after the last clip"
    finally:
        quick_clips_ready.disconnect(dispatch_uid="t")
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert page.count("<video") == len(scenes)

    compile_job = editor_services.quick_compile(project_id=storyboard.pk)
    assert editor_services.quick_compile(project_id=storyboard.pk) is None, "a second message does nothing"
    storyboard.refresh_from_db()
    assert storyboard.is_quick and storyboard.status == ProjectStatus.EDITOR
    segments = VideoSegment.objects.filter(project=storyboard, is_current=True)
    assert segments.count() == len(scenes) and all(s.approval_status == ApprovalStatus.APPROVED for s in segments)
    assert EditorProject.objects.get(project=storyboard).current_id, "the editor is open"
    polling = client.get(_url("project_quick", storyboard) + "?part=board&follow=1", **HX)
    assert "HX-Redirect" not in polling and "Putting the clips together" in polling.content.decode()

    editor_services.compile_run(job_id=compile_job.pk)
    compile_job.refresh_from_db()
    assert compile_job.status == CompileStatus.SUCCEEDED
    final = FinalVideo.objects.get(project=storyboard)
    with storyboard_file(final) as container:
        assert container.streams.video and container.duration / av.time_base == pytest.approx(final.duration, abs=0.1)
    done = client.get(_url("project_quick", storyboard) + "?part=board&follow=1", **HX)
    assert done["HX-Redirect"] == _url("project_edit", storyboard)
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "Open the editor" in page and "Download MP4" in page
    assert client.get(_url("project_edit", storyboard)).status_code == 200

    # Converting it later keeps what Quick mode made, and the migration has nothing left to do.
    client.post(_url("quick_convert", storyboard))
    storyboard.refresh_from_db()
    assert storyboard.workflow_version == WorkflowVersion.V2_REDESIGN
    assert storyboard.status == ProjectStatus.ANIMATION_COMPLETE and storyboard.scenes.count() == len(scenes)
    call_command("migrate_legacy_projects")
    assert storyboard.scenes.count() == len(scenes)


def storyboard_file(final: FinalVideo):
    return av.open(final.video.path)


def test_it_retries_only_the_clips_that_failed(client, storyboard):
    client.post(_url("quick_clips", storyboard), _confirmed(client, storyboard), **HX)
    first, *rest = Job.objects.filter(project=storyboard, capability="video").order_by("pk")
    job_fail(job=first, error="The provider is overloaded.")
    for job in rest:
        job_run(job_id=job.pk)
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.GENERATING_VIDEO
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "1 clip failed" in page and "Retry failed clips" in page
    estimate = services.quick_clips_estimate(project=storyboard)
    assert [s.pk for s in estimate.scenes] == [first.target.scene_id]
    client.post(_url("quick_clips", storyboard), _confirmed(client, storyboard), **HX)
    assert VideoClip.objects.filter(scene_id=first.target.scene_id).count() == 2
    assert VideoClip.objects.count() == storyboard.legacy_scenes.count() + 1


def test_it_refuses_clips_before_every_image_is_drawn(client, owner, quick):
    login(client, owner)
    client.post(_url("quick_storyboard", quick), **HX)
    _run_queued(quick)  # the script only: the images are still queued
    response = client.post(_url("quick_clips", quick), {"expected_total": "0", "scenes": "1"}, **HX)
    assert response.status_code == 422 and "has no finished image yet" in response.content.decode()
    assert not VideoClip.objects.exists()


def test_it_keeps_quick_pages_to_quick_projects_and_to_the_team(client, owner, outsider, viewer, project, quick):
    login(client, owner)
    assert client.get(_url("project_quick", project))["Location"] == _url("project_detail", project)
    assert client.post(_url("quick_storyboard", project)).status_code == 404
    client.force_login(outsider)
    assert client.get(_url("project_quick", quick)).status_code == 404
    client.force_login(viewer)
    assert client.get(_url("project_quick", quick)).status_code == 200
    assert client.post(_url("quick_storyboard", quick)).status_code == 403


def _clips_requested(client, project) -> list[Job]:
    client.post(_url("quick_clips", project), _confirmed(client, project), **HX)
    return list(Job.objects.filter(project=project, capability="video").order_by("pk"))


def test_it_keeps_the_answers_when_the_storyboard_is_redrafted(client, owner, quick):
    login(client, owner)
    client.post(_url("quick_questions", quick), **HX)
    _run_queued(quick)
    question = quick.questions.order_by("order").first()
    client.post(_url("quick_storyboard", quick), {f"answer-{question.pk}": "Night owls"}, **HX)
    _run_queued(quick)
    _run_queued(quick)
    client.post(_url("quick_storyboard", quick), **HX)  # "Redraft storyboard" posts no answers
    question.refresh_from_db()
    redraft = Job.objects.filter(project=quick, capability="text", input__task="script").latest("pk")
    assert question.answer == "Night owls"
    assert redraft.input["answers"] == [{"question": question.question, "answer": "Night owls"}]


def test_it_gives_the_storyboard_back_when_a_redraft_fails(client, storyboard):
    scenes = list(storyboard.legacy_scenes.values_list("pk", flat=True))
    client.post(_url("quick_storyboard", storyboard), **HX)
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.GENERATING_STORYBOARD
    draft = Job.objects.filter(project=storyboard, capability="text", status=JobStatus.QUEUED).get()
    job_fail(job=draft, error="The model is down.")
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.STORYBOARD
    assert list(storyboard.legacy_scenes.values_list("pk", flat=True)) == scenes
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "The redraft didn't work." in page and "The model is down." in page and 'id="generate-clips"' in page


def test_it_saves_what_was_typed_before_drawing_a_new_image(client, storyboard):
    scene = storyboard.legacy_scenes.order_by("scene_number").first()
    fields = {f"scene-{scene.pk}-description": "A red lantern in the rain", f"scene-{scene.pk}-duration": "5"}
    response = client.post(_url("quick_scene_regenerate", storyboard, scene.pk), fields, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and f'id="quick-scene-{scene.pk}"' in html
    assert 'id="quick-board"' not in html, "only this scene's card: the others keep what is typed in them"
    assert re.search(r'id="quick-actions"[^>]*hx-swap-oob="true"', html) and "Drawing 1 image" in html
    scene.refresh_from_db()
    assert scene.description == "A red lantern in the rain" and scene.image_prompt == scene.description
    job = Job.objects.get(project=storyboard, capability="image", status=JobStatus.QUEUED)
    assert "red lantern" in job.input["prompt"] and "Drawn from the earlier text" not in html

    before = Scene.objects.get(pk=scene.pk).updated_at
    same = client.post(_url("quick_scene_update", storyboard, scene.pk), fields, **HX)
    assert same.status_code == 200 and Scene.objects.get(pk=scene.pk).updated_at == before, "no change, no save"


def test_it_goes_back_to_the_storyboard_and_remakes_only_what_changed(client, storyboard):
    first, *rest = _clips_requested(client, storyboard)
    job_fail(job=first, error="Overloaded.")
    for job in rest:
        job_run(job_id=job.pk)
    response = client.post(_url("quick_reopen", storyboard), **HX)
    assert "Back on the storyboard" in response.content.decode()
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.STORYBOARD
    kept = rest[0].target.scene
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "Clip ready" in page
    fields = {f"scene-{kept.pk}-description": "Rain on the river", f"scene-{kept.pk}-duration": str(kept.duration)}
    card = client.post(_url("quick_scene_update", storyboard, kept.pk), fields, **HX).content.decode()
    assert "Clip out of date" in card
    estimate = services.quick_clips_estimate(project=storyboard)
    assert {s.pk for s in estimate.scenes} == {first.target.scene_id, kept.pk}


def test_it_marks_a_clip_failed_when_the_provider_cancels_it(client, storyboard):
    first, *_ = _clips_requested(client, storyboard)
    apply_remote_state(job_id=first.pk, state=RemoteState(status=JobStatus.CANCELED, error="Canceled at Replicate."))
    assert VideoClip.objects.get(pk=first.target_id).status == "failed"
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "1 clip failed" in page and "Retry failed clips" in page


def test_it_offers_to_compile_when_the_compile_never_started(client, storyboard):
    for job in _clips_requested(client, storyboard):
        job_run(job_id=job.pk)
    assert "Compile now" not in client.get(_url("project_quick", storyboard)).content.decode()
    VideoClip.objects.update(updated_at=timezone.now() - timedelta(minutes=2))  # its message was lost
    assert "the compile has not started" in client.get(_url("project_quick", storyboard)).content.decode()
    client.post(_url("quick_compile_now", storyboard), **HX)
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.EDITOR and storyboard.compile_jobs.count() == 1


def test_it_says_why_a_compile_could_not_start(client, storyboard):
    for job in _clips_requested(client, storyboard):
        job_run(job_id=job.pk)
    VideoClip.objects.update(duration=Decimal("0.2"))  # too short to be compiled
    editor_services.quick_compile(project_id=storyboard.pk)
    storyboard.refresh_from_db()
    assert storyboard.status == ProjectStatus.EDITOR
    page = client.get(_url("project_quick", storyboard)).content.decode()
    assert "The compile failed." in page and "Compile again" in page


def test_it_does_not_convert_a_quick_project_while_it_generates(client, storyboard, capsys):
    _clips_requested(client, storyboard)
    response = client.post(_url("quick_convert", storyboard), **HX)
    assert response.status_code == 422 and "Not yet" in response.content.decode()
    call_command("migrate_legacy_projects")
    assert "is left as it is for now" in capsys.readouterr().out
    storyboard.refresh_from_db()
    assert storyboard.is_quick and not storyboard.scenes.exists()


def test_it_pushes_a_refresh_to_open_pages_not_a_board(client, storyboard, project):
    first, *_ = _clips_requested(client, storyboard)
    job_run(job_id=first.pk)
    first.refresh_from_db()
    pushed = live_fragments.quick_clip_fragments(first.target, first)
    assert set(pushed) == {"quick-refresh"}
    assert 'hx-trigger="load' in pushed["quick-refresh"] and "?part=board" in pushed["quick-refresh"]
    assert "<textarea" not in pushed["quick-refresh"], "each page fetches its own board, with its user's role"
    director_job = Job.objects.create(
        team=project.team, project=project, capability="text", input={"task": "brief"}, idempotency_key="d"
    )
    assert "quick-refresh" not in live_fragments.project_fragments(project, director_job)
