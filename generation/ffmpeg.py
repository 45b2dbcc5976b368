"""The ffmpeg binary from the imageio-ffmpeg wheel, so no system ffmpeg is needed."""

import subprocess
from functools import cache

import imageio_ffmpeg


class FFmpegError(RuntimeError):
    pass


@cache
def binary() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run(args: list[str], *, timeout: float = 600) -> None:
    """Run ffmpeg quietly; raise FFmpegError with the tail of its log on failure."""
    result = subprocess.run(  # noqa: S603 - fixed binary, argument list, no shell
        [binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise FFmpegError(result.stderr.strip()[-2000:] or f"ffmpeg exited with {result.returncode}")
