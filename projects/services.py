"""All writes to teams and the project hierarchy.

Numbering rule: scene_number and shot_number are dense from 1 and unique per
parent. Every write that changes them first locks the parent row, so two
concurrent reorders or inserts serialize instead of colliding.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Max, Q

from projects.models import (
    STYLE_PROMPTS,
    V1_STATUSES,
    V2_STATUSES,
    VARIANTS_PER_ITERATION,
    ClarifyingQuestion,
    GenerationStatus,
    Membership,
    ProjectScene,
    ProjectStatus,
    Role,
    Scene,
    SceneShot,
    ShotImage,
    StoryboardSelection,
    StoryElement,
    Team,
    VideoClip,
    VideoProject,
    WorkflowVersion,
)
from projects.selectors import quick_scenes
from projects.signals import master_changed
from projects.tasks import delete_stored_files

if TYPE_CHECKING:
    from generation.models import Job
    from generation.services import JobSpec
from videopipe.media import cascade_of, stored_files_of

User = get_user_model()

# Added to every number before a renumbering, so the final values never
# collide with old ones under the (non-deferrable) unique constraints.
_RENUMBER_OFFSET = 1_000_000


def _delete_with_files(obj: models.Model) -> None:
    """Delete obj and its children; stop the work still running for them; remove their files after commit."""
    from generation.services import jobs_cancel_for  # noqa: PLC0415 - generation builds on projects

    cascade = cascade_of([obj])
    names = stored_files_of(cascade)
    jobs_cancel_for(cascade, reason="What it was making was deleted.")
    obj.delete()
    if names:
        transaction.on_commit(lambda: delete_stored_files.send(names), robust=True)


def _lock(model: type[models.Model], pk: int) -> models.Model:
    return model.objects.select_for_update().get(pk=pk)


def _renumber(queryset: models.QuerySet, field: str, ordered_ids: Sequence[int]) -> None:
    queryset.update(**{field: F(field) + _RENUMBER_OFFSET})
    objs = [queryset.model(pk=pk, **{field: number}) for number, pk in enumerate(ordered_ids, start=1)]
    queryset.model.objects.bulk_update(objs, [field])


def _insert_position(position: int | None, count: int) -> int:
    if position is None:
        return count + 1
    if position < 1 or position > count + 1:
        raise ValidationError(f"Position must be between 1 and {count + 1}.")
    return position


def _insert_numbered(siblings: models.QuerySet, field: str, position: int | None, obj: models.Model) -> models.Model:
    """Save obj at position among siblings (appended by default), keeping numbers dense. The parent is locked."""
    number = _insert_position(position, siblings.count())
    siblings.filter(**{f"{field}__gte": number}).update(**{field: F(field) + _RENUMBER_OFFSET})
    setattr(obj, field, number)
    obj.full_clean(exclude=[field], validate_constraints=False)
    obj.save()
    shifted = siblings.filter(**{f"{field}__gt": _RENUMBER_OFFSET}).order_by(field).values_list("pk", flat=True)
    siblings.model.objects.bulk_update(
        [siblings.model(pk=pk, **{field: number + i}) for i, pk in enumerate(shifted, start=1)], [field]
    )
    return obj


def _reorder(siblings: models.QuerySet, field: str, ids: Sequence[int], what: str) -> None:
    current = set(siblings.values_list("pk", flat=True))
    if len(ids) != len(current) or set(ids) != current:
        raise ValidationError(f"The new order must list every {what} exactly once.")
    _renumber(siblings, field, ids)


def _update(obj: models.Model, fields: dict, editable: set[str]) -> None:
    unknown = set(fields) - editable
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean(validate_constraints=False)
    obj.save(update_fields=[*fields, "updated_at"])


# Teams and members ---------------------------------------------------------


@transaction.atomic
def team_create(*, name: str, owner: AbstractBaseUser) -> Team:
    team = Team.objects.create(name=name.strip())
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


@transaction.atomic
def user_signup(*, username: str, email: str, password: str) -> AbstractBaseUser:
    user = User.objects.create_user(username=username, email=email, password=password)
    team_create(name=f"{username}'s team", owner=user)
    return user


def _find_user(identifier: str) -> AbstractBaseUser:
    identifier = identifier.strip()
    matches = list(
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True)[:2]
    )
    if len(matches) != 1:
        raise ValidationError("No single account has that username or email. Ask them to sign up first.")
    return matches[0]


@transaction.atomic
def membership_add(*, team: Team, identifier: str, role: str) -> Membership:
    user = _find_user(identifier)
    if Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member of {team.name}.")
    return Membership.objects.create(team=team, user=user, role=Role(role))


def _ensure_another_owner(membership: Membership) -> None:
    # Lock the team's owner rows so two owners demoting each other cannot leave none.
    owners = list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        raise ValidationError("A team needs at least one owner. Make someone else an owner first.")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    role = Role(role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    membership.delete()


@transaction.atomic
def team_set_budget(*, team: Team, monthly_budget: Decimal) -> Team:
    if monthly_budget < 0:
        raise ValidationError("The budget cannot be negative.")
    team.monthly_budget = monthly_budget
    team.save(update_fields=["monthly_budget", "updated_at"])
    return team


@transaction.atomic
def team_rename(*, team: Team, name: str) -> Team:
    team.name = name.strip()
    team.save(update_fields=["name", "updated_at"])
    return team


# Projects ------------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    team: Team,
    user: AbstractBaseUser | None,
    title: str,
    prompt: str,
    prompt_planner_data: str = "",
    workflow_version: str = WorkflowVersion.V2_REDESIGN,
    aspect_ratio: str = "16:9",
    target_duration: int = 30,
    tone: str = "",
    audience: str = "",
    style: str = "",
) -> VideoProject:
    status = ProjectStatus.INPUT if workflow_version == WorkflowVersion.V1_LEGACY else ProjectStatus.PROMPT_PLANNING
    project = VideoProject(
        team=team,
        created_by=user,
        title=title.strip(),
        prompt=prompt.strip(),
        prompt_planner_data=prompt_planner_data,
        workflow_version=workflow_version,
        status=status,
        aspect_ratio=aspect_ratio,
        target_duration=target_duration,
        tone=tone,
        audience=audience,
        style=style,
    )
    project.full_clean()
    project.save()
    return project


_PROJECT_EDITABLE = {
    "style_preset",
    "pacing",
    "key_message",
    "title",
    "prompt",
    "prompt_planner_data",
    "tone",
    "audience",
    "style",
    "aspect_ratio",
    "target_duration",
}


@transaction.atomic
def project_update(*, project: VideoProject, **fields: object) -> VideoProject:
    unknown = set(fields) - _PROJECT_EDITABLE
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(project, name, value)
    project.full_clean()
    project.save(update_fields=[*fields, "updated_at"])
    return project


@transaction.atomic
def project_set_status(*, project: VideoProject, status: str) -> VideoProject:
    allowed = V1_STATUSES if project.workflow_version == WorkflowVersion.V1_LEGACY else V2_STATUSES
    if status not in allowed:
        raise ValidationError(f"{status!r} is not a status of a {project.get_workflow_version_display()} project.")
    project.status = status
    project.save(update_fields=["status", "updated_at"])
    return project


def project_touch(*, project: VideoProject) -> None:
    VideoProject.objects.filter(pk=project.pk).update(updated_at=models.functions.Now())


@transaction.atomic
def project_delete(*, project: VideoProject) -> None:
    _delete_with_files(project)


# Scenes --------------------------------------------------------------------


@dataclass(frozen=True)
class ShotSpec:
    description: str
    initial_prompt: str = ""


@transaction.atomic
def scene_create(
    *,
    project: VideoProject,
    title: str,
    description: str = "",
    narration: str = "",
    duration: int = 5,
    position: int | None = None,
) -> ProjectScene:
    _lock(VideoProject, project.pk)
    scene = ProjectScene(project=project, title=title, description=description, narration=narration, duration=duration)
    _insert_numbered(ProjectScene.objects.filter(project=project), "scene_number", position, scene)
    project_touch(project=project)
    return scene


@transaction.atomic
def scene_create_with_shots(
    *, project: VideoProject, title: str, description: str = "", narration: str = "", shots: Sequence[ShotSpec] = ()
) -> ProjectScene:
    scene = scene_create(project=project, title=title, description=description, narration=narration)
    SceneShot.objects.bulk_create(
        [
            SceneShot(
                project=project,
                scene=scene,
                shot_number=number,
                description=spec.description,
                initial_prompt=spec.initial_prompt,
            )
            for number, spec in enumerate(shots, start=1)
        ]
    )
    return scene


_SCENE_EDITABLE = {"title", "description", "narration", "duration"}


@transaction.atomic
def scene_update(*, scene: ProjectScene, **fields: object) -> ProjectScene:
    _update(scene, fields, _SCENE_EDITABLE)
    project_touch(project=scene.project)
    return scene


@transaction.atomic
def scene_reorder(*, project: VideoProject, scene_ids: Sequence[int]) -> None:
    _lock(VideoProject, project.pk)
    _reorder(ProjectScene.objects.filter(project=project), "scene_number", scene_ids, "scene of the project")
    project_touch(project=project)


@transaction.atomic
def scene_move(*, scene: ProjectScene, offset: int) -> None:
    _lock(VideoProject, scene.project_id)
    ids = list(
        ProjectScene.objects.filter(project_id=scene.project_id).order_by("scene_number").values_list("pk", flat=True)
    )
    _move(ids, scene.pk, offset)
    _renumber(ProjectScene.objects.filter(project_id=scene.project_id), "scene_number", ids)
    project_touch(project=scene.project)


def _move(ids: list[int], pk: int, offset: int) -> None:
    index = ids.index(pk)
    target = min(max(index + offset, 0), len(ids) - 1)
    ids.insert(target, ids.pop(index))


@transaction.atomic
def scene_delete(*, scene: ProjectScene) -> None:
    _lock(VideoProject, scene.project_id)
    project = scene.project
    _delete_with_files(scene)
    remaining = ProjectScene.objects.filter(project=project)
    _renumber(remaining, "scene_number", list(remaining.order_by("scene_number").values_list("pk", flat=True)))
    project_touch(project=project)


# Shots ---------------------------------------------------------------------


@transaction.atomic
def shot_create(
    *, scene: ProjectScene, description: str, initial_prompt: str = "", framing: str = "", position: int | None = None
) -> SceneShot:
    _lock(ProjectScene, scene.pk)
    shot = SceneShot(
        project_id=scene.project_id,
        scene=scene,
        description=description,
        initial_prompt=initial_prompt,
        framing=framing,
    )
    _insert_numbered(SceneShot.objects.filter(scene=scene), "shot_number", position, shot)
    project_touch(project=scene.project)
    return shot


_SHOT_EDITABLE = {"description", "initial_prompt", "framing"}


@transaction.atomic
def shot_update(*, shot: SceneShot, **fields: object) -> SceneShot:
    _update(shot, fields, _SHOT_EDITABLE)
    project_touch(project=shot.project)
    return shot


@transaction.atomic
def shot_reorder(*, scene: ProjectScene, shot_ids: Sequence[int]) -> None:
    _lock(ProjectScene, scene.pk)
    _reorder(SceneShot.objects.filter(scene=scene), "shot_number", shot_ids, "shot of the scene")
    project_touch(project=scene.project)


@transaction.atomic
def shot_move(*, shot: SceneShot, offset: int) -> None:
    _lock(ProjectScene, shot.scene_id)
    ids = list(SceneShot.objects.filter(scene_id=shot.scene_id).order_by("shot_number").values_list("pk", flat=True))
    _move(ids, shot.pk, offset)
    _renumber(SceneShot.objects.filter(scene_id=shot.scene_id), "shot_number", ids)
    project_touch(project=shot.project)


@transaction.atomic
def shot_delete(*, shot: SceneShot) -> None:
    _lock(ProjectScene, shot.scene_id)
    scene = shot.scene
    _delete_with_files(shot)
    remaining = SceneShot.objects.filter(scene=scene)
    _renumber(remaining, "shot_number", list(remaining.order_by("shot_number").values_list("pk", flat=True)))
    project_touch(project=scene.project)


# Images and the storyboard -------------------------------------------------


@transaction.atomic
def shot_images_create_batch(
    *,
    shot: SceneShot,
    iteration_prompt: str,
    parent_image: ShotImage | None = None,
    count: int = VARIANTS_PER_ITERATION,
    metadata: dict | None = None,
) -> list[ShotImage]:
    """Create the pending variants of the shot's next iteration (0 for the first batch)."""
    _lock(SceneShot, shot.pk)
    if not 1 <= count <= VARIANTS_PER_ITERATION:
        raise ValidationError(f"An iteration has 1 to {VARIANTS_PER_ITERATION} variants.")
    if parent_image is not None:
        if parent_image.shot_id != shot.pk:
            raise ValidationError("The parent image belongs to another shot.")
        if not parent_image.is_complete:
            raise ValidationError("Only a finished image can be the parent of a refinement.")
    latest = ShotImage.objects.filter(shot=shot).aggregate(n=Max("iteration_number"))["n"]
    iteration = 0 if latest is None else latest + 1
    images = ShotImage.objects.bulk_create(
        [
            ShotImage(
                project_id=shot.project_id,
                scene_id=shot.scene_id,
                shot=shot,
                iteration_number=iteration,
                variant_number=variant,
                iteration_prompt=iteration_prompt,
                parent_image=parent_image,
                status=GenerationStatus.PENDING,
                metadata=dict(metadata or {}),
            )
            for variant in range(count)
        ]
    )
    project_touch(project=shot.project)
    return images


@transaction.atomic
def shot_image_set_favorite(*, image: ShotImage, is_favorite: bool) -> ShotImage:
    image.is_favorite = is_favorite
    image.save(update_fields=["is_favorite", "updated_at"])
    return image


@transaction.atomic
def shot_image_toggle_favorite(*, image: ShotImage) -> ShotImage:
    # Flip in SQL so two quick clicks from two tabs never both read the same old value.
    ShotImage.objects.filter(pk=image.pk).update(is_favorite=~F("is_favorite"), updated_at=models.functions.Now())
    image.refresh_from_db(fields=["is_favorite", "updated_at"])
    return image


@transaction.atomic
def shot_image_delete(*, image: ShotImage) -> None:
    if SceneShot.objects.filter(selected_image=image).exists():
        raise ValidationError("This image is the shot's master. Choose another master before deleting it.")
    _delete_with_files(image)


@transaction.atomic
def shot_select_master(*, shot: SceneShot, image: ShotImage) -> StoryboardSelection:
    """Make image the shot's master: sets the shot's selected image and its storyboard selection."""
    # Project, then shot: the order every writer of segments takes (storyboard.services).
    VideoProject.objects.select_for_update().filter(pk=shot.project_id).exists()
    shot = _lock(SceneShot, shot.pk)
    if image.shot_id != shot.pk:
        raise ValidationError("That image belongs to another shot.")
    if not image.is_complete:
        raise ValidationError("Only a finished image can be the master.")
    shot.selected_image = image
    shot.save(update_fields=["selected_image", "updated_at"])
    selection = StoryboardSelection.objects.filter(shot=shot).first()
    if selection is None:
        selection = StoryboardSelection.objects.create(
            project_id=shot.project_id, scene_id=shot.scene_id, shot=shot, selected_image=image
        )
    elif selection.selected_image_id != image.pk:
        # The animation belonged to the old master; it no longer matches the storyboard.
        from generation.services import jobs_cancel_for  # noqa: PLC0415

        jobs_cancel_for({StoryboardSelection: [selection.pk]}, reason="The shot's master image changed.")
        old_video = selection.animated_video.name
        selection.selected_image = image
        selection.animation_status = ""
        selection.animated_video = ""
        selection.prediction_id = ""
        selection.save()
        owned = {
            name
            for _, names in master_changed.send(sender=SceneShot, shot=shot, old_video=old_video)
            for name in names or ()
        }
        if old_video and old_video not in owned:
            transaction.on_commit(lambda: delete_stored_files.send([old_video]), robust=True)
    project = shot.project
    every_shot_has_a_master = not SceneShot.objects.filter(project=project, selected_image__isnull=True).exists()
    before_storyboard = (ProjectStatus.PROMPT_PLANNING, ProjectStatus.SCENES_SETUP, ProjectStatus.SHOT_ITERATION)
    if every_shot_has_a_master and project.status in before_storyboard:
        project_set_status(project=project, status=ProjectStatus.STORYBOARD_FINAL)
    project_touch(project=project)
    return selection


@transaction.atomic
def selection_set_animation(
    *, selection: StoryboardSelection, animation_status: str, prediction_id: str | None = None
) -> StoryboardSelection:
    if animation_status not in GenerationStatus.values:
        raise ValidationError(f"Unknown animation status {animation_status!r}.")
    selection.animation_status = animation_status
    fields = ["animation_status", "updated_at"]
    if prediction_id is not None:
        selection.prediction_id = prediction_id
        fields.append("prediction_id")
    selection.save(update_fields=fields)
    return selection


# The Plan stage --------------------------------------------------------------
# Questions, brief and script are drafted by the text provider as jobs whose
# target is the project (or the scene, for a shots redraft); the handlers in
# projects/plan_handlers.py apply a finished job through the *_apply services
# below. A failed draft changes nothing: the earlier plan stays as it was.

PLAN_TASKS = ("questions", "brief", "script")


def _plan_job(*, project: VideoProject, user: AbstractBaseUser, task: str, params: dict, target: models.Model) -> "Job":
    from generation.models import ACTIVE, Job  # noqa: PLC0415
    from generation.services import job_create  # noqa: PLC0415

    running = Job.objects.filter(
        project=project,
        capability="text",
        input__task=task,
        status__in=ACTIVE,
        target_id=target.pk,
        target_type__model=target._meta.model_name,
    ).first()
    if running:
        return running  # a second click while drafting is the same request
    return job_create(project=project, user=user, capability="text", input={"task": task, **params}, target=target)


def _brief_of(project: VideoProject) -> dict:
    elements = list(project.elements.order_by("kind", "order", "pk"))
    return {
        "tone": project.tone,
        "audience": project.audience,
        "style": ", ".join(filter(None, [project.style, STYLE_PROMPTS.get(project.style_preset, "")])),
        "pacing": project.pacing,
        "key_message": project.key_message,
        "characters": [{"name": e.name, "description": e.description} for e in elements if e.kind == "character"],
        "places": [{"name": e.name, "description": e.description} for e in elements if e.kind == "place"],
    }


def questions_request(*, project: VideoProject, user: AbstractBaseUser) -> "Job":
    return _plan_job(
        project=project,
        user=user,
        task="questions",
        params={"prompt": project.prompt, "brain_dump": project.prompt_planner_data},
        target=project,
    )


def brief_request(*, project: VideoProject, user: AbstractBaseUser) -> "Job":
    answers = [
        {"question": q.question, "answer": q.answer}
        for q in ClarifyingQuestion.objects.filter(project=project).exclude(answer="").order_by("order")
    ]
    return _plan_job(
        project=project,
        user=user,
        task="brief",
        params={"prompt": project.prompt, "brain_dump": project.prompt_planner_data, "answers": answers},
        target=project,
    )


def script_request(*, project: VideoProject, user: AbstractBaseUser) -> "Job":
    return _plan_job(
        project=project,
        user=user,
        task="script",
        params={"prompt": project.prompt, "brief": _brief_of(project), "target_duration": project.target_duration},
        target=project,
    )


def shots_redraft_request(*, scene: ProjectScene, user: AbstractBaseUser) -> "Job":
    params = {
        "scene": {"title": scene.title, "description": scene.description, "narration": scene.narration},
        "brief": _brief_of(scene.project),
    }
    return _plan_job(project=scene.project, user=user, task="shots", params=params, target=scene)


@transaction.atomic
def questions_apply(*, project: VideoProject, result: dict) -> list[ClarifyingQuestion]:
    """New questions replace the unanswered ones; answered questions and their answers stay."""
    ClarifyingQuestion.objects.filter(project=project, answer="").delete()
    kept = ClarifyingQuestion.objects.filter(project=project).aggregate(n=Max("order"))["n"] or 0
    return ClarifyingQuestion.objects.bulk_create(
        [
            ClarifyingQuestion(
                project=project,
                order=kept + n,
                question=item["question"][:500],
                suggested_answers=[str(a)[:200] for a in item["suggested_answers"]][:5],
            )
            for n, item in enumerate(result["questions"], start=1)
        ]
    )


@transaction.atomic
def question_answer(*, question: ClarifyingQuestion, answer: str) -> ClarifyingQuestion:
    question.answer = answer.strip()
    question.full_clean()
    question.save(update_fields=["answer", "updated_at"])
    project_touch(project=question.project)
    return question


@dataclass(frozen=True)
class ElementSpec:
    kind: str
    name: str
    description: str


@transaction.atomic
def brief_update(
    *, project: VideoProject, elements: Sequence[ElementSpec] | None = None, **fields: object
) -> VideoProject:
    """Save the brief's fields and, when given, replace its recurring characters and places."""
    allowed = {"tone", "audience", "style", "pacing", "key_message", "style_preset"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not part of the brief: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(project, name, value)
    project.full_clean()
    project.save(update_fields=[*fields, "updated_at"])
    if elements is not None:
        StoryElement.objects.filter(project=project).delete()
        StoryElement.objects.bulk_create(
            [
                StoryElement(project=project, kind=e.kind, name=e.name[:80], description=e.description[:400], order=n)
                for n, e in enumerate(elements)
            ]
        )
    return project


def brief_apply(*, project: VideoProject, result: dict) -> VideoProject:
    elements = [ElementSpec("character", c["name"], c["description"]) for c in result.get("characters", [])]
    elements += [ElementSpec("place", p["name"], p["description"]) for p in result.get("places", [])]
    fields = {
        name: str(result.get(name, ""))[: VideoProject._meta.get_field(name).max_length]
        for name in ("tone", "audience", "style", "pacing", "key_message")
    }
    return brief_update(project=project, elements=elements, **fields)


def compose_image_prompt(project: VideoProject, prompt: str) -> str:
    """The shot's prompt plus the project's style preset, once."""
    style = STYLE_PROMPTS.get(project.style_preset, "")
    if style and style.lower() not in prompt.lower():
        prompt = f"{prompt}, {style}" if prompt else style
    return prompt[:4000]


def _shot_specs(project: VideoProject, shots: Sequence[dict]) -> list[SceneShot]:
    return [
        SceneShot(
            project=project,
            shot_number=n,
            description=shot["description"][:4000],
            framing=shot.get("framing", "")[:120],
            initial_prompt=compose_image_prompt(project, shot["image_prompt"]),
        )
        for n, shot in enumerate(shots, start=1)
    ]


@transaction.atomic
def script_apply(*, project: VideoProject, result: dict) -> list[ProjectScene] | list[Scene]:
    """Replace the plan with the drafted script and move the project on to scenes setup."""
    project = _lock(VideoProject, project.pk)
    if project.is_quick:
        return quick_storyboard_apply(project=project, result=result)
    for scene in ProjectScene.objects.filter(project=project):
        _delete_with_files(scene)
    scenes = []
    for number, item in enumerate(result["scenes"], start=1):
        scene = ProjectScene.objects.create(
            project=project,
            scene_number=number,
            title=item["title"][:200],
            description=item.get("description", "")[:4000],
            narration=item.get("narration", "")[:4000],
            duration=max(1, min(120, int(item.get("duration", 5)))),
        )
        shots = _shot_specs(project, item["shots"])
        for shot in shots:
            shot.scene = scene
        SceneShot.objects.bulk_create(shots)
        scenes.append(scene)
    if project.status == ProjectStatus.PROMPT_PLANNING:
        project_set_status(project=project, status=ProjectStatus.SCENES_SETUP)
    project_touch(project=project)
    return scenes


@transaction.atomic
def shots_apply(*, scene: ProjectScene, result: dict) -> list[SceneShot]:
    """Replace one scene's shots with a redraft."""
    scene = _lock(ProjectScene, scene.pk)
    for shot in SceneShot.objects.filter(scene=scene):
        _delete_with_files(shot)
    shots = _shot_specs(scene.project, result["shots"])
    for shot in shots:
        shot.scene = scene
    created = SceneShot.objects.bulk_create(shots)
    project_touch(project=scene.project)
    return created


@transaction.atomic
def project_start_iteration(*, project: VideoProject) -> VideoProject:
    if not SceneShot.objects.filter(project=project).exists():
        raise ValidationError("Add at least one shot before moving on to image iteration.")
    if ProjectStatus(project.status) in (ProjectStatus.PROMPT_PLANNING, ProjectStatus.SCENES_SETUP):
        project_set_status(project=project, status=ProjectStatus.SHOT_ITERATION)
    return project


# The Iterate stage -----------------------------------------------------------


def _queue_variants(
    *, project: VideoProject, user: AbstractBaseUser, images: list[ShotImage], capability: str, base: dict
) -> None:
    """One job per variant, all or none within the budget; each image remembers its request for a retry."""
    from generation.services import JobSpec, jobs_create  # noqa: PLC0415

    specs = [
        JobSpec(capability=capability, input={**base, "variant": image.variant_number}, target=image)
        for image in images
    ]
    jobs = jobs_create(project=project, user=user, specs=specs)
    for image, job in zip(images, jobs, strict=True):
        image.metadata = {**image.metadata, "request": {"capability": capability, "input": job.input}}
    ShotImage.objects.bulk_update(images, ["metadata"])


@transaction.atomic
def shot_generate(*, shot: SceneShot, user: AbstractBaseUser, count: int = VARIANTS_PER_ITERATION) -> list[ShotImage]:
    """Fresh variants (six unless told) from the shot's prompt: iteration 0, or a new unparented iteration after it."""
    project = shot.project
    prompt = compose_image_prompt(project, shot.initial_prompt or shot.description)
    if not prompt.strip():
        raise ValidationError("Give the shot a description or an image prompt first.")
    images = shot_images_create_batch(shot=shot, iteration_prompt=prompt, count=count)
    _queue_variants(
        project=project,
        user=user,
        images=images,
        capability="image",
        base={"prompt": prompt, "aspect_ratio": project.aspect_ratio, "caption": shot.description[:300]},
    )
    if project.status in (ProjectStatus.PROMPT_PLANNING, ProjectStatus.SCENES_SETUP):
        project_set_status(project=project, status=ProjectStatus.SHOT_ITERATION)
    return images


@transaction.atomic
def shot_refine(
    *, shot: SceneShot, parent: ShotImage, instruction: str, strength: float, user: AbstractBaseUser
) -> list[ShotImage]:
    """Six img2img variants of parent, steered by instruction: the next iteration."""
    instruction = instruction.strip()
    if not instruction:
        raise ValidationError("Say what to change, for example “same composition, more dramatic clouds”.")
    images = shot_images_create_batch(
        shot=shot, iteration_prompt=instruction, parent_image=parent, metadata={"strength": strength}
    )
    base_prompt = shot.initial_prompt or shot.description
    _queue_variants(
        project=shot.project,
        user=user,
        images=images,
        capability="refine",
        base={
            "prompt": compose_image_prompt(shot.project, f"{base_prompt}. {instruction}"),
            "image": parent.image.name,
            "strength": strength,
            "aspect_ratio": shot.project.aspect_ratio,
        },
    )
    return images


@transaction.atomic
def shot_image_retry(*, image: ShotImage, user: AbstractBaseUser) -> ShotImage:
    from generation.services import job_create  # noqa: PLC0415

    image = _lock(ShotImage, image.pk)
    if image.status != GenerationStatus.FAILED:
        raise ValidationError("Only a failed variant can be retried.")
    request = image.metadata.get("request")
    if not request:
        raise ValidationError("This variant has no request to repeat; generate the shot again instead.")
    image.status = GenerationStatus.PENDING
    image.metadata = {k: v for k, v in image.metadata.items() if k != "error"}
    image.save(update_fields=["status", "metadata", "updated_at"])
    job_create(project=image.project, user=user, capability=request["capability"], input=request["input"], target=image)
    return image


@transaction.atomic
def shot_image_upload(*, shot: SceneShot, upload: object, user: AbstractBaseUser) -> ShotImage:
    """The user's own picture, checked and re-encoded, kept as a variant of a new iteration."""
    from django.core.files.base import ContentFile, File  # noqa: PLC0415

    from projects.imaging import checked_upload  # noqa: PLC0415

    picture = checked_upload(upload)
    shot = _lock(SceneShot, shot.pk)
    latest = ShotImage.objects.filter(shot=shot).aggregate(n=Max("iteration_number"))["n"]
    image = ShotImage(
        project_id=shot.project_id,
        scene_id=shot.scene_id,
        shot=shot,
        iteration_number=0 if latest is None else latest + 1,
        variant_number=0,
        iteration_prompt=f"Uploaded by {user.get_username()}",
        status=GenerationStatus.COMPLETE,
        metadata={
            "source": "upload",
            "provenance": {"provider": "upload", "uploaded_by": user.get_username(), "file": str(upload.name)[:120]},
        },
    )
    with picture.png:  # a temporary file: the re-encoded picture never sits whole in memory
        image.image.save("upload.png", File(picture.png, name="upload.png"), save=False)
    image.thumbnail.save("thumb.webp", ContentFile(picture.thumbnail), save=False)
    image.save()
    project_touch(project=shot.project)
    return image


# Quick mode (v1) -------------------------------------------------------------
#
# Seed 004's flow on the v1 tables: the prompt and optional questions become a
# storyboard of scenes with one image each; one click animates every scene at
# once; when the last clip lands, editor.services.quick_compile mirrors the
# scenes into the Director hierarchy, compiles them and the editor opens.

QUICK_CLIP_RESOLUTION = "720p"


def _quick(project: VideoProject, *allowed: str) -> VideoProject:
    """The project, locked, if it is a Quick project in one of the allowed states."""
    project = _lock(VideoProject, project.pk)
    if not project.is_quick:
        raise ValidationError("This is a Director project; Quick mode's storyboard is not part of it.")
    if allowed and project.status not in allowed:
        raise ValidationError(
            f"Not possible while the project is at “{project.get_status_display()}”. Reload the page."
        )
    return project


def quick_answers(*, project: VideoProject) -> list[dict]:
    return [
        {"question": q.question, "answer": q.answer}
        for q in ClarifyingQuestion.objects.filter(project=project).exclude(answer="").order_by("order")
    ]


@transaction.atomic
def quick_storyboard_request(
    *, project: VideoProject, user: AbstractBaseUser, answers: dict[int, str] | None = None
) -> "Job":
    """Save the answers and draft the storyboard (scenes, then one image each); a redraft replaces it."""
    from generation.services import jobs_cancel_for  # noqa: PLC0415

    project = _quick(project, ProjectStatus.INPUT, ProjectStatus.GENERATING_STORYBOARD, ProjectStatus.STORYBOARD)
    # The storyboard being replaced: nothing more is spent on its images.
    old_scenes = list(Scene.objects.filter(project=project).values_list("pk", flat=True))
    jobs_cancel_for({Scene: old_scenes}, reason="The storyboard is being redrafted.")
    for question in ClarifyingQuestion.objects.filter(project=project, pk__in=list(answers or {})):
        question.answer = answers[question.pk].strip()[:2000]
        question.save(update_fields=["answer", "updated_at"])
    job = _plan_job(
        project=project,
        user=user,
        task="script",
        params={
            "prompt": project.prompt,
            "brief": _brief_of(project),
            "target_duration": project.target_duration,
            "answers": quick_answers(project=project),
        },
        target=project,
    )
    project_set_status(project=project, status=ProjectStatus.GENERATING_STORYBOARD)
    return job


@transaction.atomic
def quick_storyboard_failed(*, project: VideoProject) -> None:
    """A draft that failed leaves the storyboard as it was: editable again, or back at the idea."""
    project = _lock(VideoProject, project.pk)
    if project.is_quick and project.status == ProjectStatus.GENERATING_STORYBOARD:
        back = ProjectStatus.STORYBOARD if Scene.objects.filter(project=project).exists() else ProjectStatus.INPUT
        project_set_status(project=project, status=back)


def _quick_image_spec(scene: Scene) -> "JobSpec":
    from generation.services import JobSpec  # noqa: PLC0415

    project = scene.project
    return JobSpec(
        capability="image",
        input={
            "prompt": compose_image_prompt(project, scene.image_prompt or scene.description)[:2000],
            "aspect_ratio": project.aspect_ratio,
            "caption": scene.description[:300],
        },
        target=scene,
    )


@transaction.atomic
def quick_storyboard_apply(*, project: VideoProject, result: dict) -> list[Scene]:
    """The drafted script as v1 scenes (the first shot's prompt draws each one), and their images queued."""
    from generation.models import Job  # noqa: PLC0415
    from generation.services import BudgetExceededError, jobs_create  # noqa: PLC0415

    project = _quick(project)
    for old in Scene.objects.filter(project=project):
        _delete_with_files(old)
    scenes = Scene.objects.bulk_create(
        [
            Scene(
                project=project,
                scene_number=number,
                description=(item.get("description") or item["title"])[:4000],
                image_prompt=item["shots"][0]["image_prompt"][:4000],
                duration=Decimal(max(1, min(60, int(item.get("duration", 5))))),
            )
            for number, item in enumerate(result["scenes"], start=1)
        ]
    )
    project_set_status(project=project, status=ProjectStatus.STORYBOARD)
    for scene in scenes:
        scene.project = project
    draft = Job.objects.filter(project=project, capability="text", input__task="script").order_by("-pk").first()
    user = (draft.created_by if draft else None) or project.created_by
    try:
        jobs_create(project=project, user=user, specs=[_quick_image_spec(s) for s in scenes])
    except BudgetExceededError:
        # The scenes stay; "New image" on each says what the budget allows once there is room.
        pass
    return scenes


_QUICK_SCENE_EDITABLE = {"description", "duration", "image_prompt"}


@transaction.atomic
def quick_scene_update(*, scene: Scene, description: str, duration: Decimal) -> Scene:
    """Only a real change is saved: it marks the scene's clip (if any) as needing to be made again."""
    _quick(scene.project, ProjectStatus.STORYBOARD)
    current = Scene.objects.get(pk=scene.pk)
    fields: dict[str, object] = {}
    if description.strip() != current.description:
        # The drafted image prompt described the old text; the next image follows the new one.
        fields |= {"description": description.strip(), "image_prompt": ""}
    if duration != current.duration:
        fields["duration"] = duration
    if fields:
        _update(scene, fields, _QUICK_SCENE_EDITABLE)
        project_touch(project=scene.project)
    return scene


@transaction.atomic
def quick_scenes_reorder(*, project: VideoProject, scene_ids: Sequence[int]) -> None:
    project = _quick(project, ProjectStatus.STORYBOARD)
    _reorder(Scene.objects.filter(project=project), "scene_number", scene_ids, "scene of the storyboard")
    project_touch(project=project)


@transaction.atomic
def quick_scene_move(*, scene: Scene, offset: int) -> None:
    _quick(scene.project, ProjectStatus.STORYBOARD)
    ids = list(Scene.objects.filter(project_id=scene.project_id).order_by("scene_number").values_list("pk", flat=True))
    _move(ids, scene.pk, offset)
    _renumber(Scene.objects.filter(project_id=scene.project_id), "scene_number", ids)
    project_touch(project=scene.project)


@transaction.atomic
def quick_scene_regenerate(*, scene: Scene, user: AbstractBaseUser) -> "Job":
    """A new image for the scene; the old one stays until the new one lands."""
    from generation.models import ACTIVE, Job  # noqa: PLC0415
    from generation.services import jobs_create  # noqa: PLC0415

    _quick(scene.project, ProjectStatus.STORYBOARD)
    running = Job.objects.filter(
        project_id=scene.project_id, target_type__model="scene", target_id=scene.pk, status__in=ACTIVE
    ).first()
    if running:
        return running  # a second click while drawing is the same request
    job = jobs_create(project=scene.project, user=user, specs=[_quick_image_spec(scene)])[0]
    if not scene.image_prompt:
        # Drawn from the text as it is now: the page stops saying the image shows older text.
        Scene.objects.filter(pk=scene.pk).update(image_prompt=scene.description[:4000])
    return job


@dataclass(frozen=True)
class QuickEstimate:
    scenes: list[Scene]  # the scenes a click would animate
    total: Decimal
    model_name: str


def _clip_seconds(duration: Decimal) -> int:
    # The video models make 5 s or 10 s clips; the compile trims nothing, so take the nearer.
    return 10 if duration > Decimal("7.5") else 5


def _quick_clip_input(scene: Scene) -> dict:
    return {
        "image": scene.image.name,
        "prompt": scene.description[:2000],
        "duration": _clip_seconds(scene.duration),
        "resolution": QUICK_CLIP_RESOLUTION,
        "aspect_ratio": scene.project.aspect_ratio,
    }


def quick_clips_estimate(*, project: VideoProject) -> QuickEstimate:
    """What animating every scene still without a clip would cost, before anything is spent."""
    from generation import registry  # noqa: PLC0415
    from generation.providers import requests  # noqa: PLC0415

    model = registry.resolve("video")
    scenes = [s for s in quick_scenes(project=project) if s.needs_clip]
    total = sum(
        (registry.estimate(model, requests.normalize("video", _quick_clip_input(s))) for s in scenes), Decimal("0")
    )
    return QuickEstimate(scenes=scenes, total=total.quantize(Decimal("0.01")), model_name=model.label)


@transaction.atomic
def quick_clips_request(
    *,
    project: VideoProject,
    user: AbstractBaseUser,
    expected_total: Decimal | None = None,
    expected_scene_ids: Sequence[int] | None = None,
) -> list[VideoClip]:
    """Animate every scene at once (or those whose clip failed), within the budget, at the price the user saw."""
    from generation.services import JobSpec, jobs_create  # noqa: PLC0415

    project = _quick(project, ProjectStatus.STORYBOARD, ProjectStatus.GENERATING_VIDEO)
    scenes = quick_scenes(project=project)
    if not scenes:
        raise ValidationError("The storyboard has no scenes yet.")
    not_ready = [s.scene_number for s in scenes if s.drawing or not s.image]
    if not_ready:
        raise ValidationError(
            f"Scene {', '.join(map(str, not_ready))} has no finished image yet. Wait for it, or regenerate it."
        )
    estimate = quick_clips_estimate(project=project)
    if not estimate.scenes:
        raise ValidationError("Every scene already has its clip or is being animated.")
    if expected_scene_ids is not None and sorted(expected_scene_ids) != sorted(s.pk for s in estimate.scenes):
        raise ValidationError("The scenes to animate changed since you looked. Nothing was spent; look again.")
    if expected_total is not None and abs(estimate.total - expected_total) >= Decimal("0.01"):
        raise ValidationError(
            f"The cost changed from ${expected_total:.2f} to ${estimate.total:.2f} since you looked. Nothing was spent."
        )
    clips = VideoClip.objects.bulk_create([VideoClip(project=project, scene=s) for s in estimate.scenes])
    specs = [
        JobSpec(capability="video", input=_quick_clip_input(scene), target=clip)
        for scene, clip in zip(estimate.scenes, clips, strict=True)
    ]
    jobs_create(project=project, user=user, specs=specs)
    project_set_status(project=project, status=ProjectStatus.GENERATING_VIDEO)
    return clips


@transaction.atomic
def quick_storyboard_reopen(*, project: VideoProject) -> VideoProject:
    """Back from the clips to the storyboard (when none is still being made): finished clips are kept."""
    from generation.models import ACTIVE, Job  # noqa: PLC0415

    project = _quick(project, ProjectStatus.GENERATING_VIDEO)
    if Job.objects.filter(project=project, capability="video", status__in=ACTIVE).exists():
        raise ValidationError("Clips are still being made. Wait for them, or cancel them in the activity list.")
    return project_set_status(project=project, status=ProjectStatus.STORYBOARD)


@transaction.atomic
def quick_clip_settled(*, project_id: int) -> None:
    """Called as each clip finishes: when every scene has its clip, the compile starts (once)."""
    from projects.signals import quick_clips_ready  # noqa: PLC0415

    # The lock serializes clips landing together, so exactly one of them sees the last one done.
    project = VideoProject.objects.select_for_update().get(pk=project_id)
    if project.status != ProjectStatus.GENERATING_VIDEO:
        return
    scenes = quick_scenes(project=project)
    if scenes and all(s.clip and s.clip.status == GenerationStatus.COMPLETE and not s.clip_stale for s in scenes):
        quick_clips_ready.send(sender=VideoProject, project=project)
