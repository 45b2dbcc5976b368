import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from projects.models import Membership, Role, Team
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_up_a_user_with_a_team_of_their_own(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = get_user_model().objects.get(username="newbie")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.name == "newbie's team"
    assert "No projects yet" in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "", "email": "a@example.com"}, "username", "This field is required."),
        ({"username": "a b!", "email": "a@example.com"}, "username", "Enter a valid username"),
        ({"username": "ann", "email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"username": "ann", "email": "olivia@example.com"}, "email", "already exists"),
        ({"username": "olivia", "email": "x@example.com"}, "username", "already exists"),
    ],
)
def test_it_rejects_bad_signups_with_a_message(client, owner, data, field, message):
    response = client.post(reverse("signup"), {**data, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert get_user_model().objects.count() == 1


def test_it_logs_in_and_out(client, owner, team):
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_says_why_a_login_failed(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": "wrong"})
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_changes_the_password(owner_client, owner):
    new = "another-long-passphrase-7"
    response = owner_client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_it_creates_a_team_and_switches_to_it(owner_client, owner, team):
    response = owner_client.post(reverse("team_list"), {"name": "Night shift"})
    created = Team.objects.get(name="Night shift")
    assert response["Location"] == reverse("team_detail", args=[created.pk])
    assert Membership.objects.get(team=created, user=owner).role == Role.OWNER
    assert owner_client.get(reverse("dashboard")).context["membership"].team == created


def test_it_refuses_an_empty_team_name(owner_client, owner, team):
    response = owner_client.post(reverse("team_list"), {"name": "   "})
    assert "This field is required." in response.content.decode()
    assert Team.objects.count() == 1


@pytest.mark.parametrize("identifier", ["eddie", "EDDIE@example.com"])
def test_it_adds_an_existing_user_by_username_or_email(owner_client, team, make_user, identifier):
    eddie = make_user("eddie")
    response = owner_client.post(reverse("member_add", args=[team.pk]), {"identifier": identifier, "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=eddie).role == Role.VIEWER


def test_it_explains_why_a_member_cannot_be_added(owner_client, team, teammate):
    unknown = owner_client.post(reverse("member_add", args=[team.pk]), {"identifier": "nobody", "role": "editor"})
    assert unknown.status_code == 400 and "Ask them to sign up first" in unknown.content.decode()
    twice = owner_client.post(reverse("member_add", args=[team.pk]), {"identifier": "eddie", "role": "editor"})
    assert "already a member" in twice.content.decode()
    bad_role = owner_client.post(reverse("member_add", args=[team.pk]), {"identifier": "eddie", "role": "god"})
    assert "Select a valid choice" in bad_role.content.decode()


def test_it_changes_and_removes_roles(owner_client, team, teammate):
    membership = Membership.objects.get(team=team, user=teammate)
    owner_client.post(reverse("member_role", args=[team.pk, membership.pk]), {"role": "viewer"})
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    owner_client.post(reverse("member_remove", args=[team.pk, membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_it_never_leaves_a_team_without_an_owner(owner_client, team, owner):
    mine = Membership.objects.get(team=team, user=owner)
    response = owner_client.post(reverse("member_role", args=[team.pk, mine.pk]), {"role": "editor"}, follow=True)
    assert "at least one owner" in response.content.decode()
    owner_client.post(reverse("member_remove", args=[team.pk, mine.pk]))
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_it_lets_an_owner_hand_over_and_leave(owner_client, team, owner, teammate):
    theirs = Membership.objects.get(team=team, user=teammate)
    owner_client.post(reverse("member_role", args=[team.pk, theirs.pk]), {"role": "owner"})
    mine = Membership.objects.get(team=team, user=owner)
    response = owner_client.post(reverse("member_remove", args=[team.pk, mine.pk]))
    assert response["Location"] == reverse("team_list")
    assert list(team.memberships.values_list("user__username", "role")) == [("eddie", "owner")]


def test_it_sets_the_budget_and_refuses_nonsense(owner_client, team):
    owner_client.post(reverse("team_budget", args=[team.pk]), {"monthly_budget": "125.50"})
    team.refresh_from_db()
    assert str(team.monthly_budget) == "125.50"
    for bad, message in [("-5", "greater than or equal to 0"), ("lots", "Enter a number."), ("1.234", "2 decimal")]:
        response = owner_client.post(reverse("team_budget", args=[team.pk]), {"monthly_budget": bad})
        assert response.status_code == 400 and message in response.content.decode(), bad
    team.refresh_from_db()
    assert str(team.monthly_budget) == "125.50"


def test_it_shows_members_to_a_viewer_without_management_forms(client, viewer, team):
    client.force_login(viewer)
    html = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "olivia" in html and "Add a member" not in html


def test_it_forbids_project_creation_to_viewers(client, viewer, team):
    client.force_login(viewer)
    client.post(reverse("team_switch"), {"team": team.pk})
    response = client.get(reverse("project_new"))
    assert response.status_code == 403
    assert "ask an owner for the editor role" in response.content.decode()
