import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from projects import services
from projects.models import AuthAttempt, ClarifyingQuestion, Scene, StoryElement, VideoClip
from tests.factories import build_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    return client


def test_it_registers_every_project_model():
    missing = [m.__name__ for m in apps.get_app_config("projects").get_models() if m not in admin.site._registry]
    assert missing == []


def test_it_renders_every_changelist_and_change_page_with_data(staff_client, project):
    shots = build_tree(project, scenes=1, shots=2, iterations=1)
    services.shot_select_master(shot=shots[0], image=shots[0].images.first())
    scene = Scene.objects.create(project=project, scene_number=1, description="v1")
    VideoClip.objects.create(project=project, scene=scene)
    StoryElement.objects.create(project=project, kind="place", name="Tokyo", description="neon streets")
    ClarifyingQuestion.objects.create(
        project=project, order=1, question="Who is it for?", suggested_answers=["Travellers"]
    )
    AuthAttempt.objects.create(kind="login", username="olivia", address="203.0.113.7")
    for model in apps.get_app_config("projects").get_models():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = staff_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "a"})
        assert changelist.status_code == 200, model
        obj = model.objects.first()
        change = staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert change.status_code == 200, model


def test_it_links_a_project_to_its_page_in_the_app(staff_client, project):
    html = staff_client.get(reverse("admin:projects_videoproject_changelist")).content.decode()
    assert f'href="{project.get_absolute_url()}"' in html


def test_it_filters_projects_by_status_and_workflow(staff_client, project, team, owner):
    services.project_create(team=team, user=owner, title="Quick one", prompt="x", workflow_version="v1_legacy")
    response = staff_client.get(
        reverse("admin:projects_videoproject_changelist"), {"workflow_version__exact": "v1_legacy"}
    )
    assert [p.title for p in response.context["cl"].result_list] == ["Quick one"]


def test_it_keeps_non_staff_out_of_the_console(owner_client):
    response = owner_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
