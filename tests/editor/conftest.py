"""Projects with approved segments made of real (small) clips, and helpers that run sound jobs here."""

import re
import subprocess
from pathlib import Path

import pytest

from editor.models import AudioAsset
from generation import ffmpeg
from generation.services import job_run
from projects.models import ProjectScene, SceneShot
from storyboard.models import ApprovalStatus, VideoSegment
from tests.factories import build_tree, make_segment

NARRATION = [
    "Dawn breaks over the city. Neon fades into a pale sky.",
    "Trains hum through the quiet streets.",
    "By night, the lights return, brighter than before.",
]


def approved_segments(project, raw_clips: list[bytes]) -> list[VideoSegment]:
    """Three scenes of one shot each, with narration, each shot's segment approved (not yet normalized)."""
    shots = build_tree(project, scenes=3, shots=1, iterations=1)
    segments = []
    for shot, clip, text in zip(shots, raw_clips, NARRATION, strict=True):
        ProjectScene.objects.filter(pk=shot.scene_id).update(narration=text)
        image = shot.images.order_by("variant_number").first()
        SceneShot.objects.filter(pk=shot.pk).update(selected_image=image)
        segments.append(
            make_segment(shot, data=clip, approval_status=ApprovalStatus.APPROVED, duration=2.0, source_image=image)
        )
    return segments


@pytest.fixture
def segments(project, raw_clips) -> list[VideoSegment]:
    return approved_segments(project, raw_clips)


def run_audio(asset: AudioAsset) -> AudioAsset:
    """Run the asset's job through the offline provider in this thread, as a worker would."""
    asset.refresh_from_db()
    job_run(job_id=asset.job_id)
    asset.refresh_from_db()
    return asset


def loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP), measured with ffmpeg's ebur128."""
    result = subprocess.run(
        [
            ffmpeg.binary(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-filter_complex",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak
