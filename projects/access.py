"""The one way views load team-owned objects.

A user who is not in the object's team gets 404, never 403, so ids of other
teams' projects reveal nothing. A member whose role is too low gets 403.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest

from projects.models import Membership, Role, VideoProject, role_at_least

ROLE_NEEDED = {
    Role.EDITOR: "Viewers can look but not change anything. Ask a team owner for the editor role.",
    Role.OWNER: "Only team owners can do this.",
}


def _require(role: str, minimum: str) -> None:
    if not role_at_least(role, minimum):
        raise PermissionDenied(ROLE_NEEDED.get(Role(minimum), "Not allowed."))


def project_for(request: HttpRequest, project_id: int, *, minimum: str = Role.VIEWER) -> VideoProject:
    """The project with .user_role set, if the user belongs to its team."""
    user: AbstractBaseUser = request.user
    if not user.is_authenticated:
        raise Http404("No such project.")
    role = Membership.objects.filter(team=OuterRef("team_id"), user=user).values("role")[:1]
    project = (
        VideoProject.objects.select_related("team")
        .annotate(user_role=Subquery(role))
        .filter(pk=project_id, user_role__isnull=False)
        .first()
    )
    if project is None:
        raise Http404("No such project.")
    _require(project.user_role, minimum)
    return project


def membership_for(request: HttpRequest, team_id: int, *, minimum: str = Role.VIEWER) -> Membership:
    """The user's membership of the team (with .team), if any."""
    if not request.user.is_authenticated:
        raise Http404("No such team.")
    membership = Membership.objects.select_related("team").filter(team_id=team_id, user=request.user).first()
    if membership is None:
        raise Http404("No such team.")
    _require(membership.role, minimum)
    return membership


def can_edit(project: VideoProject) -> bool:
    return role_at_least(project.user_role, Role.EDITOR)
