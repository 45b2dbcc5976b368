from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from generation.selectors import activity_context
from projects import selectors, services
from projects.access import can_edit, project_for
from projects.forms import DashboardFilterForm, ProjectForm
from projects.models import Role, Scene, ShotImage
from projects.stages import STAGE_BY_SLUG, stage_url, stages_of
from projects.workspace import current_membership
from videopipe.media import serve_file


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return redirect("team_list")
    form = DashboardFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    projects = selectors.projects_for_dashboard(
        team=membership.team, query=filters.get("q", ""), status=filters.get("status", "")
    )
    page = Paginator(projects, 24).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "membership": membership,
        "filtered": bool(filters.get("q") or filters.get("status")),
    }
    template = "projects/dashboard.html#project-list" if request.htmx else "projects/dashboard.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return redirect("team_list")
    if not membership.can(Role.EDITOR):
        raise PermissionDenied(f"You are a viewer in {membership.team.name}: ask an owner for the editor role.")
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(team=membership.team, user=request.user, **form.cleaned_data)
        messages.success(request, f"Created “{project.title}”.")
        return redirect("project_quick", project.pk) if project.is_quick else redirect(project)
    return render(request, "projects/project_new.html", {"form": form, "membership": membership})


@login_required
@require_GET
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    return render(request, "projects/project_detail.html", _detail_context(project))


@login_required
@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    if request.method == "POST":
        title = project.title
        services.project_delete(project=project)
        messages.success(request, f"Deleted “{title}” and all its media.")
        return redirect("dashboard")
    counts = {
        "scenes": project.scenes.count(),
        "shots": project.shots.count(),
        "images": project.images.count(),
        "v1_scenes": project.legacy_scenes.count(),
    }
    return render(request, "projects/project_confirm_delete.html", {"project": project, "counts": counts})


@login_required
@require_GET
def project_stage(request: HttpRequest, project_id: int, stage: str) -> HttpResponse:
    project = project_for(request, project_id)
    if stage not in STAGE_BY_SLUG:
        raise Http404("No such stage.")
    # Links made before each stage had its own page land there.
    return redirect(stage_url(STAGE_BY_SLUG[stage], project.pk))


@login_required
@require_GET
def shot_image_file(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    image = get_object_or_404(ShotImage.objects.exclude(image=""), pk=image_id, project=project)
    return serve_file(request, image.image)


@login_required
@require_GET
def v1_scene_image_file(request: HttpRequest, project_id: int, v1_scene_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    scene = get_object_or_404(Scene.objects.exclude(image=""), pk=v1_scene_id, project=project)
    return serve_file(request, scene.image)


def _detail_context(project) -> dict[str, object]:  # noqa: ANN001
    return {
        "project": project,
        "progress": selectors.project_progress(project=project),
        "scenes": selectors.scenes_with_shots(project=project),
        "v1_scenes": list(Scene.objects.filter(project=project).order_by("scene_number")) if project.is_quick else [],
        **activity_context(project),
        **stage_context(project, current="overview"),
    }


def stage_context(project, *, current: str) -> dict[str, object]:  # noqa: ANN001
    stages = [
        {"stage": stage, "url": stage_url(stage, project.pk), "current": stage.slug == current}
        for stage in stages_of(project)
    ]
    return {"stages": stages, "can_edit": can_edit(project), "current_stage": current}


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You don't have permission to do that."
    if getattr(request, "htmx", False):
        # htmx shows plain-text errors in its toast; a whole page would be swapped nowhere.
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return render(request, "403.html", {"message": message}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {}, status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the database may be what failed.
    from django.template import loader  # noqa: PLC0415

    return HttpResponse(loader.get_template("500.html").render({}), status=500)
