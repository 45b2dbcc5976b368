from django.http import HttpRequest

from projects.workspace import current_membership, memberships


def workspace(request: HttpRequest) -> dict[str, object]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"my_memberships": memberships(request), "current_membership": current_membership(request)}
