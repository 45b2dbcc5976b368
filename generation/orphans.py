"""Stored files that no row names: removed after a grace period, and at once when the writing transaction fails.

A file is written to storage before the row that names it is committed (a
FieldFile is saved, then the model). If the process dies in between, or the
transaction rolls back, the file stays in storage with nothing pointing at it.

- `discard_on_error()` wraps a block whose transaction may roll back (the
  engine's `job_complete`): it notes every file name the block writes or saves
  on a model, and if the block raises, deletes those that no row names.
- `files_sweep_orphans()` is the backstop for crashes: it lists the storage
  directories model FileFields upload into and deletes every file that no row
  names and that is older than the grace period, so a write whose commit is
  about to happen is never taken.

Which directories are swept: the fixed part of each FileField's `upload_to`
on default storage. A callable `upload_to` declares its directory with the
`stored_under` decorator; one that does not is never swept (reported). A file
is "named" when any FileField of any model (found through the app registry,
not imported: the engine knows no feature app) holds its name, when an active
job's input names it, or when a source registered with `register_references`
says so. Files in other directories are never touched.

The grace period must outlast the longest write-to-commit span: on S3 a
multipart upload's LastModified is when the upload began, so a large file's
upload time counts too (the 60-minute default is ample for our files).

Memory: the names referenced under one prefix are held as a set while that
prefix is listed (about 100 bytes a name: a million stored files is ~100 MB).
Listing streams; S3 is listed a thousand keys per request with their sizes
and dates, with no request per file.
"""

import contextvars
import logging
import posixpath
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db.models import FileField, Model, Q
from django.db.models.signals import pre_save
from django.utils import timezone

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., str])

PREFIX_ATTRIBUTE = "storage_prefix"


def stored_under(prefix: str) -> Callable[[F], F]:
    """Declare the fixed directory a callable upload_to writes under (e.g. "projects/"), so the sweep looks there."""
    if not prefix.strip("/"):
        raise ValueError("A storage prefix must name a directory; the storage root is never swept.")

    def mark(upload_to: F) -> F:
        # An attribute, not a wrapper: migrations refer to the function itself, which must stay the same object.
        setattr(upload_to, PREFIX_ATTRIBUTE, prefix.strip("/") + "/")
        return upload_to

    return mark


# Other names a feature app keeps files under (JSON, naming conventions): given a prefix, the names it
# references there. Registered from AppConfig.ready().
ReferenceSource = Callable[[str], Iterable[str]]
_reference_sources: list[ReferenceSource] = []


def register_references(source: ReferenceSource) -> None:
    if source not in _reference_sources:
        _reference_sources.append(source)


# Discovery ----------------------------------------------------------------------------


def _file_fields() -> list[tuple[type[Model], list[FileField]]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue  # its table is its concrete model's
        fields = [f for f in model._meta.concrete_fields if isinstance(f, FileField)]
        if fields:
            found.append((model, fields))
    return found


def _static_prefix(upload_to: str) -> str:
    """The directory part of a string upload_to that strftime leaves alone ("uploads/%Y/%m" → "uploads/")."""
    if "%" in upload_to:
        head = upload_to.split("%", 1)[0]
        return head[: head.rfind("/") + 1]
    return upload_to.strip("/") + "/" if upload_to.strip("/") else ""


def upload_prefixes() -> tuple[list[str], list[str]]:
    """The directories to sweep on default storage, and the fields whose directory is unknown (never swept)."""
    prefixes: set[str] = set()
    unknown: list[str] = []
    for model, fields in _file_fields():
        for f in fields:
            if f.storage is not default_storage:
                continue  # another storage: its names still protect files, its directories are not ours to list
            upload_to = f.upload_to
            prefix = getattr(upload_to, PREFIX_ATTRIBUTE, "") if callable(upload_to) else _static_prefix(upload_to)
            if prefix:
                prefixes.add(prefix)
            else:
                unknown.append(f"{model._meta.label}.{f.name}")
    # A directory inside another is listed with it.
    kept: list[str] = []
    for prefix in sorted(prefixes):
        if not any(prefix.startswith(outer) for outer in kept):
            kept.append(prefix)
    return kept, unknown


# References -----------------------------------------------------------------------------


def _job_input_names(prefix: str) -> Iterator[str]:
    """Storage names in the inputs of jobs still running: a provider may be about to read them."""
    from generation.models import ACTIVE, Job  # noqa: PLC0415 - models load after this module
    from generation.providers.files import FILE_INPUTS  # noqa: PLC0415

    for capability, params in Job.objects.filter(status__in=ACTIVE, capability__in=FILE_INPUTS).values_list(
        "capability", "input"
    ):
        for key in FILE_INPUTS[capability]:
            name = (params or {}).get(key)
            if isinstance(name, str) and name.startswith(prefix):
                yield name


def _sources() -> list[ReferenceSource]:
    return [_job_input_names, *_reference_sources]


def referenced_under(prefix: str) -> set[str]:
    """Every stored name under prefix that a row (or a registered source) refers to."""
    names: set[str] = set()
    for model, fields in _file_fields():
        for f in fields:
            rows = model._base_manager.filter(**{f"{f.attname}__startswith": prefix})
            names.update(rows.values_list(f.attname, flat=True).iterator(chunk_size=5000))
    for source in _sources():
        names.update(name for name in source(prefix) if name.startswith(prefix))
    return names


def is_referenced(name: str) -> bool:
    """Whether anything refers to this one name (checked again right before a delete)."""
    for model, fields in _file_fields():
        if model._base_manager.filter(Q.create([(f.attname, name) for f in fields], connector=Q.OR)).exists():
            return True
    return any(name in set(source(name)) for source in _sources())


# Listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    name: str
    modified: datetime
    size: int


def _is_s3(storage: Storage) -> bool:
    # django-storages' S3Storage (storages.backends.s3); checked by shape so the engine does not import it.
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def _s3_files(storage: Any, prefix: str) -> Iterator[StoredFile]:
    """One ListObjectsV2 page per thousand keys, each with its size and LastModified: no request per file."""
    location = (storage.location or "").strip("/")
    key_prefix = f"{location}/{prefix}" if location else prefix
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=key_prefix):
        for entry in page.get("Contents", ()):
            key = entry["Key"]
            if key.endswith("/"):
                continue  # a "folder" marker some tools create, not a file
            name = posixpath.relpath(key, location) if location else key
            yield StoredFile(name=name, modified=entry["LastModified"], size=entry["Size"])


def _walked_files(storage: Storage, directory: str) -> Iterator[StoredFile]:
    """Any other storage, through the Storage API (local disk: a stat per file)."""
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:
        return
    for filename in files:
        name = f"{directory}/{filename}"
        try:
            yield StoredFile(name=name, modified=storage.get_modified_time(name), size=storage.size(name))
        except FileNotFoundError:
            continue  # deleted while we looked
    for sub in directories:
        yield from _walked_files(storage, f"{directory}/{sub}")


def stored_files(prefix: str) -> Iterator[StoredFile]:
    storage = default_storage
    if _is_s3(storage):
        return _s3_files(storage, prefix)
    return _walked_files(storage, prefix.rstrip("/"))


# The sweep --------------------------------------------------------------------------------


@dataclass
class OrphanReport:
    dry_run: bool = False
    prefixes: list[str] = field(default_factory=list)
    scanned: int = 0
    orphans: int = 0  # unreferenced and past the grace period: deleted, or in a dry run would be
    orphan_bytes: int = 0
    deleted: int = 0
    recent: int = 0  # unreferenced but within the grace period: perhaps a write about to be committed
    failed: int = 0
    unswept: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        count = self.orphans if self.dry_run else self.deleted
        text = (
            f"scanned {_files(self.scanned)} in {', '.join(self.prefixes) or 'no directories'}; "
            f"{verb} {_files(count, 'orphan ')} ({self.orphan_bytes} bytes); "
            f"{_files(self.recent, 'unreferenced ')} within the grace period kept"
        )
        if self.failed:
            text += f"; {self.failed} could not be deleted"
        if self.unswept:
            text += f"; not swept (upload_to declares no directory): {', '.join(self.unswept)}"
        return text


def _files(count: int, kind: str = "") -> str:
    return f"{count} {kind}file{'' if count == 1 else 's'}"


def default_grace() -> timedelta:
    return timedelta(minutes=settings.ORPHAN_FILE_GRACE_MINUTES)


def sweep_orphan_files() -> OrphanReport:
    """The periodic task: files_sweep_orphans with the configured grace period (ORPHAN_FILE_GRACE_MINUTES)."""
    return files_sweep_orphans(older_than=default_grace())


def files_sweep_orphans(*, older_than: timedelta, dry_run: bool = False) -> OrphanReport:
    """Delete stored files that no row names and that were last modified more than older_than ago."""
    prefixes, unknown = upload_prefixes()
    report = OrphanReport(dry_run=dry_run, prefixes=prefixes, unswept=unknown)
    for name in unknown:
        logger.warning("Orphan sweep: %s has a callable upload_to without @stored_under; not swept", name)
    cutoff = timezone.now() - older_than
    for prefix in prefixes:
        # References first, then the listing; a file that looks orphaned is checked again right before its
        # delete, so only a transaction still open past the grace period could name it after that.
        referenced = referenced_under(prefix)
        for stored in stored_files(prefix):
            report.scanned += 1
            if stored.name in referenced:
                continue
            if stored.modified > cutoff:
                report.recent += 1
                continue
            if is_referenced(stored.name):
                continue  # named since the query above
            report.orphans += 1
            report.orphan_bytes += stored.size
            if dry_run:
                logger.info("Orphan sweep (dry run): would delete %s (%s bytes)", stored.name, stored.size)
                continue
            try:
                default_storage.delete(stored.name)
            except Exception:
                logger.exception("Orphan sweep: could not delete %s", stored.name)
                report.failed += 1
                continue
            report.deleted += 1
            logger.info(
                "Orphan sweep: deleted %s (%s bytes, last modified %s)",
                stored.name,
                stored.size,
                stored.modified.isoformat(),
            )
    return report


# Rollbacks ---------------------------------------------------------------------------------

_written: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("orphans_written", default=None)


def note_written(name: str) -> None:
    """Tell an enclosing discard_on_error() that this file was just written (before any row names it)."""
    written = _written.get()
    if written is not None and name:
        written.add(name)


def _note_saved(sender: type[Model], instance: Model, **kwargs: object) -> None:
    # Every file name a model save carries inside the block: the old, still-referenced ones are kept by the check.
    written = _written.get()
    if written is None:
        return
    for f in instance._meta.concrete_fields:
        if isinstance(f, FileField):
            # Only what is loaded: reading a deferred field here would query the database.
            value = instance.__dict__.get(f.attname)
            note_written(str(getattr(value, "name", value) or ""))


pre_save.connect(_note_saved, weak=False, dispatch_uid="generation.orphans.note_saved")


def delete_unreferenced(names: Iterable[str]) -> int:
    """Delete those of names that nothing refers to; best effort (the sweep gets what this misses)."""
    deleted = 0
    for name in sorted(set(names)):
        try:
            if is_referenced(name) or not default_storage.exists(name):
                continue
            default_storage.delete(name)
        except Exception:
            logger.exception("Could not delete %s after a rollback; the orphan sweep will", name)
            continue
        deleted += 1
        logger.info("Deleted %s: the transaction that wrote it rolled back", name)
    return deleted


@contextmanager
def discard_on_error() -> Iterator[None]:
    """Around (not inside) an atomic block: if it raises, the files it wrote that no row names are deleted.

    Django has no on_rollback hook; by the time the exception reaches here the block's transaction (or
    savepoint) is rolled back, so a name no row refers to was written by the block and is garbage.
    """
    outer = _written.get()
    written: set[str] = set()
    token = _written.set(written)
    try:
        yield
    except BaseException:
        _written.reset(token)
        delete_unreferenced(written)
        raise
    _written.reset(token)
    if outer is not None:
        outer.update(written)  # an enclosing block that fails later still owns them
