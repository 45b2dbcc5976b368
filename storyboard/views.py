"""The Storyboard and Review stages: master images, animation with a cost check, segment review."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from generation.services import BudgetExceededError, project_spend, team_month_spend
from projects.access import project_for
from projects.models import Role, SceneShot, VideoProject
from projects.selectors import project_progress
from projects.views import stage_context
from storyboard import selectors, services
from storyboard.forms import (
    AnimateForm,
    ApproveForm,
    NotesForm,
    RegenerateForm,
    RejectForm,
    ReviewSettingsForm,
    ShotAnimationForm,
)
from storyboard.models import VideoSegment
from videopipe.media import serve_file

# Storyboard ------------------------------------------------------------------


def _animation_form(shot: SceneShot, models: list) -> ShotAnimationForm:
    settings = getattr(shot, "animation", None)
    initial = {"duration": 5}
    if settings:
        initial = {"ai_model": settings.ai_model_id, "duration": settings.duration,
                   "motion_prompt": settings.motion_prompt, "seed": settings.seed}  # fmt: skip
    return ShotAnimationForm(initial=initial, auto_id=f"id_shot{shot.pk}_%s", models=models)


def card_context(project: VideoProject, shot_id: int, **extra: object) -> dict:
    scenes = selectors.storyboard_scenes(project=project)
    shot = next((s for s in selectors.ordered_shots(scenes) if s.pk == shot_id), None)
    if shot is None:
        raise Http404("No such shot.")
    shot.form = extra.pop("form", None) or _animation_form(shot, selectors.animation_models())
    return {"project": project, "shot": shot, "scene": next(sc for sc in scenes if sc.pk == shot.scene_id), **extra}


def progress_context(project: VideoProject, shots: list[SceneShot] | None = None) -> dict:
    """The progress figures; shots (in order, from storyboard_scenes) when the caller has them already."""
    if shots is None:
        shots = selectors.ordered_shots(selectors.storyboard_scenes(project=project))
    return {
        "project": project,
        "progress": selectors.segment_progress(shots),
        "seed_progress": project_progress(project=project),
    }


def board_context(project: VideoProject, **extra: object) -> dict:
    scenes = selectors.storyboard_scenes(project=project)
    shots = selectors.ordered_shots(scenes)
    models = selectors.animation_models()
    for shot in shots:
        shot.form = _animation_form(shot, models)
    config = selectors.review_settings_of(project=project)
    return {
        "project": project,
        "scenes": scenes,
        "shots": shots,
        "progress": selectors.segment_progress(shots),
        "seed_progress": project_progress(project=project),
        "settings_form": extra.pop("settings_form", None)
        or ReviewSettingsForm(
            initial={"mode": config.mode, "batch_size": config.batch_size, "auto_approve": config.auto_approve}
        ),
        "default_model": selectors.default_animation_model(),
        "team_spend": team_month_spend(team=project.team),
        "project_spend": project_spend(project=project),
        "working": any(s.current and s.current.is_working for s in shots),
        **extra,
    }


def _board(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    context = {**board_context(project, **extra), **stage_context(project, current="storyboard")}
    template = "storyboard/storyboard.html#board" if request.htmx else "storyboard/storyboard.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def storyboard(request: HttpRequest, project_id: int) -> HttpResponse:
    return _board(request, project_for(request, project_id))


@login_required
@require_POST
def review_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = ReviewSettingsForm(request.POST)
    if not form.is_valid():
        return _board(request, project, status=422, settings_form=form)
    services.review_settings_update(project=project, **form.cleaned_data)
    return _board(request, project, notice="Generation settings saved.")


def _shot(project: VideoProject, shot_id: int) -> SceneShot:
    return get_object_or_404(SceneShot.objects.select_related("scene"), pk=shot_id, project=project)


@login_required
@require_POST
def shot_animation(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    shot = _shot(project, shot_id)
    form = ShotAnimationForm(request.POST, auto_id=f"id_shot{shot.pk}_%s")
    if form.is_valid():
        try:
            services.shot_animation_update(shot=shot, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    context = card_context(project, shot.pk, form=form if form.errors else None, saved=not form.errors)
    if not request.htmx:
        return redirect("project_storyboard", project_id=project.pk)
    return render(request, "storyboard/storyboard.html#shot-card", context, status=422 if form.errors else 200)


def _animate_form(request: HttpRequest, project: VideoProject, data: object) -> tuple[AnimateForm, list[int]]:
    ordered = list(
        SceneShot.objects.filter(project=project)
        .order_by("scene__scene_number", "shot_number")
        .values_list("pk", flat=True)
    )
    return AnimateForm(data, shot_ids=ordered), ordered


def _confirm(
    request: HttpRequest, project: VideoProject, shot_ids: list[int], status: int = 200, **extra: object
) -> HttpResponse:
    shots = [s for s in selectors.ordered_shots(selectors.storyboard_scenes(project=project)) if s.pk in shot_ids]
    estimate = services.animation_estimate(project=project, shots=shots)
    context = {"project": project, "estimate": estimate, **extra, **stage_context(project, current="storyboard")}
    template = "storyboard/storyboard.html#confirm" if request.htmx else "storyboard/confirm.html"
    response = render(request, template, context, status=status)
    if request.htmx:
        # The confirmation's own form targets the board; its answer always goes back into the dialog's slot.
        response["HX-Retarget"] = "#confirm-slot"
        response["HX-Reswap"] = "innerHTML"
    return response


def _errors(form: AnimateForm) -> str:
    return " ".join(error for errors in form.errors.values() for error in errors)


@login_required
@require_GET
def animate_estimate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form, ordered = _animate_form(request, project, request.GET)
    if not form.is_valid():
        return _confirm(request, project, [], status=422, action_error=_errors(form))
    return _confirm(request, project, form.chosen(ordered))


@login_required
@require_POST
def animate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form, ordered = _animate_form(request, project, request.POST)
    if not form.is_valid():
        return _confirm(request, project, [], status=422, action_error=_errors(form))
    chosen = form.chosen(ordered)
    shots = list(SceneShot.objects.filter(pk__in=chosen))
    try:
        segments = services.segments_request(
            project=project, shots=shots, user=request.user, expected_total=form.cleaned_data["expected_total"]
        )
    except (BudgetExceededError, ValidationError) as error:
        return _confirm(request, project, chosen, status=422, action_error=" ".join(error.messages))
    count = len(segments)
    notice = f"Animating {count} shot{'s' if count != 1 else ''}. Segments appear here and in Review as they finish."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("project_storyboard", project_id=project.pk)
    return _board(request, project, notice=notice)


# Review ----------------------------------------------------------------------


@login_required
@require_GET
def review(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    shots = selectors.ordered_shots(selectors.storyboard_scenes(project=project))
    context = {
        "shots": shots,
        "working": any(s.current and s.current.is_working for s in shots),
        **progress_context(project, shots),
        **stage_context(project, current="review"),
    }
    return render(request, "storyboard/review_list.html", context)


def review_context(project: VideoProject, shot: SceneShot, version: int | None = None, **extra: object) -> dict:
    scenes = selectors.storyboard_scenes(project=project)
    order = [s.pk for s in selectors.ordered_shots(scenes)]
    index = order.index(shot.pk)
    versions = selectors.shot_versions(shot=shot)
    current = next((v for v in versions if v.is_current), None)
    segment = next((v for v in versions if v.version == version), None) if version else current
    if version and segment is None:
        raise Http404("No such version of this shot.")
    segment = segment or (versions[0] if versions else None)
    models = selectors.animation_models()
    regenerate_form = extra.pop("regenerate_form", None)
    if regenerate_form is None and segment is not None:
        params = segment.generation_params
        model_pk = params.get("model_pk") if any(m.pk == params.get("model_pk") for m in models) else None
        regenerate_form = RegenerateForm(
            initial={
                "prompt": params.get("prompt", ""),
                "seed": params.get("seed"),
                "duration": params.get("duration", 5),
                "ai_model": model_pk,
            }
        )
    return {
        "project": project,
        "shot": shot,
        "scenes": scenes,
        "segment": segment,
        "current": current,
        "versions": versions,
        "previous_id": order[index - 1] if index > 0 else None,
        "next_id": order[index + 1] if index + 1 < len(order) else None,
        "position": index + 1,
        "shot_total": len(order),
        "approve_form": extra.pop("approve_form", None) or ApproveForm(),
        "reject_form": extra.pop("reject_form", None) or RejectForm(),
        "regenerate_form": regenerate_form,
        "notes_form": extra.pop("notes_form", None)
        or NotesForm(initial={"user_notes": segment.user_notes if segment else ""}),
        "prices": {m.pk: {"unit": m.price_unit, "price": str(m.unit_price)} for m in models},
        **extra,
    }


def _review_panel(
    request: HttpRequest,
    project: VideoProject,
    shot: SceneShot,
    *,
    version: int | None = None,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    context = {**review_context(project, shot, version, **extra), **stage_context(project, current="review")}
    if not request.htmx:
        return render(request, "storyboard/review.html", context, status=status)
    # The shot list beside the panel marks approved and rejected shots: it follows the panel's changes.
    html = render_to_string("storyboard/review.html#review-panel", context, request=request)
    html += render_to_string("storyboard/review.html#shot-nav", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


def _version_param(request: HttpRequest) -> int | None:
    value = request.GET.get("version", "")
    if value and not value.isdigit():
        raise Http404("No such version.")
    return int(value) if value else None


@login_required
@require_GET
def review_shot(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    shot, version = _shot(project, shot_id), _version_param(request)
    part = request.GET.get("part")
    if request.htmx and part in ("player", "scores") and version:
        # The polling fallback of a page without a websocket: one version's player or scores.
        segment = get_object_or_404(VideoSegment.objects.select_related("job", "parent"), shot=shot, version=version)
        context = {"project": project, "segment": segment, "refresh": True}
        return render(request, f"storyboard/review.html#{part}", context)
    return _review_panel(request, project, shot, version=version)


def _segment(project: VideoProject, segment_id: int) -> VideoSegment:
    return get_object_or_404(VideoSegment.objects.select_related("shot", "project"), pk=segment_id, project=project)


def _segment_action(
    request: HttpRequest, project_id: int, segment_id: int, *, form_class: type, action: object, form_name: str
) -> HttpResponse:
    """Validate form_class, run action(segment, cleaned_data), re-render the review panel with the result."""
    project = project_for(request, project_id, minimum=Role.EDITOR)
    segment = _segment(project, segment_id)
    form = form_class(request.POST)
    shown = segment.version
    if form.is_valid():
        try:
            result = action(segment, form.cleaned_data)
        except (BudgetExceededError, ValidationError) as error:
            form.add_error(None, error)
        else:
            shown = result.version
    if form.errors:
        return _review_panel(request, project, segment.shot, version=shown, status=422, **{form_name: form})
    if not request.htmx:
        return redirect(f"{reverse('review_shot', args=[project.pk, segment.shot_id])}?version={shown}")
    return _review_panel(request, project, segment.shot, version=shown, notice=_NOTICES[form_name])


_NOTICES = {
    "approve_form": "Approved.",
    "reject_form": "Rejected. Regenerate it with changes when you are ready.",
    "regenerate_form": "A new version is being made; the old one stays in the list below.",
    "notes_form": "Notes saved.",
    "restore_form": "Restored as the current version.",
    "retry_form": "Trying again.",
}


@login_required
@require_POST
def segment_approve(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    def act(segment: VideoSegment, data: dict) -> VideoSegment:
        return services.segment_approve(
            segment=segment, user=request.user, rating=data["rating"], feedback=data["feedback"]
        )

    return _segment_action(
        request, project_id, segment_id, form_class=ApproveForm, action=act, form_name="approve_form"
    )


@login_required
@require_POST
def segment_reject(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    def act(segment: VideoSegment, data: dict) -> VideoSegment:
        return services.segment_reject(
            segment=segment, user=request.user, reason=data["reason"], suggested_changes=data["suggested_changes"]
        )

    return _segment_action(request, project_id, segment_id, form_class=RejectForm, action=act, form_name="reject_form")


@login_required
@require_POST
def segment_regenerate(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    def act(segment: VideoSegment, data: dict) -> VideoSegment:
        return services.segment_regenerate(
            segment=segment, user=request.user, prompt=data["prompt"], seed=data["seed"], duration=data["duration"],
            ai_model=data["ai_model"], expected_cost=data["expected_cost"],
        )  # fmt: skip

    return _segment_action(
        request, project_id, segment_id, form_class=RegenerateForm, action=act, form_name="regenerate_form"
    )


class _EmptyForm(NotesForm):
    """Actions without fields (restore, retry) still go through the same form handling."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields.clear()


@login_required
@require_POST
def segment_restore(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    act = lambda segment, data: services.segment_restore(segment=segment, user=request.user)  # noqa: E731
    return _segment_action(request, project_id, segment_id, form_class=_EmptyForm, action=act, form_name="restore_form")


@login_required
@require_POST
def segment_retry(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    act = lambda segment, data: services.segment_retry(segment=segment, user=request.user)  # noqa: E731
    return _segment_action(request, project_id, segment_id, form_class=_EmptyForm, action=act, form_name="retry_form")


@login_required
@require_POST
def segment_notes(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    act = lambda segment, data: services.segment_update_notes(segment=segment, user_notes=data["user_notes"])  # noqa: E731
    return _segment_action(request, project_id, segment_id, form_class=NotesForm, action=act, form_name="notes_form")


@login_required
@require_GET
def segment_compare(request: HttpRequest, project_id: int, shot_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    shot = _shot(project, shot_id)
    ids = request.GET.getlist("segment")
    if len(ids) != 2 or not all(i.isdigit() for i in ids) or ids[0] == ids[1]:
        messages.error(request, "Tick exactly two versions to compare.")
        return redirect("review_shot", project_id=project.pk, shot_id=shot.pk)
    segments = [s for s in selectors.shot_versions(shot=shot) if str(s.pk) in ids]
    if len(segments) != 2:
        raise Http404("Those are not both versions of this shot.")
    segments.sort(key=lambda s: s.version)
    context = {"project": project, "shot": shot, "pair": segments, **stage_context(project, current="review")}
    return render(request, "storyboard/compare.html", context)


# Media -----------------------------------------------------------------------


@login_required
@require_GET
def segment_video(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    segment = get_object_or_404(VideoSegment.objects.exclude(video=""), pk=segment_id, project=project)
    return serve_file(request, segment.video)


@login_required
@require_GET
def segment_thumb(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    segment = get_object_or_404(VideoSegment.objects.exclude(thumbnail=""), pk=segment_id, project=project)
    return serve_file(request, segment.thumbnail)
