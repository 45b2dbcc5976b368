"""Scenes setup: edit, add, delete and reorder scenes and shots; redraft one scene's shots."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation.models import ACTIVE
from generation.services import BudgetExceededError
from projects import selectors, services
from projects.access import project_for
from projects.forms import MoveForm, OrderForm, SceneForm, ShotForm
from projects.models import ProjectScene, Role, SceneShot, VideoProject
from projects.views import stage_context


def scenes_context(
    project: VideoProject,
    *,
    scene_forms: dict | None = None,
    shot_forms: dict | None = None,
    new_shot_forms: dict | None = None,
    **overrides: object,
) -> dict[str, object]:
    """Scenes with their forms attached; a form that failed validation replaces the fresh one."""
    scenes = selectors.scenes_for_setup(project=project)
    jobs = selectors.scene_jobs(project=project)
    scene_forms, shot_forms, new_shot_forms = scene_forms or {}, shot_forms or {}, new_shot_forms or {}
    for scene in scenes:
        scene.form = scene_forms.get(scene.pk) or SceneForm(instance=scene, prefix=f"scene-{scene.pk}")
        scene.new_shot_form = new_shot_forms.get(scene.pk) or ShotForm(prefix=f"new-shot-{scene.pk}")
        scene.redraft_job = jobs.get(scene.pk)
        scene.status_id = f"redraft-status-{scene.pk}"
        for shot in scene.shots_list:
            shot.form = shot_forms.get(shot.pk) or ShotForm(instance=shot, prefix=f"shot-{shot.pk}")
            shot.open = shot.pk in shot_forms or overrides.get("saved_shot") == shot.pk
    return {
        "project": project,
        "scenes": scenes,
        "redrafting": any(job.status in ACTIVE for job in jobs.values()),
        "new_scene_form": SceneForm(initial={"duration": 5}, prefix="new"),
        **overrides,
    }


def _list(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    context = {**scenes_context(project, **extra), **stage_context(project, current="plan")}
    return render(request, "projects/scenes.html#scene-list", context, status=status)


def _apply_order(request: HttpRequest, project: VideoProject, reorder: Callable[[list[int]], None]) -> HttpResponse:
    form = OrderForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["ids"])
        reorder(form.cleaned_data["ids"])
    except ValidationError as error:
        return _list(request, project, status=422, list_error=" ".join(error.messages))
    return _list(request, project)


@login_required
@require_GET
def scenes(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    context = {**scenes_context(project), **stage_context(project, current="plan"), "plan_tab": "scenes"}
    return render(request, "projects/scenes.html", context)


@login_required
@require_GET
def scene_list(request: HttpRequest, project_id: int) -> HttpResponse:
    """The list again: the fallback poll while a redraft runs, if the websocket is not there."""
    project = project_for(request, project_id)
    return _list(request, project)


@login_required
@require_POST
def scene_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = SceneForm(request.POST, prefix="new")
    if not form.is_valid():
        return _list(request, project, status=422, new_scene_form=form)
    services.scene_create(project=project, **form.cleaned_data)
    return _list(request, project)


@login_required
@require_POST
def scene_update(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    form = SceneForm(request.POST, instance=scene, prefix=f"scene-{scene.pk}")
    if not form.is_valid():
        return _list(request, project, status=422, scene_forms={scene.pk: form})
    services.scene_update(scene=ProjectScene.objects.get(pk=scene.pk), **form.cleaned_data)
    return _list(request, project, saved_scene=scene.pk)


@login_required
@require_http_methods(["GET", "POST"])
def scene_delete(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    if request.method == "POST":
        services.scene_delete(scene=scene)
        messages.success(request, f"Deleted scene “{scene.title}”.")
        return redirect("project_scenes", project_id=project.pk)
    counts = {"shots": scene.shots.count(), "images": scene.images.count()}
    return render(
        request,
        "projects/confirm_delete_part.html",
        {"project": project, "what": scene, "kind": "scene", "counts": counts},
    )


@login_required
@require_POST
def scene_move(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    form = MoveForm(request.POST)
    if form.is_valid():
        services.scene_move(scene=scene, offset=form.offset)
    return _list(request, project)


@login_required
@require_POST
def scenes_reorder(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    return _apply_order(request, project, lambda ids: services.scene_reorder(project=project, scene_ids=ids))


@login_required
@require_POST
def shot_add(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    form = ShotForm(request.POST, prefix=f"new-shot-{scene.pk}")
    if not form.is_valid():
        return _list(request, project, status=422, new_shot_forms={scene.pk: form})
    services.shot_create(scene=scene, **form.cleaned_data)
    return _list(request, project)


@login_required
@require_POST
def shot_update(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = get_object_or_404(SceneShot, pk=shot_id, project=project)
    form = ShotForm(request.POST, instance=shot, prefix=f"shot-{shot.pk}")
    if not form.is_valid():
        return _list(request, project, status=422, shot_forms={shot.pk: form})
    services.shot_update(shot=SceneShot.objects.get(pk=shot.pk), **form.cleaned_data)
    return _list(request, project, saved_shot=shot.pk)


@login_required
@require_http_methods(["GET", "POST"])
def shot_delete(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = get_object_or_404(SceneShot, pk=shot_id, project=project)
    if request.method == "POST":
        services.shot_delete(shot=shot)
        messages.success(request, f"Deleted shot {shot.shot_number}.")
        return redirect("project_scenes", project_id=project.pk)
    counts = {"images": shot.images.count()}
    return render(
        request,
        "projects/confirm_delete_part.html",
        {"project": project, "what": shot, "kind": "shot", "counts": counts},
    )


@login_required
@require_POST
def shot_move(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = get_object_or_404(SceneShot, pk=shot_id, project=project)
    form = MoveForm(request.POST)
    if form.is_valid():
        services.shot_move(shot=shot, offset=form.offset)
    return _list(request, project)


@login_required
@require_POST
def shots_reorder(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    return _apply_order(request, project, lambda ids: services.shot_reorder(scene=scene, shot_ids=ids))


@login_required
@require_POST
def shots_redraft(request: HttpRequest, project_id: int, scene_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene = get_object_or_404(ProjectScene, pk=scene_id, project=project)
    try:
        services.shots_redraft_request(scene=scene, user=request.user)
    except (BudgetExceededError, ValidationError) as error:
        return _list(request, project, status=422, list_error=" ".join(error.messages))
    return _list(request, project)


@login_required
@require_POST
def start_iteration(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    try:
        services.project_start_iteration(project=project)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("project_scenes", project_id=project.pk)
    return redirect("project_iterate", project_id=project.pk)
