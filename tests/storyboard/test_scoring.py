"""Scores on videos the offline provider does not make: other containers, tiny clips, broken files."""

from pathlib import Path

import av
import pytest

from generation import ffmpeg
from storyboard import scoring


def _make(path: Path, *args: str) -> Path:
    ffmpeg.run([*args, str(path)])
    return path


def test_it_scores_a_webm_whose_header_has_no_frame_count(tmp_path):
    clip = _make(tmp_path / "a.webm", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libvpx")
    result = scoring.score(clip, master=None, neighbours=[])
    assert result["scores"]["probe"]["frames"] == scoring.SAMPLES
    motion = next(m for m in result["scores"]["quality"] if m["key"] == "motion")
    assert motion["score"] > 0.5, "a moving test pattern is not frozen"


def test_it_calls_a_still_clip_frozen(tmp_path):
    clip = _make(tmp_path / "s.mp4", "-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=24", "-t", "2")
    metrics = {m["key"]: m for m in scoring.score(clip, master=None, neighbours=[])["scores"]["quality"]}
    assert metrics["motion"]["score"] == 0 and "100% frozen" in metrics["motion"]["value"]
    assert metrics["sharpness"]["score"] < 0.1


def test_it_scores_a_one_frame_clip(tmp_path):
    clip = _make(tmp_path / "one.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-frames:v", "1")
    assert scoring.score(clip, master=None, neighbours=[])["scores"]["probe"]["frames"] == 1


def test_it_refuses_a_file_that_is_not_a_video(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    # The score actor records these as the reason there are no scores (storyboard.tasks.score_segment).
    with pytest.raises((av.FFmpegError, ValueError)):
        scoring.score(junk, master=None, neighbours=[])
