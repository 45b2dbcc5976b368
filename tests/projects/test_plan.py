"""The Plan stage: autosave, questions, brief, script, and the scenes setup page."""

import pytest
from django.urls import reverse

from generation.models import Job, JobStatus
from projects import services
from projects.models import ClarifyingQuestion, ProjectScene, ProjectStatus, SceneShot, StoryElement
from tests.factories import build_tree
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db

PROMPT = {
    "title": "Tokyo Dreams",
    "prompt": "A cinematic journey through Tokyo",
    "prompt_planner_data": "neon, rain",
    "aspect_ratio": "9:16",
    "target_duration": "40",
    "style_preset": "noir",
}


def test_it_autosaves_the_idea_and_says_when(owner_client, project):
    response = owner_client.post(reverse("plan_autosave", args=[project.pk]), PROMPT, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Saved" in response.content.decode()
    project.refresh_from_db()
    assert (project.aspect_ratio, project.target_duration, project.style_preset) == ("9:16", 40, "noir")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "This field is required."),
        ("title", "x" * 121, "at most 120 characters"),
        ("prompt", "y" * 4001, "at most 4000 characters"),
        ("target_duration", "soon", "Enter a whole number."),
        ("target_duration", "9000", "between 5 and 600 seconds"),
        ("style_preset", "vaporwave", "Select a valid choice."),
    ],
)
def test_a_failed_autosave_says_why_next_to_the_field_and_keeps_the_saved_idea(
    owner_client, project, field, value, message
):
    response = owner_client.post(reverse("plan_autosave", args=[project.pk]), {**PROMPT, field: value})
    html = response.content.decode()
    assert response.status_code == 422
    assert "Not saved" in html and message in html
    assert f'id="id_{field}_errors" class="field-errors" hx-swap-oob="true"' in html
    project.refresh_from_db()
    assert project.title == "Tokyo Dreams" and project.target_duration == 30


def test_the_plan_page_shows_every_section(owner_client, project):
    html = owner_client.get(reverse("project_plan", args=[project.pk])).content.decode()
    for text in ["1. Your idea", "2. Clarifying questions", "3. The brief", "4. The script", "Ask me questions"]:
        assert text in html
    assert 'data-draft-key="videopipe-plan-' in html


def test_questions_come_from_the_text_provider_and_answers_are_stored(
    owner_client, project, owner, broker, worker, transactional_db
):
    owner_client.post(reverse("questions_generate", args=[project.pk]))
    wait_for(lambda: ClarifyingQuestion.objects.filter(project=project).count() >= 3, message="questions")
    questions = list(ClarifyingQuestion.objects.filter(project=project).order_by("order"))
    assert 3 <= len(questions) <= 5 and all(len(q.suggested_answers) >= 2 for q in questions)
    url = reverse("question_answer", args=[project.pk, questions[0].pk])
    owner_client.post(url, {"answer": questions[0].suggested_answers[1]})
    owner_client.post(
        reverse("question_answer", args=[project.pk, questions[1].pk]), {"answer": "x", "answer_text": "Mine"}
    )
    questions[0].refresh_from_db()
    assert questions[0].answer == questions[0].suggested_answers[1]
    assert ClarifyingQuestion.objects.get(pk=questions[1].pk).answer == "Mine"
    too_long = owner_client.post(url, {"answer_text": "z" * 2001})
    assert too_long.status_code == 422 and "at most 2000 characters" in too_long.content.decode()
    # New questions replace the unanswered ones; answers stay.
    owner_client.post(reverse("questions_generate", args=[project.pk]))
    wait_for(lambda: Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 2, message="second questions job")
    answered = ClarifyingQuestion.objects.filter(project=project).exclude(answer="")
    assert set(answered.values_list("answer", flat=True)) == {questions[0].suggested_answers[1], "Mine"}


def test_a_second_click_while_drafting_is_the_same_job(owner_client, project, broker):
    owner_client.post(reverse("script_generate", args=[project.pk]))
    owner_client.post(reverse("script_generate", args=[project.pk]))
    assert Job.objects.filter(capability="text").count() == 1
    html = owner_client.get(reverse("plan_section", args=[project.pk, "script"])).content.decode()
    assert "Drafting scenes and shots" in html and 'hx-trigger="every 2s"' in html


def test_the_brief_and_script_are_drafted_into_the_plan(owner_client, project, owner, broker, worker, transactional_db):
    services.project_update(project=project, style_preset="noir", target_duration=30)
    owner_client.post(reverse("brief_generate", args=[project.pk]))
    wait_for(lambda: StoryElement.objects.filter(project=project).exists(), message="the brief")
    project.refresh_from_db()
    assert project.tone and project.audience and project.key_message
    assert StoryElement.objects.get(project=project, kind="place").name == "Tokyo"
    owner_client.post(reverse("script_generate", args=[project.pk]))
    wait_for(lambda: ProjectScene.objects.filter(project=project).exists(), message="the script")
    project.refresh_from_db()
    assert project.status == ProjectStatus.SCENES_SETUP
    scenes = list(project.scenes.order_by("scene_number"))
    assert [s.scene_number for s in scenes] == list(range(1, len(scenes) + 1))
    assert sum(s.duration for s in scenes) == pytest.approx(30, abs=4)
    shots = SceneShot.objects.filter(project=project)
    assert shots.exists() and all("film noir" in s.initial_prompt and "Tokyo" in s.initial_prompt for s in shots)


def test_saving_the_brief_by_hand_replaces_its_elements(owner_client, project):
    data = {
        "tone": "warm",
        "audience": "travellers",
        "style": "film",
        "pacing": "slow",
        "key_message": "go",
        "el-TOTAL_FORMS": "2",
        "el-INITIAL_FORMS": "0",
        "el-0-kind": "character",
        "el-0-name": "Aiko",
        "el-0-description": "a cyclist in a yellow raincoat",
        "el-1-kind": "place",
        "el-1-name": "",
        "el-1-description": "",
    }
    response = owner_client.post(reverse("brief_save", args=[project.pk]), data)
    assert response.status_code == 200 and "Brief saved" in response.content.decode()
    assert list(StoryElement.objects.values_list("name", "kind")) == [("Aiko", "character")]
    bad = owner_client.post(reverse("brief_save", args=[project.pk]), {**data, "el-0-name": "", "tone": "t" * 201})
    html = bad.content.decode()
    assert bad.status_code == 422 and "This field is required." in html and "at most 200 characters" in html
    assert StoryElement.objects.get().name == "Aiko"


def test_an_invalid_llm_answer_is_retried_then_reported_and_the_plan_is_kept(
    owner_client, project, fake_openai, broker, worker, settings, transactional_db
):
    settings.JOB_MAX_ATTEMPTS = 2
    build_tree(project, scenes=2, shots=1)
    before = list(project.scenes.values_list("pk", "title"))
    fake_openai.answers = ["{not json", '{"scenes": []}']
    owner_client.post(reverse("script_generate", args=[project.pk]))
    job = wait_for(lambda: Job.objects.filter(status=JobStatus.FAILED).first(), message="the draft to fail")
    assert job.provider == "openai" and len(fake_openai.requests) == 2
    assert list(project.scenes.values_list("pk", "title")) == before
    html = owner_client.get(reverse("project_plan", args=[project.pk])).content.decode()
    assert "That didn't work." in html and "not a valid script" in html and "Your earlier plan is unchanged" in html


# Scenes setup ----------------------------------------------------------------


def test_it_adds_scenes_and_shots_and_rejects_bad_input(owner_client, project):
    url = reverse("scene_add", args=[project.pk])
    ok = owner_client.post(
        url, {"new-title": "Opening", "new-duration": "6", "new-description": "", "new-narration": ""}
    )
    assert ok.status_code == 200
    scene = ProjectScene.objects.get()
    assert (scene.title, scene.duration, scene.scene_number) == ("Opening", 6, 1)
    for data, message in [
        ({"new-title": "", "new-duration": "5"}, "This field is required."),
        ({"new-title": "x", "new-duration": "0"}, "A scene lasts 1 to 120 seconds."),
        ({"new-title": "x", "new-duration": "five"}, "Enter a whole number."),
        ({"new-title": "x" * 201, "new-duration": "5"}, "at most 200 characters"),
    ]:
        response = owner_client.post(url, data)
        assert response.status_code == 422 and message in response.content.decode(), data
    shot_url = reverse("shot_add", args=[project.pk, scene.pk])
    prefix = f"new-shot-{scene.pk}"
    bad = owner_client.post(
        shot_url, {f"{prefix}-description": "  ", f"{prefix}-framing": "", f"{prefix}-initial_prompt": ""}
    )
    assert bad.status_code == 422 and "Describe the shot." in bad.content.decode()
    owner_client.post(
        shot_url, {f"{prefix}-description": "Wide", f"{prefix}-framing": "Wide", f"{prefix}-initial_prompt": "Tokyo"}
    )
    assert list(scene.shots.values_list("shot_number", "framing")) == [(1, "Wide")]
    assert ProjectScene.objects.count() == 1


def test_it_edits_moves_and_reorders(owner_client, project):
    shots = build_tree(project, scenes=2, shots=3)
    scene = shots[0].scene
    prefix = f"scene-{scene.pk}"
    owner_client.post(
        reverse("scene_update", args=[project.pk, scene.pk]),
        {
            f"{prefix}-title": "Dawn",
            f"{prefix}-duration": "9",
            f"{prefix}-description": "d",
            f"{prefix}-narration": "n",
        },
    )
    scene.refresh_from_db()
    assert (scene.title, scene.duration, scene.narration) == ("Dawn", 9, "n")
    ids = [s.pk for s in shots[:3]]
    owner_client.post(reverse("shots_reorder", args=[project.pk, scene.pk]), {"ids": ",".join(map(str, ids[::-1]))})
    assert list(scene.shots.order_by("shot_number").values_list("pk", flat=True)) == ids[::-1]
    owner_client.post(reverse("shot_move", args=[project.pk, ids[0]]), {"direction": "up"})
    assert list(scene.shots.order_by("shot_number").values_list("pk", flat=True)) == [ids[2], ids[0], ids[1]]
    other = shots[3].scene
    owner_client.post(reverse("scene_move", args=[project.pk, other.pk]), {"direction": "up"})
    assert list(project.scenes.order_by("scene_number").values_list("pk", flat=True)) == [other.pk, scene.pk]
    for bad in ["1,2", "a,b", f"{ids[0]},{ids[0]},{ids[1]}", ""]:
        response = owner_client.post(reverse("shots_reorder", args=[project.pk, scene.pk]), {"ids": bad})
        assert response.status_code == 422, bad
    assert list(scene.shots.order_by("shot_number").values_list("shot_number", flat=True)) == [1, 2, 3]


def test_deleting_asks_first_and_says_what_goes(owner_client, project):
    shots = build_tree(project, scenes=2, shots=2, iterations=1)
    scene = shots[0].scene
    page = owner_client.get(reverse("scene_delete", args=[project.pk, scene.pk])).content.decode()
    assert "its 2 shots and 12 generated images" in page
    assert ProjectScene.objects.filter(pk=scene.pk).exists()
    shot_page = owner_client.get(reverse("shot_delete", args=[project.pk, shots[2].pk])).content.decode()
    assert "6 generated images" in shot_page
    owner_client.post(reverse("scene_delete", args=[project.pk, scene.pk]))
    assert list(project.scenes.values_list("scene_number", flat=True)) == [1]


def test_redrafting_one_scene_replaces_only_its_shots(owner_client, project, broker, worker, transactional_db):
    shots = build_tree(project, scenes=2, shots=1)
    first, second = shots[0].scene, shots[1].scene
    owner_client.post(reverse("shots_redraft", args=[project.pk, first.pk]))
    wait_for(lambda: Job.objects.filter(status=JobStatus.SUCCEEDED).exists(), message="the redraft")
    assert first.shots.count() == 3 and not first.shots.filter(pk=shots[0].pk).exists()
    assert list(second.shots.values_list("pk", flat=True)) == [shots[1].pk]


def test_moving_on_to_iteration_needs_a_shot(owner_client, project):
    response = owner_client.post(reverse("start_iteration", args=[project.pk]), follow=True)
    assert "Add at least one shot" in response.content.decode()
    build_tree(project, scenes=1, shots=1)
    response = owner_client.post(reverse("start_iteration", args=[project.pk]))
    assert response["Location"] == reverse("project_iterate", args=[project.pk])
    project.refresh_from_db()
    assert project.status == ProjectStatus.SHOT_ITERATION
