"""The Plan stage: prompt, clarifying questions, brief and script; then scenes and shots setup."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from generation.services import BudgetExceededError
from projects import selectors, services
from projects.access import project_for
from projects.forms import (
    AnswerForm,
    BriefTextForm,
    ElementFormSet,
    PromptForm,
)
from projects.models import ClarifyingQuestion, Role, VideoProject
from projects.views import stage_context


def _elements_initial(project: VideoProject) -> list[dict]:
    return [{"kind": e.kind, "name": e.name, "description": e.description} for e in project.elements.all()]


def plan_context(project: VideoProject, **overrides: object) -> dict[str, object]:
    context = {
        "project": project,
        "prompt_form": PromptForm(instance=project),
        "questions": list(ClarifyingQuestion.objects.filter(project=project).order_by("order")),
        "brief_form": BriefTextForm(instance=project),
        "element_formset": ElementFormSet(initial=_elements_initial(project), prefix="el"),
        "jobs": selectors.plan_jobs(project=project),
        "scene_count": project.scenes.count(),
        "shot_count": project.shots.count(),
    }
    return {**context, **overrides}


def _section(
    request: HttpRequest, project: VideoProject, name: str, status: int = 200, **extra: object
) -> HttpResponse:
    context = {**plan_context(project, **extra), **stage_context(project, current="plan")}
    return render(request, f"projects/plan.html#{name}", context, status=status)


def _spend(request: HttpRequest, project: VideoProject, start: callable, section: str) -> HttpResponse:  # type: ignore[valid-type]
    try:
        start()
    except (BudgetExceededError, ValidationError) as error:
        return _section(request, project, section, status=422, job_error=" ".join(error.messages))
    return _section(request, project, section)


@login_required
@require_GET
def plan(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    context = {**plan_context(project), **stage_context(project, current="plan"), "plan_tab": "brief"}
    return render(request, "projects/plan.html", context)


SECTIONS = ("questions", "brief", "script")


@login_required
@require_GET
def plan_section(request: HttpRequest, project_id: int, section: str) -> HttpResponse:
    """One section again: the fallback poll while a draft runs, if the websocket is not there."""
    project = project_for(request, project_id)
    if section not in SECTIONS:
        raise Http404("No such section.")
    return _section(request, project, section)


@login_required
@require_POST
def plan_autosave(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = PromptForm(request.POST, instance=project)
    if not form.is_valid():
        # Nothing is overwritten in the page: the typed text stays in the fields and in the browser's draft.
        return _section(request, project, "save-state", status=422, prompt_form=form, save_failed=True)
    services.project_update(project=project, **form.cleaned_data)
    return _section(request, project, "save-state", saved_at=timezone.localtime())


@login_required
@require_POST
def question_answer(request: HttpRequest, project_id: int, question_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    question = get_object_or_404(ClarifyingQuestion, pk=question_id, project=project)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        context = {
            "project": project,
            "q": question,
            "answer_error": " ".join(m for e in form.errors.values() for m in e),
        }
        return render(request, "projects/plan.html#question", context, status=422)
    question = services.question_answer(question=question, answer=form.cleaned_data["answer"])
    return render(request, "projects/plan.html#question", {"project": project, "q": question, "answer_saved": True})


@login_required
@require_POST
def questions_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    return _spend(request, project, lambda: services.questions_request(project=project, user=request.user), "questions")


@login_required
@require_POST
def brief_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    return _spend(request, project, lambda: services.brief_request(project=project, user=request.user), "brief")


@login_required
@require_POST
def brief_save(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = BriefTextForm(request.POST, instance=project)
    formset = ElementFormSet(request.POST, prefix="el")
    if not (form.is_valid() and formset.is_valid()):
        project.refresh_from_db()
        return _section(request, project, "brief", status=422, brief_form=form, element_formset=formset)
    elements = [
        services.ElementSpec(f.cleaned_data["kind"], f.cleaned_data["name"], f.cleaned_data["description"])
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]
    services.brief_update(project=project, elements=elements, **form.cleaned_data)
    return _section(request, project, "brief", brief_saved=True)


@login_required
@require_POST
def script_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    return _spend(request, project, lambda: services.script_request(project=project, user=request.user), "script")
