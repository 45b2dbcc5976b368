"""Numbering under concurrent writers: each write locks the parent row, so writers serialize."""

import random
import threading

import pytest
from django.db import connection

from projects import selectors, services
from projects.models import ProjectScene, SceneShot

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_it_keeps_scene_numbers_dense_and_unique_under_concurrent_reorders(project):
    scenes = [services.scene_create(project=project, title=f"s{n}") for n in range(8)]
    rng = random.Random(7)
    orders = [rng.sample([s.pk for s in scenes], k=len(scenes)) for _ in range(4)]
    errors = run_concurrently(
        [lambda order=order: services.scene_reorder(project=project, scene_ids=order) for order in orders]
    )
    assert errors == []
    final = list(selectors.project_scenes(project=project))
    assert [s.scene_number for s in final] == list(range(1, 9))
    assert [s.pk for s in final] in orders  # one reorder won whole; none interleaved


def test_it_keeps_shot_numbers_dense_under_concurrent_reorders_of_one_scene(project):
    scene = services.scene_create(project=project, title="s")
    shots = [services.shot_create(scene=scene, description=f"shot {n}") for n in range(6)]
    ids = [s.pk for s in shots]
    errors = run_concurrently(
        [
            lambda: services.shot_reorder(scene=scene, shot_ids=ids[::-1]),
            lambda: services.shot_reorder(scene=scene, shot_ids=ids),
        ]
    )
    assert errors == []
    numbers = list(SceneShot.objects.filter(scene=scene).order_by("shot_number").values_list("shot_number", "pk"))
    assert [n for n, _ in numbers] == list(range(1, 7))
    assert [pk for _, pk in numbers] in (ids, ids[::-1])


def test_it_numbers_concurrent_inserts_densely(project):
    errors = run_concurrently([lambda n=n: services.scene_create(project=project, title=f"new {n}") for n in range(6)])
    assert errors == []
    assert list(
        ProjectScene.objects.filter(project=project).order_by("scene_number").values_list("scene_number", flat=True)
    ) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
