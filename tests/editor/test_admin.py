import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from editor import services
from editor.models import CompileJob, CompileStatus
from tests.factories import make_editor_objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    return client


def test_it_registers_and_renders_every_editor_model(staff_client, project, owner):
    make_editor_objects(project, owner)
    services.sound_settings_update(project=project, voice="deep", music_mood="", music_volume=30, duck_music=False)
    for model in apps.get_app_config("editor").get_models():
        assert model in admin.site._registry, model
        info = (model._meta.app_label, model._meta.model_name)
        assert staff_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "a"}).status_code == 200
        obj = model.objects.first()
        assert staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200


def test_it_cancels_compiles_from_the_console(staff_client, project, owner):
    job = CompileJob.objects.create(project=project, created_by=owner, aspect_ratio="16:9", segment_ids=[1])
    url = reverse("admin:editor_compilejob_changelist")
    response = staff_client.post(url, {"action": "cancel", "_selected_action": [job.pk]}, follow=True)
    assert "Asked 1 compile(s) to stop." in response.content.decode()
    job.refresh_from_db()
    assert job.status == CompileStatus.CANCELED
