"""The current team: remembered in the session, validated on every request."""

from django.http import HttpRequest

from projects.models import Membership
from projects.selectors import memberships_of

SESSION_KEY = "current_team_id"


def memberships(request: HttpRequest) -> list[Membership]:
    if not hasattr(request, "_memberships"):
        request._memberships = list(memberships_of(request.user)) if request.user.is_authenticated else []
    return request._memberships


def current_membership(request: HttpRequest) -> Membership | None:
    mine = memberships(request)
    wanted = request.session.get(SESSION_KEY)
    for membership in mine:
        if membership.team_id == wanted:
            return membership
    return mine[0] if mine else None


def switch_team(request: HttpRequest, team_id: int) -> None:
    request.session[SESSION_KEY] = team_id
