"""Every URL pattern, walked with another team's ids (404) and as a viewer (403 on changes).

New URL patterns must be added to the tables below, so no view can ship
without being covered here.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from generation.models import Job
from projects import services
from projects.models import ClarifyingQuestion, Membership, Role, Scene, ShotImage, VideoClip
from tests.factories import build_tree, complete, make_editor_objects, make_segment

pytestmark = pytest.mark.django_db

# Patterns without ids: the user's own account and workspace.
# The webhook is not a user's page: it is authenticated by its signature (tests/generation/test_webhooks.py).
SIGNED = {"replicate_webhook"}
GLOBAL = SIGNED | {
    "dashboard",
    "project_new",
    "team_list",
    "team_switch",
    "login",
    "logout",
    "signup",
    "password_change",
    "password_change_done",
}
# Changes a viewer may make: to their own session, or a new team of their own.
VIEWER_MAY_POST = SIGNED | {"team_list", "team_switch", "logout", "login", "signup", "password_change"}


def app_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[URLPattern]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            found.extend(app_patterns(entry))
        elif entry.name:
            found.append(entry)
    return found


@pytest.fixture
def foreign(outsider):
    """A project of the outsider's team with one of everything in it."""
    membership = Membership.objects.get(user=outsider)
    project = services.project_create(team=membership.team, user=outsider, title="Secret", prompt="Theirs")
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    scene = Scene.objects.create(project=project, scene_number=1, description="v1")
    job = Job.objects.create(
        team=membership.team, project=project, capability="image", provider="offline", model_id="x", idempotency_key="f"
    )
    question = ClarifyingQuestion.objects.create(
        project=project, order=1, question="Who?", suggested_answers=["a", "b"]
    )
    return {
        "segment_id": make_segment(shot).pk,
        "question_id": question.pk,
        "shot_id": shot.pk,
        "v1_scene_id": scene.pk,
        "clip_id": VideoClip.objects.create(project=project, scene=scene).pk,
        "job_id": job.pk,
        "project_id": project.pk,
        "team_id": membership.team_id,
        "membership_id": membership.pk,
        "image_id": ShotImage.objects.filter(shot=shot).first().pk,
        "scene_id": shot.scene_id,
        "stage": "plan",
        "section": "script",
        **make_editor_objects(project, outsider),
    }


def url_for(pattern: URLPattern, ids: dict) -> str:
    names = list(pattern.pattern.converters)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{pattern.name}: add an id for {unknown} to this test"
    return reverse(pattern.name, kwargs={n: ids[n] for n in names})


def test_it_knows_every_pattern():
    names = {p.name for p in app_patterns()}
    with_ids = {p.name for p in app_patterns() if p.pattern.converters}
    assert names - with_ids == GLOBAL, "a new pattern without ids: decide whether it is global"


def test_it_answers_404_to_outsiders_on_every_pattern_with_ids(client, owner, team, foreign):
    # owner belongs to a team, just not the foreign one
    client.force_login(owner)
    checked = 0
    for pattern in app_patterns():
        if not pattern.pattern.converters:
            continue
        url = url_for(pattern, foreign)
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"role": "owner", "identifier": "oscar", "name": "x"})
            assert response.status_code in (404, 405), f"{method.upper()} {url} gave {response.status_code}"
            if response.status_code == 404:
                checked += 1
        assert any(getattr(client, m)(url).status_code == 404 for m in ("get", "post")), f"{url} never answered 404"
    assert checked >= 12


def test_it_answers_404_to_anonymous_media_requests(client, foreign):
    url = reverse("shot_image_file", args=[foreign["project_id"], foreign["image_id"]])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_answers_403_to_a_viewer_on_every_change(client, viewer, team, owner):
    project = services.project_create(team=team, user=owner, title="Ours", prompt="x")
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    scene = Scene.objects.create(project=project, scene_number=1, description="v1")
    job = Job.objects.create(
        team=team,
        project=project,
        capability="image",
        provider="offline",
        model_id="x",
        idempotency_key="o",
        status="failed",
    )
    question = ClarifyingQuestion.objects.create(
        project=project, order=1, question="Who?", suggested_answers=["a", "b"]
    )
    ids = {
        "segment_id": make_segment(shot).pk,
        "question_id": question.pk,
        "shot_id": shot.pk,
        "v1_scene_id": scene.pk,
        "clip_id": VideoClip.objects.create(project=project, scene=scene).pk,
        "job_id": job.pk,
        "project_id": project.pk,
        "team_id": team.pk,
        "membership_id": Membership.objects.get(user=owner).pk,
        "image_id": ShotImage.objects.filter(shot=shot).first().pk,
        "scene_id": shot.scene_id,
        "stage": "plan",
        "section": "script",
        **make_editor_objects(project, owner),
    }
    client.force_login(viewer)
    posted = 0
    for pattern in app_patterns():
        if pattern.name in VIEWER_MAY_POST:
            continue
        url = url_for(pattern, ids)
        response = client.post(url, {"role": "viewer", "identifier": "olivia", "name": "Hijacked", "title": "x"})
        assert response.status_code in (403, 405), f"POST {url} as viewer gave {response.status_code}"
        posted += response.status_code == 403
    assert posted >= 20
    project.refresh_from_db()
    team.refresh_from_db()
    assert project.title == "Ours" and team.name == "Olivia's studio"
    assert Membership.objects.get(user=owner).role == Role.OWNER


def test_it_lets_a_viewer_read_every_page(client, viewer, project):
    build_tree(project, scenes=1, shots=1, iterations=1)
    image = ShotImage.objects.first()
    complete(image)
    client.force_login(viewer)
    for url in [
        reverse("dashboard"),
        reverse("project_detail", args=[project.pk]),
        reverse("project_edit", args=[project.pk]),
        reverse("project_sound", args=[project.pk]),
        reverse("project_compile", args=[project.pk]),
        reverse("project_storyboard", args=[project.pk]),
        reverse("project_review", args=[project.pk]),
        reverse("review_shot", args=[project.pk, image.shot_id]),
        reverse("shot_image_file", args=[project.pk, image.pk]),
        reverse("team_detail", args=[project.team_id]),
    ]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("name", ["team_rename", "team_budget", "member_add"])
def test_it_keeps_member_and_budget_management_to_owners(client, teammate, team, name):
    client.force_login(teammate)
    response = client.post(reverse(name, args=[team.pk]), {"name": "x", "monthly_budget": "1", "identifier": "x"})
    assert response.status_code == 403
    assert "Only team owners" in response.content.decode()
