"""What a plan job's progress pushes to open pages: a status line while it runs, the whole section when done.

While a draft runs only its status line is replaced, so nobody's half-typed
text elsewhere on the page is overwritten.
"""

from generation.live import register_fragments
from generation.live import render_partial as render_to_string
from generation.models import Job
from projects.models import ProjectScene, ShotImage, VideoProject

WORKING = {
    "questions": "Thinking of questions…",
    "brief": "Writing the brief…",
    "script": "Drafting scenes and shots…",
}


def _status(job: Job, status_id: str, working: str) -> str:
    context = {"job": job, "status_id": status_id, "working": working, "oob": True}
    return render_to_string("projects/_job_status.html", context)


def project_fragments(project: VideoProject, job: Job) -> dict[str, str]:
    from projects.plan_views import plan_context  # noqa: PLC0415 - views import this app's models

    task = job.input.get("task")
    if task not in WORKING or project.is_quick:  # a Quick project's board is the editor app's
        return {}
    if not job.is_terminal:
        return {f"{task}-status": _status(job, f"{task}-status", WORKING[task])}
    return {task: render_to_string(f"projects/plan.html#{task}", {**plan_context(project), "oob": True})}


def scene_fragments(scene: ProjectScene, job: Job) -> dict[str, str]:
    from projects.scene_views import scenes_context  # noqa: PLC0415

    status_id = f"redraft-status-{scene.pk}"
    if not job.is_terminal:
        return {status_id: _status(job, status_id, "Redrafting shots…")}
    context = {**scenes_context(scene.project), "oob": True}
    return {"scene-list": render_to_string("projects/scenes.html#scene-list", context)}


register_fragments("projects.videoproject", project_fragments)
register_fragments("projects.projectscene", scene_fragments)


def image_fragment(image: ShotImage, job: Job) -> dict[str, str]:
    context = {"project": image.project, "image": image, "shot": image.shot, "oob": True}
    return {f"tile-{image.pk}": render_to_string("projects/iterate.html#tile", context)}


register_fragments("projects.shotimage", image_fragment)
