"""Real media for tests: small clips made once per session with the wheel's ffmpeg."""

import pytest

from generation import ffmpeg


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
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                *(["-c:a", "aac", "-shortest"] if sound else []),
                str(out),
            ]
        )
        clips.append(out.read_bytes())
    return clips
