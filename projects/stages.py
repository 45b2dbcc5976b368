"""The stage navigation of a project: one page per stage of the pipeline."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Stage:
    slug: str
    name: str
    summary: str
    url_name: str  # the stage's page


STAGES: tuple[Stage, ...] = (
    Stage("plan", "Plan", "Prompt, clarifying questions, the brief, and a script of scenes and shots.", "project_plan"),
    Stage(
        "iterate",
        "Iterate",
        "Six image variants per shot, img2img refinement, favorites and the master image.",
        "project_iterate",
    ),
    Stage(
        "storyboard",
        "Storyboard",
        "Every master image in order, and image-to-video animation per shot.",
        "project_storyboard",
    ),
    Stage("review", "Review", "Preview each animated segment; approve, reject or regenerate it.", "project_review"),
    Stage("sound", "Sound", "Voiceover per scene, a music bed by mood, optional lipsync.", "project_sound"),
    Stage(
        "compile",
        "Compile",
        "Approved segments in order with transitions, mixed audio and captions.",
        "project_compile",
    ),
    Stage("edit", "Edit", "A timeline editor and MP4 export in 16:9, 9:16 or 1:1.", "project_edit"),
)
# Quick (v1) projects: the one-page storyboard on autopilot, then the same editor.
QUICK_STAGES: tuple[Stage, ...] = (
    Stage(
        "quick",
        "Storyboard",
        "Prompt, questions, one image per scene, and every clip generated at once.",
        "project_quick",
    ),
    STAGES[-1],
)
STAGE_BY_SLUG = {stage.slug: stage for stage in STAGES + QUICK_STAGES}


def stages_of(project) -> tuple[Stage, ...]:  # noqa: ANN001 - a VideoProject (models import this module's users)
    return QUICK_STAGES if project.is_quick else STAGES


def stage_url(stage: Stage, project_id: int) -> str:
    return reverse(stage.url_name, args=[project_id])
