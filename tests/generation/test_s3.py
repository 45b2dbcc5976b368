"""Media on S3, over real HTTP to moto's server: uploads, presigned range reads, serving, ingest, Replicate inputs.

Nothing here needs PostgreSQL or Redis (moto is pure Python), so these run in
both CI runs. What reached the bucket is checked with a boto3 client of the
test's own, never through the app's storage.
"""

import io
import os
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.test import override_settings
from django.urls import reverse
from django.utils.functional import empty
from PIL import Image

from generation import services
from generation.models import Job, JobStatus
from generation.providers import replicate_api
from generation.providers.base import Completed, OutputFile
from generation.providers.files import local_path
from projects import services as project_services
from projects.models import GenerationStatus, ShotImage
from tests.factories import build_tree, make_segment, png_bytes
from tests.fixtures_generation import wait_for
from tests.fixtures_s3 import fresh_bucket, storages_with_s3

pytestmark = pytest.mark.django_db

IMAGE = {"prompt": "Tokyo Tower at dawn", "aspect_ratio": "16:9", "seed": 42}


def _stored_locally(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _jpeg(size: tuple[int, int] = (320, 180)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_it_switches_default_storage_to_the_bucket_and_back(settings, s3_client, s3_settings):
    with (
        fresh_bucket(s3_client) as bucket,
        override_settings(STORAGES=storages_with_s3(settings.STORAGES, s3_settings, bucket)),
    ):
        inside = default_storage.save("probe/inside.txt", ContentFile(b"in the bucket"))
        # A model field's storage is the same lazy default_storage: it follows too.
        assert ShotImage._meta.get_field("image").storage.exists(inside)
        listed = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert listed == [inside]
    assert default_storage._wrapped is empty, "reset on the way out: the next use builds local storage again"
    outside = default_storage.save("probe/outside.txt", ContentFile(b"on disk"))
    assert (Path(settings.MEDIA_ROOT) / outside).read_bytes() == b"on disk"
    assert isinstance(default_storage._wrapped, FileSystemStorage)


def test_a_presigned_url_is_sigv4_private_and_answers_a_byte_range(s3_storage):
    data = os.urandom(1000)
    name = default_storage.save("probe/clip.bin", ContentFile(data))
    assert s3_storage.keys() == [name] and s3_storage.read(name) == data
    url = default_storage.url(name)
    assert url.startswith(f"{s3_storage.endpoint}/{s3_storage.bucket}/{name}?")  # path-style, on moto
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    ranged = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content == data[:100] and ranged.headers["content-range"] == "bytes 0-99/1000"
    assert httpx.get(url.split("?")[0]).status_code == 403, "the media is private without a signature"


def test_an_uploaded_picture_and_its_thumbnail_land_in_the_bucket(owner_client, project, s3_storage, settings):
    (shot,) = build_tree(project, scenes=1, shots=1)
    response = owner_client.post(
        reverse("shot_upload", args=[project.pk, shot.pk]),
        {"image": ContentFile(_jpeg(), name="harbor.jpg")},
    )
    assert response.status_code == 200 and "added as a new iteration" in response.content.decode()
    image = ShotImage.objects.get(shot=shot)
    assert s3_storage.keys() == sorted([image.image.name, image.thumbnail.name])
    assert s3_storage.read(image.image.name)[:4] == b"\x89PNG"
    with Image.open(io.BytesIO(s3_storage.read(image.thumbnail.name))) as thumb:
        assert thumb.format == "WEBP" and thumb.width <= 480
    assert s3_storage.head(image.image.name)["ContentType"] == "image/png"
    assert _stored_locally(settings) == []


def test_media_views_redirect_teammates_to_a_presigned_url_and_404_outsiders(
    client, project, teammate, outsider, s3_storage
):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    data = os.urandom(5000)
    segment = make_segment(shot, data=data)
    image = shot.images.order_by("variant_number").first()
    client.force_login(teammate)
    response = client.get(segment.get_video_url(), headers={"Range": "bytes=0-99"})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{s3_storage.endpoint}/{s3_storage.bucket}/{segment.video.name}?")
    assert "X-Amz-Signature=" in location
    ranged = httpx.get(location, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == data[:100]
    assert httpx.get(location).content == data
    picture = client.get(reverse("shot_image_file", args=[project.pk, image.pk]))
    assert picture.status_code == 302
    assert httpx.get(picture["Location"]).content == s3_storage.read(image.image.name)

    client.force_login(outsider)
    for url in (
        segment.get_video_url(),
        segment.get_thumb_url(),
        reverse("shot_image_file", args=[project.pk, image.pk]),
    ):
        assert client.get(url).status_code == 404, url
    client.logout()
    anonymous = client.get(segment.get_video_url())
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_local_path_copies_an_object_down_and_cleans_up(s3_storage):
    data = os.urandom(3000)
    name = default_storage.save("probe/voice.wav", ContentFile(data))
    with local_path(name) as path:
        assert path.read_bytes() == data and path.suffix == ".wav"
    assert not path.exists() and not path.parent.exists()


def test_on_local_storage_replicate_gets_an_open_file_it_uploads(project, owner, fake_replicate):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    parent = shot.images.order_by("variant_number").first()
    stored = Path(default_storage.path(parent.image.name)).read_bytes()
    with ExitStack() as stack:
        value = replicate_api._upload_or_url(stack)(parent.image.name)
        assert isinstance(value, io.BufferedReader) and value.read() == stored
    assert value.closed

    job = _refine_job(shot, parent, owner)
    services.job_run(job_id=job.pk)
    (prediction,) = fake_replicate.predictions.values()
    (upload,) = fake_replicate.uploads.values()  # through the client's files API
    assert upload.data == stored and prediction.input["image"].startswith(f"{fake_replicate.url}/v1/files/")
    wait_for(lambda: prediction.status == "succeeded", message="the fake prediction")
    assert prediction.files["image"] == stored


def _refine_job(shot, parent, owner) -> Job:
    images = project_services.shot_refine(
        shot=shot, parent=parent, instruction="more dramatic clouds", strength=0.6, user=owner
    )
    job = Job.objects.get(target_id=images[0].pk, capability="refine")
    assert job.provider == "replicate", "the refinement goes to (the fake) Replicate"
    return job


def test_on_s3_replicate_gets_a_presigned_url_and_the_output_is_ingested_into_the_bucket(
    project, owner, fake_replicate, s3_storage, settings
):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    parent = shot.images.order_by("variant_number").first()
    with ExitStack() as stack:
        value = replicate_api._upload_or_url(stack)(parent.image.name)
    assert isinstance(value, str) and value.startswith(f"{s3_storage.endpoint}/{s3_storage.bucket}/")
    assert "X-Amz-Signature=" in value

    job = _refine_job(shot, parent, owner)
    before = set(s3_storage.keys())
    services.job_run(job_id=job.pk)
    (prediction,) = fake_replicate.predictions.values()
    sent = prediction.input["image"]
    assert sent.startswith(f"{s3_storage.endpoint}/{s3_storage.bucket}/{parent.image.name}?")
    assert "X-Amz-Signature=" in sent and not fake_replicate.uploads, "a presigned URL, not an upload"
    wait_for(lambda: prediction.status in ("succeeded", "failed"), message="the fake prediction")
    # The model fetched the parent picture over HTTP with the presigned URL alone.
    assert prediction.status == "succeeded", prediction.error
    assert prediction.files["image"] == s3_storage.read(parent.image.name)

    services.job_poll(job_id=job.pk, reschedule=False)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    image = ShotImage.objects.get(pk=job.target_id)
    assert image.status == GenerationStatus.COMPLETE
    assert set(s3_storage.keys()) - before == {image.image.name, image.thumbnail.name}
    delivered = fake_replicate.delivered[prediction.output[0].rsplit("/", 1)[1]][0]
    assert s3_storage.read(image.image.name) == delivered
    assert image.metadata["provenance"]["media"] == {"width": image.width, "height": image.height}
    assert _stored_locally(settings) == []


def test_an_output_that_does_not_decode_is_refused_and_never_reaches_the_bucket(
    project, owner, pending_image, s3_storage, s3_client, settings
):
    # Another bucket plays the provider's file host; the job's output URL is a presigned link into it.
    settings.INGEST_ALLOW_INSECURE_LOCAL = True
    settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1"]
    with fresh_bucket(s3_client) as delivery:
        s3_client.put_object(Bucket=delivery, Key="out.png", Body=b"<!doctype html><p>not a picture")
        s3_client.put_object(Bucket=delivery, Key="good.png", Body=png_bytes(size=(96, 54)))

        def url(key: str) -> str:
            return s3_client.generate_presigned_url("get_object", Params={"Bucket": delivery, "Key": key})

        bad = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
        services.job_complete(job_id=bad.pk, result=Completed(files=[OutputFile(kind="image", url=url("out.png"))]))
        bad.refresh_from_db()
        assert bad.status == JobStatus.FAILED and "The output was refused" in bad.error
        assert s3_storage.keys() == []

        good = services.job_retry(job=bad)
        services.job_complete(job_id=good.pk, result=Completed(files=[OutputFile(kind="image", url=url("good.png"))]))
    good.refresh_from_db()
    assert good.status == JobStatus.SUCCEEDED, good.error
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert s3_storage.keys() == sorted([image.image.name, image.thumbnail.name])
    assert (image.width, image.height) == (96, 54) and good.output["media"] == [{"width": 96, "height": 54}]
