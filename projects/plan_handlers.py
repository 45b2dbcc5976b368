"""How finished text jobs land in the plan: questions, brief and script on the project, shots on a scene."""

from typing import TYPE_CHECKING

from generation import schemas
from generation.handlers import HANDLERS, Handler
from projects import services
from projects.models import ProjectScene, VideoProject

if TYPE_CHECKING:
    from generation.ingest import Media
    from generation.models import Job

APPLY = {
    "questions": lambda project, result: services.questions_apply(project=project, result=result),
    "brief": lambda project, result: services.brief_apply(project=project, result=result),
    "script": lambda project, result: services.script_apply(project=project, result=result),
}


def _result(job: "Job") -> dict:
    task = job.input["task"]
    # Validated again here: whatever the provider, nothing malformed reaches the plan.
    return schemas.TASKS[task].model_validate(job.output["data"]["result"]).model_dump()


def _project_success(project: VideoProject, job: "Job", media: list["Media"]) -> None:
    APPLY[job.input["task"]](project, _result(job))


def _scene_success(scene: ProjectScene, job: "Job", media: list["Media"]) -> None:
    services.shots_apply(scene=scene, result=_result(job))


def _nothing(target: object, job: "Job") -> None:
    """The plan shows a draft's progress from the job itself; nothing to mirror on the target."""


def _project_failure(project: VideoProject, job: "Job") -> None:
    if project.is_quick and job.input.get("task") == "script":
        services.quick_storyboard_failed(project=project)


HANDLERS["projects.videoproject"] = Handler(_nothing, _project_success, _project_failure, expects_files=False)
HANDLERS["projects.projectscene"] = Handler(_nothing, _scene_success, _nothing, expects_files=False)
