import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import services
from projects.models import ProjectStatus, Scene, ShotImage, VideoProject, WorkflowVersion
from tests.factories import build_tree

pytestmark = pytest.mark.django_db

VALID = {
    "title": "Tokyo Dreams",
    "prompt": "A cinematic journey through Tokyo",
    "prompt_planner_data": "Neon, rain, a lone cyclist",
    "workflow_version": "v2_redesign",
    "aspect_ratio": "9:16",
    "target_duration": "45",
    "tone": "wistful",
    "audience": "travellers",
    "style": "anamorphic film",
}


def test_it_redirects_anonymous_users_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_an_empty_state_to_a_new_team(owner_client, team):
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert "No projects yet" in html
    assert "Create your first project" in html


def test_it_creates_a_project_from_the_form(owner_client, team):
    response = owner_client.post(reverse("project_new"), VALID)
    project = VideoProject.objects.get()
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert (project.team, project.aspect_ratio, project.target_duration) == (team, "9:16", 45)
    assert project.prompt_planner_data == "Neon, rain, a lone cyclist"
    dashboard = owner_client.get(reverse("dashboard"))
    assert [p.title for p in dashboard.context["page"].object_list] == ["Tokyo Dreams"]
    assert "Created “Tokyo Dreams”." in dashboard.content.decode()


def test_it_creates_a_quick_project(owner_client, team):
    owner_client.post(reverse("project_new"), {**VALID, "workflow_version": "v1_legacy"})
    project = VideoProject.objects.get()
    assert project.workflow_version == WorkflowVersion.V1_LEGACY and project.status == ProjectStatus.INPUT


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "This field is required."),
        ("title", "x" * 121, "at most 120 characters"),
        ("prompt", "   ", "This field is required."),
        ("target_duration", "abc", "Enter a whole number."),
        ("target_duration", "2", "between 5 and 600 seconds"),
        ("aspect_ratio", "4:3", "Select a valid choice."),
        ("workflow_version", "v3", "Select a valid choice."),
    ],
)
def test_it_rejects_bad_input_next_to_the_field(owner_client, team, field, value, message):
    response = owner_client.post(reverse("project_new"), {**VALID, field: value})
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert message in response.content.decode()
    assert not VideoProject.objects.exists()


def test_it_searches_and_filters_the_dashboard(owner_client, team, owner):
    services.project_create(team=team, user=owner, title="Tokyo Dreams", prompt="Neon nights")
    paris = services.project_create(team=team, user=owner, title="Paris", prompt="Cafés at dawn")
    services.project_set_status(project=paris, status=ProjectStatus.SCENES_SETUP)
    titles = lambda r: [p.title for p in r.context["page"].object_list]  # noqa: E731
    assert titles(owner_client.get(reverse("dashboard"), {"q": "neon"})) == ["Tokyo Dreams"]
    assert titles(owner_client.get(reverse("dashboard"), {"status": "scenes_setup"})) == ["Paris"]
    empty = owner_client.get(reverse("dashboard"), {"q": "nothing-like-this"})
    assert "No matching projects" in empty.content.decode()


def test_it_renders_only_the_list_partial_for_htmx(owner_client, project):
    response = owner_client.get(reverse("dashboard"), {"q": "tokyo"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="project-list"')
    assert "<html" not in html and "Tokyo Dreams" in html


def test_it_shows_only_the_current_teams_projects_and_switches(client, owner, team, outsider):
    services.project_create(team=team, user=owner, title="Ours", prompt="x")
    second = services.team_create(name="Side gig", owner=owner)
    services.project_create(team=second, user=owner, title="Side project", prompt="x")
    client.force_login(owner)
    first_titles = [p.title for p in client.get(reverse("dashboard")).context["page"].object_list]
    assert first_titles in (["Ours"], ["Side project"])
    client.post(reverse("team_switch"), {"team": second.pk})
    assert [p.title for p in client.get(reverse("dashboard")).context["page"].object_list] == ["Side project"]
    client.post(reverse("team_switch"), {"team": team.pk})
    assert [p.title for p in client.get(reverse("dashboard")).context["page"].object_list] == ["Ours"]


def test_it_refuses_to_switch_to_a_team_the_user_is_not_in(client, owner, team, outsider):
    client.force_login(owner)
    foreign_team = outsider.memberships.get().team
    assert client.post(reverse("team_switch"), {"team": foreign_team.pk}).status_code == 404
    assert client.post(reverse("team_switch"), {"team": "abc"}).status_code == 400


def test_it_shows_the_overview_with_stage_navigation(owner_client, project):
    build_tree(project, scenes=2, shots=2)
    html = owner_client.get(project.get_absolute_url()).content.decode()
    for stage in ["Plan", "Iterate", "Storyboard", "Review", "Sound", "Compile", "Edit"]:
        assert f"</span>{stage}</a>" in html
    assert "Scene 2" in html and "Shot 2" in html


def test_it_sends_old_stage_links_to_the_stages_page(owner_client, project):
    response = owner_client.get(reverse("project_stage", args=[project.pk, "edit"]))
    assert response.status_code == 302 and response["Location"] == reverse("project_edit", args=[project.pk])
    assert owner_client.get(reverse("project_stage", args=[project.pk, "nope"])).status_code == 404


def test_it_confirms_before_deleting_and_says_what_goes(owner_client, project):
    build_tree(project, scenes=2, shots=3, iterations=1)
    html = owner_client.get(reverse("project_delete", args=[project.pk])).content.decode()
    assert "2 scenes and 6 shots" in html and "36 generated images" in html
    assert VideoProject.objects.filter(pk=project.pk).exists()
    response = owner_client.post(reverse("project_delete", args=[project.pk]))
    assert response.status_code == 302
    assert not VideoProject.objects.filter(pk=project.pk).exists()


def test_it_serves_images_to_members(owner_client, project):
    build_tree(project, scenes=1, shots=1, iterations=1)
    image = ShotImage.objects.first()
    response = owner_client.get(image.get_file_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_it_answers_ranges_with_206_and_exactly_those_bytes(owner_client, project):
    build_tree(project, scenes=1, shots=1, iterations=1)
    image = ShotImage.objects.first()
    data = image.image.open("rb").read()
    image.image.close()
    response = owner_client.get(image.get_file_url(), headers={"Range": "bytes=10-29"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-29/{len(data)}"
    assert b"".join(response.streaming_content) == data[10:30]
    tail = owner_client.get(image.get_file_url(), headers={"Range": "bytes=-5"})
    assert b"".join(tail.streaming_content) == data[-5:]
    bad = owner_client.get(image.get_file_url(), headers={"Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_keeps_the_dashboard_query_count_flat(owner_client, team, owner):
    first = services.project_create(team=team, user=owner, title="One", prompt="x")
    build_tree(first, scenes=1, shots=1, iterations=1)
    small = _queries(owner_client, reverse("dashboard"))
    for n in range(6):
        project = services.project_create(team=team, user=owner, title=f"P{n}", prompt="x")
        build_tree(project, scenes=2, shots=2, iterations=2)
        shot = project.shots.first()
        services.shot_select_master(shot=shot, image=shot.images.first())
    quick = services.project_create(team=team, user=owner, title="Q", prompt="x", workflow_version="v1_legacy")
    Scene.objects.create(project=quick, scene_number=1, description="v1")
    assert _queries(owner_client, reverse("dashboard")) == small


def test_it_keeps_the_overview_query_count_flat(owner_client, team, owner):
    project = services.project_create(team=team, user=owner, title="One", prompt="x")
    build_tree(project, scenes=1, shots=1, iterations=1)
    small = _queries(owner_client, project.get_absolute_url())
    build_tree(project, scenes=4, shots=3, iterations=2)
    for shot in project.shots.all():
        services.shot_select_master(shot=shot, image=shot.images.first())
    assert _queries(owner_client, project.get_absolute_url()) == small
