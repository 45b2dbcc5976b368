"""The ffmpeg binary from the imageio-ffmpeg wheel, so no system ffmpeg is needed."""

import subprocess
import threading
import time
from collections.abc import Callable
from functools import cache

import imageio_ffmpeg


class FFmpegError(RuntimeError):
    pass


class CancelledError(Exception):
    """The work was cancelled; the running ffmpeg was stopped."""


@cache
def binary() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run(
    args: list[str],
    *,
    timeout: float = 600,
    cancel: threading.Event | None = None,
    poll: Callable[[], None] | None = None,
    loglevel: str = "error",
) -> str:
    """Run ffmpeg; return its log, or raise FFmpegError with the log's tail on failure.

    With cancel, the process is killed as soon as the event is set (CancelledError);
    poll is called about four times a second while it runs, from this thread.
    """
    command = [binary(), "-hide_banner", "-nostdin", "-loglevel", loglevel, "-y", *args]
    if cancel is None and poll is None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        return _checked(result.returncode, result.stderr)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                _, stderr = process.communicate(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                if poll is not None:
                    poll()
                if cancel is not None and cancel.is_set():
                    raise CancelledError("Cancelled.") from None
                if time.monotonic() > deadline:
                    raise FFmpegError(f"ffmpeg took longer than {timeout:.0f} s and was stopped.") from None
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return _checked(process.returncode, stderr)


def _checked(returncode: int, stderr: str) -> str:
    if returncode != 0:
        raise FFmpegError(stderr.strip()[-2000:] or f"ffmpeg exited with {returncode}")
    return stderr
