"""Job inputs that are files: storage names of our own media, per capability."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import default_storage

FILE_INPUTS = {"refine": ("image",), "video": ("image",), "lipsync": ("video", "audio")}


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A local file with the stored content, wherever storage lives."""
    suffix = Path(name).suffix
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        with default_storage.open(name, "rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1024 * 1024)
        yield path


@contextmanager
def local_path(name: str) -> Iterator[Path]:
    """The stored file itself on local storage (no copy), or a temporary copy from object storage."""
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:  # Django's Storage.path: storages without a filesystem raise this
        path = None
    if path is not None:
        # Yielded outside the try: an error in the caller's block must not be taken for "no local path".
        yield path
        return
    with local_copy(name) as copy:
        yield copy
