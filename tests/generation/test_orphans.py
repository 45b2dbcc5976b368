"""Orphan files: what a crash or a rollback between writing a file and committing its row leaves in storage.

Olivia's image job writes its picture and thumbnail from inside the job's
transaction; if the worker dies before the commit, nothing names them. The
sweep removes such files once past the grace period, never a file a row (or a
running job) names, and never anything outside the directories model fields
upload into. Every test runs on local storage and on S3 (moto over HTTP, the
`s3_storage` fixture); what is stored is read from outside the app (the disk,
or a boto3 client of the test's own).
"""

import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import FileField
from django.db.models.signals import post_save

from generation import orphans, services
from generation.models import Job
from generation.providers.base import Completed, OutputFile
from projects import services as project_services
from projects.models import GenerationStatus, Scene, ShotImage, VideoClip
from tests.factories import build_tree, make_editor_objects, make_segment, png_bytes

pytestmark = pytest.mark.django_db

IMAGE = {"prompt": "Cinematic wide shot, Tokyo Tower at dawn", "aspect_ratio": "16:9", "seed": 42}
HOUR = timedelta(hours=1)


class WorkerKilled(BaseException):
    """The process dies: no except clause of the app runs, and the transaction never commits."""


@dataclass
class Media:
    """What is really stored, seen from outside the app."""

    keys: Callable[[], set[str]]
    size: Callable[[str], int]


@pytest.fixture(params=["local", "s3"])
def media(request, settings) -> Media:
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_storage")
        return Media(keys=lambda: set(s3.keys()), size=lambda key: s3.head(key)["ContentLength"])
    root = Path(settings.MEDIA_ROOT)
    return Media(
        keys=lambda: {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()},
        size=lambda name: (root / name).stat().st_size,
    )


def _png_output() -> Completed:
    # What the offline image provider hands the ledger (generation/providers/offline/provider.py).
    return Completed(files=[OutputFile(kind="image", data=png_bytes(size=(320, 180)), extension="png")])


def _image_job(project, owner, image: ShotImage) -> Job:
    return services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=image)


def test_it_sweeps_what_a_crash_before_commit_left_only_once_past_the_grace_period(
    project, owner, pending_image, media
):
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)  # finished pictures nearby must stay
    job = _image_job(project, owner, pending_image)
    before = media.keys()
    with pytest.raises(WorkerKilled), transaction.atomic():
        # The real path: the ledger ingests the output and the image handler stores picture and thumbnail...
        assert services.job_complete(job_id=job.pk, result=_png_output())
        assert ShotImage.objects.get(pk=pending_image.pk).image
        raise WorkerKilled  # ...and the worker dies before the commit.
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert image.status == GenerationStatus.PENDING and not image.image and not image.thumbnail
    left = media.keys() - before
    assert len(left) == 2, "the picture and its thumbnail stay in storage, named by no row"
    assert all(name.startswith(f"projects/{project.pk}/") for name in left)
    size = sum(media.size(name) for name in left)

    fresh = orphans.files_sweep_orphans(older_than=HOUR)
    assert (fresh.deleted, fresh.orphans, fresh.recent) == (0, 0, 2), "inside the grace period: maybe about to commit"
    assert media.keys() == before | left

    time.sleep(1.1)
    swept = orphans.files_sweep_orphans(older_than=timedelta(seconds=1))
    assert (swept.deleted, swept.orphans, swept.recent, swept.failed) == (2, 2, 0, 0)
    assert swept.orphan_bytes == size > 0
    assert media.keys() == before, "only the two orphans went; every finished picture of the shot stayed"
    assert all(default_storage.exists(i.image.name) for i in shot.images.all())


def _one_file_in_every_file_field(project, owner) -> set[str]:
    """A row of every model with a file field, each field holding a file; returns every stored name."""
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    image = shot.images.order_by("variant_number").first()
    project_services.shot_select_master(shot=shot, image=image)
    make_segment(shot)
    make_editor_objects(project, owner)
    scene = Scene.objects.create(project=project, scene_number=1, description="Tokyo at dawn")
    # A Quick project converted to Director shares files between rows rather than copying them.
    scene.image.name = image.image.name
    scene.save()
    VideoClip.objects.create(project=project, scene=scene)
    named: set[str] = set()
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, FileField)]
        if not fields:
            continue
        row = model._base_manager.first()
        assert row is not None, f"{model._meta.label} has file fields: give this test a row of it"
        for f in fields:
            file = getattr(row, f.attname)
            if not file:
                file.save(f"{f.name}.bin", ContentFile(f"{model._meta.label}.{f.name}".encode()), save=False)
        row.save()
        for rows in model._base_manager.values_list(*(f.attname for f in fields)):
            named.update(name for name in rows if name)
    return named


def _strays_beside(named: set[str]) -> set[str]:
    """An unreferenced file in every directory a named file is in."""
    return {
        default_storage.save(posixpath.join(directory, "stray.bin"), ContentFile(b"nobody names me"))
        for directory in {posixpath.dirname(name) for name in named}
    }


def test_it_never_deletes_a_file_a_row_or_a_running_job_names(project, owner, media):
    named = _one_file_in_every_file_field(project, owner)
    kinds = {name.split("/")[2] if name.startswith("projects/") else name.split("/")[0] for name in named}
    assert {"images", "thumbs", "segments", "segment-thumbs", "final", "previews", "audio", "voice-samples"} <= kinds
    # A video job still running reads a still that no row names any more: the provider may be fetching it.
    still = default_storage.save(f"projects/{project.pk}/images/still.png", ContentFile(png_bytes()))
    services.job_create(project=project, user=owner, capability="video", input={"image": still})
    outside = default_storage.save("exports/handover.txt", ContentFile(b"not a model field's directory"))
    strays = _strays_beside(named)
    assert media.keys() == named | strays | {still, outside}

    time.sleep(0.05)
    report = orphans.files_sweep_orphans(older_than=timedelta(0))
    assert report.unswept == [], "every callable upload_to declares its directory"
    assert report.prefixes == ["projects/", "voice-samples/"]
    assert (report.deleted, report.failed) == (len(strays), 0)
    assert media.keys() == named | {still, outside}


def test_a_file_named_after_the_reference_query_is_checked_again_and_kept(project, owner, media, monkeypatch):
    named = _one_file_in_every_file_field(project, owner)
    # As if every row had been committed between the sweep's reference query and its listing.
    monkeypatch.setattr(orphans, "referenced_under", lambda prefix: set())
    time.sleep(0.05)
    report = orphans.files_sweep_orphans(older_than=timedelta(0))
    assert (report.scanned, report.orphans, report.deleted) == (len(named), 0, 0)
    assert media.keys() == named


def test_a_dry_run_deletes_nothing_and_says_what_it_would(project, owner, media):
    named = _one_file_in_every_file_field(project, owner)
    strays = _strays_beside(named)
    time.sleep(0.05)
    report = orphans.files_sweep_orphans(older_than=timedelta(0), dry_run=True)
    assert (report.orphans, report.deleted) == (len(strays), 0)
    assert report.orphan_bytes == len(b"nobody names me") * len(strays)
    assert f"would delete {len(strays)} orphan files" in str(report)
    assert media.keys() == named | strays


def test_a_finish_that_fails_after_saving_its_row_deletes_the_files_it_wrote(project, owner, pending_image, media):
    # An error before the commit (here raised right after the row's UPDATE, as a deferred constraint would be):
    # the rollback takes the row's new file names, and the files must go with them.
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    job = _image_job(project, owner, pending_image)
    before = media.keys()

    def refuse(sender, instance, **kwargs):
        if instance.pk == pending_image.pk:
            raise IntegrityError("simulated: the commit is refused")

    post_save.connect(refuse, sender=ShotImage, weak=False, dispatch_uid="test_orphans.refuse")
    try:
        with pytest.raises(IntegrityError):
            services.job_complete(job_id=job.pk, result=_png_output())
    finally:
        post_save.disconnect(sender=ShotImage, dispatch_uid="test_orphans.refuse")
    assert media.keys() == before, "picture and thumbnail deleted, every other file kept"
    assert ShotImage.objects.get(pk=pending_image.pk).status == GenerationStatus.PENDING
    assert all(default_storage.exists(i.image.name) for i in shot.images.all())
    # Nothing was lost: the same output completes the job once the database takes it.
    assert services.job_complete(job_id=job.pk, result=_png_output())
    image = ShotImage.objects.get(pk=pending_image.pk)
    assert media.keys() == before | {image.image.name, image.thumbnail.name}


def test_a_finish_that_fails_between_writing_and_saving_deletes_the_file(
    project, owner, pending_image, media, monkeypatch
):
    job = _image_job(project, owner, pending_image)
    before = media.keys()
    written = []
    real_save = ShotImage._meta.get_field("image").attr_class.save

    def watching(self, name, content, save=True):
        real_save(self, name, content, save=save)
        written.append(self.name)

    def broken_thumbnail(picture):
        raise OSError("simulated: the thumbnail cannot be made")

    monkeypatch.setattr(ShotImage._meta.get_field("image").attr_class, "save", watching)
    monkeypatch.setattr("generation.handlers.thumbnail_bytes", broken_thumbnail)
    with pytest.raises(OSError, match="thumbnail"):
        services.job_complete(job_id=job.pk, result=_png_output())
    assert len(written) == 1, "the picture was written before the error"
    assert media.keys() == before, "and deleted when the transaction rolled back"


def test_the_command_reports_and_deletes_past_its_grace_period(project, owner, media):
    named = _one_file_in_every_file_field(project, owner)
    (stray,) = _strays_beside({f"projects/{project.pk}/images/x.png"})
    assert orphans.sweep_orphan_files().recent == 1, "the periodic task keeps the configured grace period"
    out = StringIO()
    call_command("cleanup_orphan_files", stdout=out)  # the default grace period: the stray is minutes old
    assert (
        "deleted 0 orphan files" in out.getvalue()
        and "1 unreferenced file within the grace period kept" in out.getvalue()
    )
    time.sleep(0.05)
    call_command("cleanup_orphan_files", "--dry-run", "--older-than-minutes", "0", stdout=out)
    assert "would delete 1 orphan file (" in out.getvalue()
    assert stray in media.keys()
    call_command("cleanup_orphan_files", "--older-than-minutes", "0", stdout=out)
    assert "deleted 1 orphan file (" in out.getvalue()
    assert media.keys() == named


@pytest.mark.parametrize(
    ("upload_to", "prefix"),
    [("uploads/%Y/%m/", "uploads/"), ("documents", "documents/"), ("a/b%d", "a/"), ("%Y/%m", ""), ("", "")],
)
def test_a_string_upload_to_is_swept_under_its_fixed_part_only(upload_to, prefix):
    assert orphans._static_prefix(upload_to) == prefix


def test_the_storage_root_cannot_be_declared():
    with pytest.raises(ValueError, match="root"):
        orphans.stored_under("/")
