"""The Iterate stage: six variants per shot, img2img refinement, favorites, the master image, uploads."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from generation.services import BudgetExceededError
from projects import selectors, services
from projects.access import project_for
from projects.forms import RefineForm, UploadForm
from projects.models import GenerationStatus, Role, SceneShot, ShotImage, VideoProject
from projects.views import stage_context
from storyboard.seeds import notes_by_model_id
from videopipe.media import serve_file


def iterate_context(project: VideoProject, shot: SceneShot, *, favorites: bool = False, **extra: object) -> dict:
    scenes = selectors.scenes_with_shots(project=project)
    order = [s.pk for scene in scenes for s in scene.shots_list]
    index = order.index(shot.pk)
    groups = list(reversed(selectors.shot_images_grouped(shot=shot)))
    if favorites:
        for group in groups:
            group.images = [image for image in group.images if image.is_favorite]
        groups = [group for group in groups if group.images]
    working = any(
        image.status in (GenerationStatus.PENDING, GenerationStatus.PROCESSING) for g in groups for image in g.images
    )
    # A shown seed is only worth reusing if the model repeats exactly with it: say so where it does not.
    images = [image for g in groups for image in g.images]
    notes = notes_by_model_id((image.metadata or {}).get("provenance", {}).get("model", "") for image in images)
    for image in images:
        image.seed_note = notes.get((image.metadata or {}).get("provenance", {}).get("model", ""), "")
    return {
        "project": project,
        "shot": shot,
        "scenes": scenes,
        "groups": groups,
        "favorites": favorites,
        "working": working,
        "previous_id": order[index - 1] if index > 0 else None,
        "next_id": order[index + 1] if index + 1 < len(order) else None,
        "position": index + 1,
        "shot_total": len(order),
        "refine_form": extra.pop("refine_form", None) or RefineForm(),
        "upload_form": extra.pop("upload_form", None) or UploadForm(),
        **extra,
    }


def _shot(project: VideoProject, shot_id: int) -> SceneShot:
    return get_object_or_404(SceneShot.objects.select_related("scene", "selected_image"), pk=shot_id, project=project)


def _panel(
    request: HttpRequest, project: VideoProject, shot: SceneShot, status: int = 200, **extra: object
) -> HttpResponse:
    shot = _shot(project, shot.pk)
    favorites = request.GET.get("favorites") == "1" or request.POST.get("favorites") == "1"
    context = {
        **iterate_context(project, shot, favorites=favorites, **extra),
        **stage_context(project, current="iterate"),
    }
    if not request.htmx:
        return render(request, "projects/iterate.html", context, status=status)
    if request.GET.get("part") == "history":
        return render(request, "projects/iterate.html#history", context, status=status)
    # The shot list beside the panel shows which shots have a master: it follows the panel's changes.
    html = render_to_string("projects/iterate.html#shot-panel", context, request=request)
    html += render_to_string("projects/iterate.html#shot-nav", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


@login_required
@require_GET
def iterate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    first = SceneShot.objects.filter(project=project).order_by("scene__scene_number", "shot_number").first()
    if first is None:
        context = {"project": project, **stage_context(project, current="iterate")}
        return render(request, "projects/iterate_empty.html", context)
    return redirect("iterate_shot", project_id=project.pk, shot_id=first.pk)


@login_required
@require_GET
def iterate_shot(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    return _panel(request, project, _shot(project, shot_id))


def _act(request: HttpRequest, project: VideoProject, shot: SceneShot, action: object) -> HttpResponse:
    try:
        action()
    except (BudgetExceededError, ValidationError) as error:
        return _panel(request, project, shot, status=422, action_error=" ".join(error.messages))
    return _panel(request, project, shot)


@login_required
@require_POST
def shot_generate(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = _shot(project, shot_id)
    return _act(request, project, shot, lambda: services.shot_generate(shot=shot, user=request.user))


@login_required
@require_POST
def shot_refine(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = _shot(project, shot_id)
    form = RefineForm(request.POST)
    if not form.is_valid():
        return _panel(request, project, shot, status=422, refine_form=form)
    parent = ShotImage.objects.filter(pk=form.cleaned_data["parent"], shot=shot).first()
    if parent is None:
        form.add_error("parent", "Choose a variant of this shot to refine.")
        return _panel(request, project, shot, status=422, refine_form=form)
    data = form.cleaned_data
    refine = lambda: services.shot_refine(  # noqa: E731
        shot=shot, parent=parent, instruction=data["instruction"], strength=data["strength"], user=request.user
    )
    return _act(request, project, shot, refine)


@login_required
@require_POST
def shot_upload(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = _shot(project, shot_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.shot_image_upload(shot=shot, upload=form.cleaned_data["image"], user=request.user)
        except ValidationError as error:
            form.add_error("image", error)
    if form.errors:
        return _panel(request, project, shot, status=422, upload_form=form)
    return _panel(request, project, shot, notice="Your image was added as a new iteration.")


def _image(project: VideoProject, image_id: int) -> ShotImage:
    return get_object_or_404(ShotImage.objects.select_related("shot"), pk=image_id, project=project)


@login_required
@require_POST
def image_favorite(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    image = services.shot_image_toggle_favorite(image=_image(project, image_id))
    if request.htmx:
        return render(request, "projects/iterate.html#tile", {"project": project, "image": image, "shot": image.shot})
    return redirect("iterate_shot", project_id=project.pk, shot_id=image.shot_id)


@login_required
@require_POST
def image_master(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    image = _image(project, image_id)
    return _act(request, project, image.shot, lambda: services.shot_select_master(shot=image.shot, image=image))


@login_required
@require_POST
def image_retry(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    image = _image(project, image_id)
    return _act(request, project, image.shot, lambda: services.shot_image_retry(image=image, user=request.user))


@login_required
@require_GET
def image_thumb(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    image = get_object_or_404(ShotImage.objects.exclude(thumbnail=""), pk=image_id, project=project)
    return serve_file(request, image.thumbnail)


@login_required
@require_GET
def image_compare(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    shot = _shot(project, shot_id)
    ids = request.GET.getlist("image")
    if len(ids) != 2 or not all(i.isdigit() for i in ids):
        messages.error(request, "Pick exactly two images to compare.")
        return redirect("iterate_shot", project_id=project.pk, shot_id=shot.pk)
    images = list(ShotImage.objects.filter(pk__in=ids, shot=shot).exclude(image="").select_related("parent_image"))
    if len(images) != 2:
        raise Http404("Those images are not both finished variants of this shot.")
    images.sort(key=lambda i: ids.index(str(i.pk)))
    context = {"project": project, "shot": shot, "images": images, **stage_context(project, current="iterate")}
    return render(request, "projects/compare.html", context)
