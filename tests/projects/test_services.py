import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from projects import selectors, services
from projects.models import (
    GenerationStatus,
    ProjectScene,
    ProjectStatus,
    SceneShot,
    ShotImage,
    StoryboardSelection,
    VideoProject,
    WorkflowVersion,
)
from tests.factories import build_tree, complete

pytestmark = pytest.mark.django_db


def numbers(queryset, field):
    return list(queryset.order_by(field).values_list(field, flat=True))


def test_it_creates_a_director_project_in_prompt_planning(team, owner):
    project = services.project_create(
        team=team, user=owner, title="Tokyo Dreams", prompt="Tokyo", prompt_planner_data="Brain dump here"
    )
    assert project.workflow_version == WorkflowVersion.V2_REDESIGN
    assert project.status == ProjectStatus.PROMPT_PLANNING
    assert project.prompt_planner_data == "Brain dump here"


def test_it_creates_a_quick_project_with_a_v1_status(team, owner):
    project = services.project_create(
        team=team, user=owner, title="Draft", prompt="Tokyo", workflow_version=WorkflowVersion.V1_LEGACY
    )
    assert project.status == ProjectStatus.INPUT
    with pytest.raises(ValidationError):
        services.project_set_status(project=project, status=ProjectStatus.SHOT_ITERATION)


def test_it_rejects_a_project_without_a_title(team, owner):
    with pytest.raises(ValidationError):
        services.project_create(team=team, user=owner, title="  ", prompt="Tokyo")
    assert not VideoProject.objects.exists()


def test_it_rejects_an_unknown_field_in_update(project):
    with pytest.raises(ValueError, match="team"):
        services.project_update(project=project, team=None)


def test_it_appends_scenes_and_inserts_at_a_position(project):
    first = services.scene_create(project=project, title="Opening")
    last = services.scene_create(project=project, title="Ending")
    middle = services.scene_create(project=project, title="Middle", position=2)
    assert [s.pk for s in selectors.project_scenes(project=project)] == [first.pk, middle.pk, last.pk]
    assert numbers(ProjectScene.objects.filter(project=project), "scene_number") == [1, 2, 3]
    with pytest.raises(ValidationError):
        services.scene_create(project=project, title="Far", position=9)


def test_it_creates_a_scene_with_its_shots(project):
    scene = services.scene_create_with_shots(
        project=project,
        title="Scene 1",
        description="City awakens",
        shots=[services.ShotSpec("Wide", "Tokyo Tower, sunrise"), services.ShotSpec("Close", "Street vendor")],
    )
    shots = list(selectors.scene_shots(scene=scene))
    assert [(s.shot_number, s.description, s.project_id) for s in shots] == [
        (1, "Wide", project.pk),
        (2, "Close", project.pk),
    ]


def test_it_reorders_scenes_densely(project):
    a, b, c = (services.scene_create(project=project, title=t) for t in "abc")
    services.scene_reorder(project=project, scene_ids=[c.pk, a.pk, b.pk])
    assert [s.title for s in selectors.project_scenes(project=project)] == ["c", "a", "b"]
    assert numbers(ProjectScene.objects.filter(project=project), "scene_number") == [1, 2, 3]


def test_it_refuses_a_reorder_that_is_not_a_permutation(project):
    a, _b = (services.scene_create(project=project, title=t) for t in "ab")
    with pytest.raises(ValidationError):
        services.scene_reorder(project=project, scene_ids=[a.pk, a.pk])
    with pytest.raises(ValidationError):
        services.scene_reorder(project=project, scene_ids=[a.pk])
    assert [s.title for s in selectors.project_scenes(project=project)] == ["a", "b"]


def test_it_moves_scenes_and_shots_by_one(project):
    a, _b, c = (services.scene_create(project=project, title=t) for t in "abc")
    services.scene_move(scene=c, offset=-1)
    assert [s.title for s in selectors.project_scenes(project=project)] == ["a", "c", "b"]
    services.scene_move(scene=a, offset=-1)  # already first: stays
    assert [s.title for s in selectors.project_scenes(project=project)] == ["a", "c", "b"]
    x, _y = (services.shot_create(scene=a, description=d) for d in "xy")
    services.shot_move(shot=x, offset=1)
    assert [s.description for s in selectors.scene_shots(scene=a)] == ["y", "x"]


def test_it_keeps_shot_numbers_dense_after_insert_reorder_and_delete(project):
    scene = services.scene_create(project=project, title="s")
    a, b, c = (services.shot_create(scene=scene, description=d) for d in "abc")
    d = services.shot_create(scene=scene, description="d", position=1)
    assert [s.description for s in selectors.scene_shots(scene=scene)] == ["d", "a", "b", "c"]
    services.shot_reorder(scene=scene, shot_ids=[a.pk, b.pk, c.pk, d.pk])
    services.shot_delete(shot=b)
    assert [(s.shot_number, s.description) for s in selectors.scene_shots(scene=scene)] == [
        (1, "a"),
        (2, "c"),
        (3, "d"),
    ]


def test_it_creates_iterations_in_sequence_with_parents(project):
    (shot,) = build_tree(project, scenes=1, shots=1)
    assert selectors.latest_iteration_number(shot=shot) is None
    first = services.shot_images_create_batch(shot=shot, iteration_prompt="Tokyo Tower, sunrise")
    assert [i.variant_number for i in first] == [0, 1, 2, 3, 4, 5]
    assert {i.iteration_number for i in first} == {0}
    assert all(i.status == GenerationStatus.PENDING for i in first)
    with pytest.raises(ValidationError, match="finished"):
        services.shot_images_create_batch(shot=shot, iteration_prompt="more clouds", parent_image=first[2])
    complete(first[2])
    second = services.shot_images_create_batch(shot=shot, iteration_prompt="more clouds", parent_image=first[2])
    assert {i.iteration_number for i in second} == {1}
    assert {i.parent_image_id for i in second} == {first[2].pk}
    assert selectors.latest_iteration_number(shot=shot) == 1


def test_it_refuses_a_parent_from_another_shot(project):
    shot_a, shot_b = build_tree(project, scenes=1, shots=2, iterations=1)
    foreign = ShotImage.objects.filter(shot=shot_b).first()
    with pytest.raises(ValidationError, match="another shot"):
        services.shot_images_create_batch(shot=shot_a, iteration_prompt="x", parent_image=foreign)


def test_it_groups_images_by_iteration_with_prompt_and_parent(project):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=3)
    groups = selectors.shot_images_grouped(shot=shot)
    assert [g.iteration_number for g in groups] == [0, 1, 2]
    assert [len(g.images) for g in groups] == [6, 6, 6]
    assert groups[0].parent_image is None
    assert groups[1].parent_image.iteration_number == 0
    assert groups[2].parent_image.iteration_number == 1
    assert groups[1].prompt == "prompt"


def test_it_toggles_and_sets_favorites(project):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    image = shot.images.first()
    assert services.shot_image_toggle_favorite(image=image).is_favorite is True
    assert services.shot_image_toggle_favorite(image=image).is_favorite is False
    services.shot_image_set_favorite(image=image, is_favorite=True)
    assert ShotImage.objects.get(pk=image.pk).is_favorite


def test_it_selects_a_master_and_changes_it_later(project):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    first, second = shot.images.order_by("variant_number")[:2]
    selection = services.shot_select_master(shot=shot, image=first)
    shot.refresh_from_db()
    assert shot.selected_image_id == first.pk
    assert (selection.shot_id, selection.scene_id, selection.project_id) == (shot.pk, shot.scene_id, project.pk)
    services.selection_set_animation(
        selection=selection, animation_status=GenerationStatus.COMPLETE, prediction_id="p1"
    )
    services.shot_select_master(shot=shot, image=second)
    selection.refresh_from_db()
    shot.refresh_from_db()
    assert shot.selected_image_id == second.pk == selection.selected_image_id
    assert selection.animation_status == ""  # the old animation no longer matches
    assert StoryboardSelection.objects.filter(shot=shot).count() == 1


def test_it_refuses_a_pending_or_foreign_master(project):
    shot_a, shot_b = build_tree(project, scenes=1, shots=2)
    pending = services.shot_images_create_batch(shot=shot_a, iteration_prompt="x")[0]
    with pytest.raises(ValidationError, match="finished"):
        services.shot_select_master(shot=shot_a, image=pending)
    complete(pending)
    with pytest.raises(ValidationError, match="another shot"):
        services.shot_select_master(shot=shot_b, image=pending)
    assert not StoryboardSelection.objects.exists()


def test_it_refuses_to_delete_the_master_image(project):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    image = shot.images.first()
    services.shot_select_master(shot=shot, image=image)
    with pytest.raises(ValidationError, match="master"):
        services.shot_image_delete(image=image)


def test_it_reports_scene_storyboard_completion(project):
    build_tree(project, scenes=1, shots=2, iterations=1)
    scene = project.scenes.get()
    empty = services.scene_create(project=project, title="Empty")
    assert selectors.scene_storyboard_complete(scene=empty) is False
    assert selectors.scene_storyboard_complete(scene=scene) is False
    for shot in scene.shots.all():
        services.shot_select_master(shot=shot, image=shot.images.first())
    assert selectors.scene_storyboard_complete(scene=scene) is True


def test_it_computes_the_seeds_progress_figures(project):
    # 5 scenes x 3 shots = 15 shots; 10 masters chosen; 5 of them animated (the seed's example).
    shots = build_tree(project, scenes=5, shots=3, iterations=1)
    for n, shot in enumerate(shots[:10]):
        selection = services.shot_select_master(shot=shot, image=shot.images.first())
        if n < 5:
            services.selection_set_animation(selection=selection, animation_status=GenerationStatus.COMPLETE)
        elif n == 5:
            services.selection_set_animation(selection=selection, animation_status=GenerationStatus.PROCESSING)
    progress = selectors.project_progress(project=project)
    assert progress.as_dict() == {
        "totalScenes": 5,
        "totalShots": 15,
        "shotsWithSelections": 10,
        "shotsWithAnimations": 5,
        "selectionProgress": 66.7,
        "animationProgress": 33.3,
        "isSelectionComplete": False,
        "isAnimationComplete": False,
    }


def test_it_reports_complete_progress_and_an_empty_project(project, team, owner):
    empty = services.project_create(team=team, user=owner, title="Empty", prompt="x")
    assert selectors.project_progress(project=empty).as_dict() == {
        "totalScenes": 0,
        "totalShots": 0,
        "shotsWithSelections": 0,
        "shotsWithAnimations": 0,
        "selectionProgress": 0.0,
        "animationProgress": 0.0,
        "isSelectionComplete": False,
        "isAnimationComplete": False,
    }
    shots = build_tree(project, scenes=2, shots=1, iterations=1)
    for shot in shots:
        selection = services.shot_select_master(shot=shot, image=shot.images.first())
        services.selection_set_animation(selection=selection, animation_status=GenerationStatus.COMPLETE)
    progress = selectors.project_progress(project=project)
    assert progress.isSelectionComplete and progress.isAnimationComplete
    assert progress.selectionProgress == progress.animationProgress == 100.0


def _files(project):
    return [i.image.name for i in ShotImage.objects.filter(project=project)]


def test_it_deletes_a_shot_with_its_images_and_files_after_commit(
    project, django_capture_on_commit_callbacks, broker, worker
):
    shot_a, shot_b = build_tree(project, scenes=1, shots=2, iterations=2)
    services.shot_select_master(shot=shot_a, image=shot_a.images.first())
    doomed = [i.image.name for i in shot_a.images.all()]
    kept = [i.image.name for i in shot_b.images.all()]
    assert all(default_storage.exists(n) for n in doomed + kept)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.shot_delete(shot=shot_a)
    # Files stay until the transaction commits.
    assert all(default_storage.exists(n) for n in doomed)
    for callback in callbacks:
        callback()
    broker.join("maintenance")
    worker.join()
    assert not any(default_storage.exists(n) for n in doomed)
    assert all(default_storage.exists(n) for n in kept)
    assert not StoryboardSelection.objects.exists()
    assert [s.shot_number for s in SceneShot.objects.all()] == [1]


def test_it_deletes_a_scene_and_renumbers_the_rest(project, django_capture_on_commit_callbacks, broker, worker):
    build_tree(project, scenes=3, shots=2, iterations=1)
    middle = project.scenes.get(scene_number=2)
    doomed = [i.image.name for i in ShotImage.objects.filter(scene=middle)]
    with django_capture_on_commit_callbacks(execute=True):
        services.scene_delete(scene=middle)
    broker.join("maintenance")
    worker.join()
    assert not any(default_storage.exists(n) for n in doomed)
    assert [s.title for s in selectors.project_scenes(project=project)] == ["Scene 1", "Scene 3"]
    assert numbers(ProjectScene.objects.filter(project=project), "scene_number") == [1, 2]
    assert SceneShot.objects.filter(project=project).count() == 4


def test_it_deletes_a_project_with_every_child_and_file(project, django_capture_on_commit_callbacks, broker, worker):
    build_tree(project, scenes=2, shots=2, iterations=1)
    names = _files(project)
    assert len(names) == 24
    with django_capture_on_commit_callbacks(execute=True):
        services.project_delete(project=project)
    broker.join("maintenance")
    worker.join()
    assert not any(default_storage.exists(n) for n in names)
    assert not ShotImage.objects.exists() and not SceneShot.objects.exists() and not ProjectScene.objects.exists()


def test_it_leaves_files_alone_when_the_delete_rolls_back(project, django_capture_on_commit_callbacks):
    build_tree(project, scenes=1, shots=1, iterations=1)
    names = _files(project)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.project_delete(project=project)
    # Never executing the callbacks is what a rollback looks like to on_commit.
    assert len(callbacks) == 1
    assert all(default_storage.exists(n) for n in names)
