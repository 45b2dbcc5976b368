"""Stored files: collecting them for deletion, and serving them to team members.

Serving goes through views that have already checked team membership; this
module only turns a stored file into a response (byte ranges on local disk,
a short-lived presigned redirect on S3).
"""

import mimetypes
import re
from collections.abc import Iterable, Iterator
from typing import IO

from django.core.files.storage import FileSystemStorage, default_storage
from django.db import router
from django.db.models import FileField, Model
from django.db.models.deletion import Collector
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _file_fields(model: type[Model]) -> list[FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, FileField)]


def cascade_of(objs: Iterable[Model]) -> dict[type[Model], list[int]]:
    """The primary keys, per model, of objs and of everything their deletion cascades to."""
    objs = list(objs)
    if not objs:
        return {}
    collector = Collector(using=router.db_for_write(type(objs[0])))
    collector.collect(objs)
    found: dict[type[Model], list[int]] = {}
    for model, instances in collector.data.items():
        found.setdefault(model, []).extend(instance.pk for instance in instances)
    for queryset in collector.fast_deletes:
        found.setdefault(queryset.model, []).extend(queryset.values_list("pk", flat=True))
    return found


def stored_files_of(cascade: dict[type[Model], list[int]]) -> list[str]:
    """Every stored file name of the rows in cascade (see cascade_of)."""
    names: list[str] = []
    for model, pks in cascade.items():
        fields = _file_fields(model)
        if fields and pks:
            for row in model._base_manager.filter(pk__in=pks).values_list(*(f.attname for f in fields)):
                names.extend(name for name in row if name)
    return names


def _read_range(handle: IO[bytes], start: int, length: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    # Streams the range so a "bytes=0-" request on a large video never loads it whole.
    with handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


def serve_file(request: HttpRequest, file: FieldFile, *, download_name: str | None = None) -> HttpResponse:
    """Respond with a stored file, honouring a single HTTP byte range on local storage."""
    storage = file.storage
    if not isinstance(storage, FileSystemStorage):
        # Object storage serves ranges itself; the presigned URL expires quickly.
        if download_name:
            # A cross-origin redirect ignores <a download>: the signed URL must ask S3 for the attachment header.
            disposition = content_disposition_header(True, download_name)
            return HttpResponseRedirect(storage.url(file.name, parameters={"ResponseContentDisposition": disposition}))
        return HttpResponseRedirect(file.url)
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    size = storage.size(file.name)
    match = _RANGE_RE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        length = end - start + 1
        response = StreamingHttpResponse(
            _read_range(storage.open(file.name, "rb"), start, length), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    else:
        response = FileResponse(storage.open(file.name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    if download_name:
        response["Content-Disposition"] = content_disposition_header(True, download_name)
    return response


def delete_stored(names: Iterable[str]) -> int:
    deleted = 0
    for name in names:
        if default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted
