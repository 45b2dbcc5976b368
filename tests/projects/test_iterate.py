"""The Iterate stage: generation, refinement, favorites, master, uploads, compare, and its query count."""

import io
import struct
import zlib
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from generation.models import Job
from projects import services
from projects.models import GenerationStatus, ShotImage, StoryboardSelection
from tests.factories import build_tree, complete, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def shot(project):
    (shot,) = build_tree(project, scenes=1, shots=1)
    return shot


def stored_files() -> list[str]:
    found = []

    def walk(path: str) -> None:
        folders, files = default_storage.listdir(path)
        found.extend(f"{path}/{name}" for name in files)
        for folder in folders:
            walk(f"{path}/{folder}")

    if default_storage.exists("projects"):
        walk("projects")
    return found


def test_generate_queues_six_variant_jobs(owner_client, project, shot):
    response = owner_client.post(reverse("shot_generate", args=[project.pk, shot.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    images = list(ShotImage.objects.filter(shot=shot))
    assert [(i.iteration_number, i.variant_number, i.status) for i in images] == [(0, n, "pending") for n in range(6)]
    jobs = Job.objects.filter(capability="image")
    assert jobs.count() == 6 and {j.target_id for j in jobs} == {i.pk for i in images}
    assert len({j.input["seed"] for j in jobs}) == 6  # six different pictures
    assert all(i.metadata["request"]["capability"] == "image" for i in images)
    assert 'hx-trigger="every 2s"' in response.content.decode()  # the grid keeps itself up to date


def test_over_budget_nothing_is_queued_and_the_page_says_so(owner_client, project, shot, team, settings):
    settings.REPLICATE_API_TOKEN = "r8_x"
    team.monthly_budget = Decimal("0.01")
    team.save()
    response = owner_client.post(reverse("shot_generate", args=[project.pk, shot.pk]))
    assert response.status_code == 422 and "monthly budget" in response.content.decode()
    assert not ShotImage.objects.exists() and not Job.objects.exists()


def test_refine_makes_the_next_iteration_from_a_finished_parent(owner_client, project, shot):
    (parent, *_) = services.shot_images_create_batch(shot=shot, iteration_prompt="p")
    url = reverse("shot_refine", args=[project.pk, shot.pk])
    pending = owner_client.post(url, {"parent": parent.pk, "instruction": "more clouds", "strength": "0.5"})
    assert pending.status_code == 422 and "Only a finished image can be the parent" in pending.content.decode()
    complete(parent)
    for data, message in [
        ({"parent": parent.pk, "instruction": "", "strength": "0.5"}, "Say what to change."),
        ({"parent": parent.pk, "instruction": "x", "strength": "2"}, "less than or equal to 0.95"),
        ({"parent": parent.pk, "instruction": "x", "strength": "lots"}, "Enter a number."),
        ({"parent": "", "instruction": "x", "strength": "0.5"}, "Choose a variant to refine."),
        ({"parent": 999999, "instruction": "x", "strength": "0.5"}, "Choose a variant of this shot"),
    ]:
        response = owner_client.post(url, data)
        assert response.status_code == 422 and message in response.content.decode(), data
    owner_client.post(url, {"parent": parent.pk, "instruction": "more clouds", "strength": "0.4"})
    refined = ShotImage.objects.filter(iteration_number=1)
    assert refined.count() == 6 and {i.parent_image_id for i in refined} == {parent.pk}
    job = Job.objects.filter(capability="refine").first()
    assert job.input["image"] == parent.image.name and job.input["strength"] == 0.4
    assert job.input["prompt"].endswith("more clouds") and refined.first().iteration_prompt == "more clouds"


def test_favorite_master_and_status(owner_client, project, shot):
    images = services.shot_images_create_batch(shot=shot, iteration_prompt="p")
    master_url = reverse("image_master", args=[project.pk, images[0].pk])
    assert owner_client.post(master_url).status_code == 422  # not finished yet
    for image in images:
        complete(image)
    owner_client.post(reverse("image_favorite", args=[project.pk, images[1].pk]), headers={"HX-Request": "true"})
    assert ShotImage.objects.get(pk=images[1].pk).is_favorite
    swapped = owner_client.post(
        reverse("image_master", args=[project.pk, images[1].pk]), headers={"HX-Request": "true"}
    )
    assert StoryboardSelection.objects.get(shot=shot).selected_image_id == images[1].pk
    nav = swapped.content.decode().split('id="shot-nav"')[1]
    assert 'hx-swap-oob="true"' in nav.split(">")[0] and "(master chosen)" in nav, "the shot list follows"
    project.refresh_from_db()
    assert project.status == "storyboard_final"  # every shot of the project has its master
    owner_client.post(reverse("image_master", args=[project.pk, images[2].pk]))
    assert StoryboardSelection.objects.get(shot=shot).selected_image_id == images[2].pk


def test_a_failed_tile_says_why_and_retries(owner_client, project, shot, broker):
    owner_client.post(reverse("shot_generate", args=[project.pk, shot.pk]))
    image = ShotImage.objects.first()
    job = Job.objects.get(target_id=image.pk)
    from generation.services import job_fail

    job_fail(job=job, error="The provider reported a failure: NSFW content detected")
    html = owner_client.get(reverse("iterate_shot", args=[project.pk, shot.pk])).content.decode()
    assert "NSFW content detected" in html and reverse("image_retry", args=[project.pk, image.pk]) in html
    owner_client.post(reverse("image_retry", args=[project.pk, image.pk]))
    image.refresh_from_db()
    assert image.status == GenerationStatus.PENDING
    again = Job.objects.filter(target_id=image.pk).order_by("-pk").first()
    assert again.pk != job.pk and again.input == job.input


def upload(client, project, shot, name: str, data: bytes, content_type: str = "image/png"):
    return client.post(
        reverse("shot_upload", args=[project.pk, shot.pk]),
        {"image": SimpleUploadedFile(name, data, content_type=content_type)},
    )


def test_an_uploaded_picture_is_checked_re_encoded_and_kept_as_a_variant(owner_client, project, shot):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (10, 200, 30)).save(buffer, format="JPEG")
    response = upload(owner_client, project, shot, "../../etc/passwd.jpg", buffer.getvalue(), "image/jpeg")
    assert response.status_code == 200 and "added as a new iteration" in response.content.decode()
    image = ShotImage.objects.get()
    assert image.status == GenerationStatus.COMPLETE and image.metadata["source"] == "upload"
    assert image.image.name.endswith(".png") and "passwd" not in image.image.name
    with image.image.open("rb") as handle:
        assert handle.read(4) == b"\x89PNG"
    assert (image.width, image.height) == (320, 180)
    assert image.thumbnail.name.endswith(".webp")


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A small PNG whose header claims a huge picture."""
    raw = zlib.compress(b"\x00" * 16)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.png", bomb_png(), "the limit is 25 megapixels"),
        ("page.png", b"<!doctype html><script>alert(1)</script>", "not a readable PNG, JPEG or WebP image"),
        ("anim.gif", b"GIF89a" + b"\x01\x00\x01\x00\x00\x00\x00;", "not a readable"),
        ("truncated.png", png_bytes()[:40], "not a readable PNG, JPEG or WebP image"),
    ],
    ids=["decompression-bomb", "html-named-png", "gif", "truncated"],
)
def test_a_bad_upload_is_refused_with_a_message_and_nothing_is_stored(owner_client, project, shot, name, data, message):
    response = upload(owner_client, project, shot, name, data)
    assert response.status_code == 422 and message in response.content.decode()
    assert not ShotImage.objects.exists() and stored_files() == []


def test_an_oversized_upload_is_refused(owner_client, project, shot, settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    big = png_bytes(size=(600, 600)) + b"\x00" * 20_000
    response = upload(owner_client, project, shot, "big.png", big)
    assert response.status_code == 422 and "the limit is 0 MB" in response.content.decode()
    assert not ShotImage.objects.exists() and stored_files() == []


def test_compare_shows_two_variants_side_by_side(owner_client, project, shot):
    images = services.shot_images_create_batch(shot=shot, iteration_prompt="p")
    for image in images[:2]:
        complete(image)
    url = reverse("image_compare", args=[project.pk, shot.pk])
    html = owner_client.get(url, {"image": [images[1].pk, images[0].pk]}).content.decode()
    assert html.index(images[1].get_file_url()) < html.index(images[0].get_file_url())
    assert owner_client.get(url, {"image": [images[0].pk]}, follow=True).redirect_chain
    assert owner_client.get(url, {"image": [images[0].pk, images[5].pk]}).status_code == 404


def test_the_page_query_count_does_not_grow_with_iterations(owner_client, project):
    (shot,) = build_tree(project, scenes=2, shots=1, iterations=1)[:1]
    url = reverse("iterate_shot", args=[project.pk, shot.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url).status_code == 200
        return len(queries)

    small = count()
    for _ in range(4):
        parent = ShotImage.objects.filter(shot=shot).order_by("-iteration_number").first()
        for image in services.shot_images_create_batch(shot=shot, iteration_prompt="again", parent_image=parent):
            complete(image)
    services.shot_select_master(shot=shot, image=ShotImage.objects.filter(shot=shot).last())
    assert count() == small
    html = owner_client.get(url).content.decode()
    assert (html.count('loading="lazy"') >= 30 and "/thumb/" in html) or html.count("<img") >= 30


def test_the_first_shot_opens_and_an_empty_project_says_what_to_do(owner_client, project):
    assert (
        "No shots to iterate on yet" in owner_client.get(reverse("project_iterate", args=[project.pk])).content.decode()
    )
    (shot,) = build_tree(project, scenes=1, shots=1)
    response = owner_client.get(reverse("project_iterate", args=[project.pk]))
    assert response["Location"] == reverse("iterate_shot", args=[project.pk, shot.pk])
