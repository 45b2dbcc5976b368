"""Quick mode (v1, seed 004): prompt, questions, a storyboard of one image per scene, every clip at once, the editor.

One page whose board follows the project's status. It lives in the editor app
because its last step is a compile and the editor; the storyboard's writes are
projects.services.quick_*, the compile is editor.services.quick_compile.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from editor import services
from editor.models import CompileJob, CompileStatus, RenderPurpose
from generation.models import ACTIVE
from projects import legacy, selectors
from projects import services as project_services
from projects.access import project_for
from projects.forms import MoveForm, OrderForm, QuickAnswersForm, QuickClipsForm, QuickSceneForm
from projects.models import ClarifyingQuestion, ProjectStatus, Role, Scene, VideoClip, VideoProject
from projects.views import stage_context
from videopipe.media import serve_file

PHASES = [
    (ProjectStatus.INPUT, "Idea"),
    (ProjectStatus.GENERATING_STORYBOARD, "Drafting"),
    (ProjectStatus.STORYBOARD, "Storyboard"),
    (ProjectStatus.GENERATING_VIDEO, "Clips"),
    (ProjectStatus.EDITOR, "Editor"),
]


def quick_context(project: VideoProject, **extra: object) -> dict[str, object]:
    scenes = selectors.quick_scenes(project=project)
    scene_forms = extra.pop("scene_forms", None) or {}
    for scene in scenes:
        scene.form = scene_forms.get(scene.pk) or QuickSceneForm(instance=scene, prefix=f"scene-{scene.pk}")
    questions = list(ClarifyingQuestion.objects.filter(project=project).order_by("order"))
    jobs = selectors.plan_jobs(project=project)
    questions_job, script_job = jobs.get("questions"), jobs.get("script")
    compile_job = (
        CompileJob.objects.filter(project=project, purpose=RenderPurpose.COMPILE).select_related("final_video").first()
    )
    clips_done = sum(1 for s in scenes if s.clip and s.clip.status == "complete" and not s.clip_stale)
    clips_failed = sum(1 for s in scenes if s.clip and s.clip.status == "failed")
    stalled = _compile_stalled(project, scenes)
    status = ProjectStatus(project.status)
    phase_index = [p for p, _ in PHASES].index(status)
    return {
        "project": project,
        "phases": [
            {"name": name, "done": i < phase_index, "current": i == phase_index} for i, (_, name) in enumerate(PHASES)
        ],
        "scenes": scenes,
        "answers_form": extra.pop("answers_form", None) or QuickAnswersForm(questions=questions),
        "questions_job": questions_job,
        "questions_working": bool(questions_job and questions_job.status in ACTIVE),
        "script_job": script_job,
        "drawing": sum(1 for s in scenes if s.drawing),
        "images_ready": sum(1 for s in scenes if s.image and not s.drawing),
        "clips_done": clips_done,
        "clips_failed": clips_failed,
        "clips_percent": round(100 * clips_done / len(scenes)) if scenes else 0,
        "compile_job": compile_job,
        "clips_running": any(s.clip and s.clip.status in ("pending", "processing") for s in scenes),
        "compile_stalled": stalled,
        "board_working": _board_working(project, questions_job, script_job, scenes, compile_job, stalled=stalled),
        **extra,
    }


STALL = timedelta(seconds=30)


def _compile_stalled(project: VideoProject, scenes: list) -> bool:
    """Every clip landed a while ago and the compile never started (its message was lost, say)."""
    if project.status != ProjectStatus.GENERATING_VIDEO or not scenes:
        return False
    if not all(s.clip and s.clip.status == "complete" and not s.clip_stale for s in scenes):
        return False
    return max(s.clip.updated_at for s in scenes) < timezone.now() - STALL


def _board_working(project: VideoProject, questions_job, script_job, scenes, compile_job, *, stalled: bool) -> bool:  # noqa: ANN001
    """Whether the board changes by itself (it is then read-only, so a refresh loses nothing)."""
    if questions_job and questions_job.status in ACTIVE and project.status == ProjectStatus.INPUT:
        return True
    if project.status == ProjectStatus.GENERATING_STORYBOARD:
        return bool(script_job and script_job.status in ACTIVE)
    if project.status == ProjectStatus.GENERATING_VIDEO:
        # Clips still running, or all done and the compile about to start; a failure waits for the user.
        return not any(s.clip and s.clip.status == "failed" for s in scenes) and not stalled
    if project.status == ProjectStatus.EDITOR:
        return compile_job is None or compile_job.is_active
    return False


def _scene_card(
    request: HttpRequest, project: VideoProject, scene: Scene, status: int = 200, **extra: object
) -> HttpResponse:
    """One scene's card, and the actions (the clip button waits for every image): the other scenes keep their typing."""
    project.refresh_from_db(fields=["status", "updated_at"])
    context = {**quick_context(project, **extra), **stage_context(project, current="quick")}
    context["scene"] = next(s for s in context["scenes"] if s.pk == scene.pk)
    html = render_to_string("editor/quick.html#scene-card", context, request=request)
    html += render_to_string("editor/quick.html#actions", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


def _board(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    project.refresh_from_db(fields=["status", "updated_at"])  # the services change it on their own locked copy
    context = {**quick_context(project, **extra), **stage_context(project, current="quick")}
    template = "editor/quick.html#board" if request.htmx else "editor/quick.html"
    return render(request, template, context, status=status)


PARTS = {"board": "board", "actions": "actions", "scene": "scene-image"}


@login_required
@require_GET
def quick(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    if not project.is_quick:
        return redirect("project_detail", project.pk)
    job = CompileJob.objects.filter(project=project, purpose=RenderPurpose.COMPILE).first()
    if request.GET.get("follow") and job and job.status == CompileStatus.SUCCEEDED:
        # The user watched it compile: the editor is the last step of the one click.
        return HttpResponseClientRedirect(reverse("project_edit", args=[project.pk]))
    if not request.htmx:
        return _board(request, project)
    context = {**quick_context(project), **stage_context(project, current="quick")}
    part = request.GET.get("part", "board")
    if part == "scene":
        context["scene"] = next((s for s in context["scenes"] if str(s.pk) == request.GET.get("scene")), None)
        if context["scene"] is None:
            raise Http404("No such scene.")
    return render(request, f"editor/quick.html#{PARTS.get(part, 'board')}", context)


def _editable(request: HttpRequest, project_id: int) -> VideoProject:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    if not project.is_quick:
        raise Http404("Quick mode is for Quick projects.")
    return project


@login_required
@require_POST
def quick_questions(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    if project.status != ProjectStatus.INPUT:
        return _board(request, project, status=422, action_error="Questions come before the storyboard.")
    return _act(request, project, lambda: project_services.questions_request(project=project, user=request.user))


@login_required
@require_POST
def quick_storyboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    questions = list(ClarifyingQuestion.objects.filter(project=project).order_by("order"))
    form = QuickAnswersForm(request.POST, questions=questions)
    if not form.is_valid():
        return _board(request, project, status=422, answers_form=form)
    answers = form.answers()
    return _act(
        request,
        project,
        lambda: project_services.quick_storyboard_request(project=project, user=request.user, answers=answers),
    )


@login_required
@require_POST
def quick_scene_update(request: HttpRequest, project_id: int, v1_scene_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    scene = get_object_or_404(Scene, pk=v1_scene_id, project=project)
    form = QuickSceneForm(request.POST, instance=scene, prefix=f"scene-{scene.pk}")
    if not form.is_valid():
        return _scene_card(request, project, scene, status=422, scene_forms={scene.pk: form})
    try:
        project_services.quick_scene_update(scene=scene, **form.cleaned_data)
    except ValidationError as error:
        return _board(request, project, status=422, action_error=" ".join(error.messages))
    return _scene_card(request, project, scene, saved_scene=scene.pk)


def _act(request: HttpRequest, project: VideoProject, change, **done: object) -> HttpResponse:  # noqa: ANN001
    """Run a service; the board again, or with the refusal (budget included) as a 422."""
    try:
        change()
    except ValidationError as error:
        return _board(request, project, status=422, action_error=" ".join(error.messages))
    return _board(request, project, **done)


@login_required
@require_POST
def quick_scene_move(request: HttpRequest, project_id: int, v1_scene_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    scene = get_object_or_404(Scene, pk=v1_scene_id, project=project)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _board(request, project, status=422, action_error="Move a scene up or down.")
    return _act(request, project, lambda: project_services.quick_scene_move(scene=scene, offset=form.offset))


@login_required
@require_POST
def quick_scenes_reorder(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    form = OrderForm(request.POST)
    if not form.is_valid():
        return _board(request, project, status=422, action_error=" ".join(form.errors["ids"]))
    ids = form.cleaned_data["ids"]
    return _act(request, project, lambda: project_services.quick_scenes_reorder(project=project, scene_ids=ids))


@login_required
@require_POST
def quick_scene_regenerate(request: HttpRequest, project_id: int, v1_scene_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    scene = get_object_or_404(Scene, pk=v1_scene_id, project=project)
    # The button is in the scene's form: what was typed is saved first, and the new image follows it.
    form = QuickSceneForm(request.POST, instance=Scene.objects.get(pk=scene.pk), prefix=f"scene-{scene.pk}")
    if request.POST and not form.is_valid():
        return _scene_card(request, project, scene, status=422, scene_forms={scene.pk: form})
    try:
        if request.POST:
            project_services.quick_scene_update(scene=scene, **form.cleaned_data)
        project_services.quick_scene_regenerate(scene=Scene.objects.get(pk=scene.pk), user=request.user)
    except ValidationError as error:
        return _scene_card(request, project, scene, status=422, scene_error=" ".join(error.messages))
    return _scene_card(request, project, scene)


@login_required
@require_GET
def quick_clips_estimate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    estimate = project_services.quick_clips_estimate(project=project)
    return _board(request, project, estimate=estimate)


@login_required
@require_POST
def quick_clips(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    form = QuickClipsForm(request.POST)
    if not form.is_valid():
        return _board(request, project, status=422, action_error="Open the cost estimate again and confirm it.")
    data = form.cleaned_data
    return _act(
        request,
        project,
        lambda: project_services.quick_clips_request(
            project=project,
            user=request.user,
            expected_total=data["expected_total"],
            expected_scene_ids=data["scenes"],
        ),
    )


@login_required
@require_POST
def quick_convert(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    report = legacy.project_convert(project=project)
    if report.busy:
        return _board(request, project, status=422, action_error=f"Not yet: {report.busy}")
    messages.success(request, report.describe(dry_run=False))
    url = reverse("project_detail", args=[project.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def quick_reopen(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    notice = "Back on the storyboard. Finished clips are kept; changed scenes get new ones."
    return _act(request, project, lambda: project_services.quick_storyboard_reopen(project=project), notice=notice)


@login_required
@require_POST
def quick_compile_now(request: HttpRequest, project_id: int) -> HttpResponse:
    project = _editable(request, project_id)
    if not _compile_stalled(project, selectors.quick_scenes(project=project)):
        return _board(request, project, status=422, action_error="The compile starts by itself once every clip is in.")
    services.quick_compile(project_id=project.pk)
    return _board(request, project)


@login_required
@require_GET
def v1_clip_file(request: HttpRequest, project_id: int, clip_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    clip = get_object_or_404(VideoClip.objects.exclude(video=""), pk=clip_id, project=project)
    return serve_file(request, clip.video)
