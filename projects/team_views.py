from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation.services import team_month_spend
from projects import selectors, services
from projects.access import membership_for
from projects.forms import BudgetForm, MemberAddForm, MemberRoleForm, TeamForm, TeamSwitchForm
from projects.models import Membership, Role
from projects.workspace import memberships, switch_team


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = services.team_create(name=form.cleaned_data["name"], owner=request.user)
        switch_team(request, team.pk)
        messages.success(request, f"Created {team.name}. You are its owner.")
        return redirect("team_detail", team_id=team.pk)
    return render(request, "projects/team_list.html", {"form": form, "memberships": memberships(request)})


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    form = TeamSwitchForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose a team to switch to.", status=400)
    membership = membership_for(request, form.cleaned_data["team"])
    switch_team(request, membership.team_id)
    messages.info(request, f"Now working in {membership.team.name}.")
    return redirect("dashboard")


@login_required
@require_GET
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = membership_for(request, team_id)
    return render(request, "projects/team_detail.html", _team_context(membership))


def _team_context(membership: Membership, **forms: object) -> dict[str, object]:
    team = membership.team
    return {
        "membership": membership,
        "team": team,
        "members": selectors.team_members(team=team),
        "is_owner": membership.can(Role.OWNER),
        "role_choices": Role.choices,
        "add_form": forms.get("add_form") or MemberAddForm(),
        "budget_form": forms.get("budget_form") or BudgetForm(initial={"monthly_budget": team.monthly_budget}),
        "rename_form": forms.get("rename_form") or TeamForm(initial={"name": team.name}),
        "month_spend": team_month_spend(team=team),
    }


@login_required
@require_POST
def team_rename(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = membership_for(request, team_id, minimum=Role.OWNER)
    form = TeamForm(request.POST)
    if not form.is_valid():
        return render(request, "projects/team_detail.html", _team_context(membership, rename_form=form), status=400)
    services.team_rename(team=membership.team, name=form.cleaned_data["name"])
    messages.success(request, "Team renamed.")
    return redirect("team_detail", team_id=team_id)


@login_required
@require_POST
def team_budget(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = membership_for(request, team_id, minimum=Role.OWNER)
    form = BudgetForm(request.POST)
    if not form.is_valid():
        return render(request, "projects/team_detail.html", _team_context(membership, budget_form=form), status=400)
    services.team_set_budget(team=membership.team, monthly_budget=form.cleaned_data["monthly_budget"])
    messages.success(request, f"Monthly budget set to ${form.cleaned_data['monthly_budget']}.")
    return redirect("team_detail", team_id=team_id)


@login_required
@require_POST
def member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = membership_for(request, team_id, minimum=Role.OWNER)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.membership_add(team=membership.team, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("identifier", error)
        else:
            messages.success(request, f"Added {added.user.get_username()} as {added.get_role_display().lower()}.")
            return redirect("team_detail", team_id=team_id)
    return render(request, "projects/team_detail.html", _team_context(membership, add_form=form), status=400)


@login_required
@require_POST
def member_role(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    mine = membership_for(request, team_id, minimum=Role.OWNER)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, team_id=mine.team_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, editor or viewer.")
        return redirect("team_detail", team_id=team_id)
    try:
        services.membership_change_role(membership=target, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{target.user.get_username()} is now {target.get_role_display().lower()}.")
    return redirect("team_detail", team_id=team_id)


@login_required
@require_POST
def member_remove(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    mine = membership_for(request, team_id, minimum=Role.OWNER)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, team_id=mine.team_id)
    leaving = target.pk == mine.pk
    try:
        services.membership_remove(membership=target)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("team_detail", team_id=team_id)
    if leaving:
        messages.success(request, f"You left {mine.team.name}.")
        return redirect("team_list")
    messages.success(request, f"Removed {target.user.get_username()} from {mine.team.name}.")
    return redirect("team_detail", team_id=team_id)
