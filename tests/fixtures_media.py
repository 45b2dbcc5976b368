"""Real media for tests: small clips made once per session with the wheel's ffmpeg."""

from pathlib import Path

import pytest

from generation import ffmpeg

# Quick to encode, and playable everywhere.
H264_FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="session")
def raw_clips(tmp_path_factory) -> list[bytes]:
    """Three 2-second 640x360 clips with a tone (the middle one silent), not in the house format."""
    work = tmp_path_factory.mktemp("raw")
    clips = []
    for i in range(3):
        out = work / f"clip-{i}.mp4"
        sound = ["-f", "lavfi", "-i", f"sine=frequency={330 + 110 * i}:sample_rate=44100"] if i != 1 else []
        ffmpeg.run(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size=640x360:rate=24,hue=h={i * 120}",
                *sound,
                "-t",
                "2",
                *H264_FAST,
                *(["-c:a", "aac", "-shortest"] if sound else []),
                str(out),
            ]
        )
        clips.append(out.read_bytes())
    return clips


def flat_clip(path: Path, *, grey: str = "0x9a9a9a", tone: int = 440) -> Path:
    """A 2-second flat grey 640x360 clip with a tone: anything dark or white in it was drawn on top."""
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c={grey}:s=640x360:r=24:d=2",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone}:sample_rate=44100:duration=2",
            *H264_FAST,
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ]
    )
    return path
