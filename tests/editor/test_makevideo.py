"""makevideo: the whole pipeline headless, offline, to a playable MP4 with voice and music, and its report."""

import json

import av
import pytest
from django.core.management import CommandError, call_command

from editor.models import FinalVideo
from projects.models import VideoProject
from storyboard.models import VideoSegment

pytestmark = pytest.mark.django_db


def test_it_makes_a_video_from_a_prompt(owner, team, tmp_path, capsys, settings):
    settings.DEMO_USERNAME = owner.username
    out = tmp_path / "tokyo.mp4"
    call_command(
        "makevideo",
        "A cinematic journey through Tokyo",
        "--out",
        str(out),
        "--scenes",
        "2",
        "--duration",
        "10",
        "--budget",
        "5",
    )
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 1920
        audio = container.streams.audio[0]
        assert audio.codec_context.sample_rate == 48000
        duration = container.duration / av.time_base
    project = VideoProject.objects.get()
    segments = VideoSegment.objects.filter(project=project, is_current=True)
    assert segments.count() == project.shots.count() >= 2
    assert all(s.approval_status == "approved" for s in segments)
    final = FinalVideo.objects.get(project=project)
    assert duration == pytest.approx(final.duration, abs=0.1)
    data = json.loads(out.with_suffix(".json").read_text())
    kinds = {asset["kind"] for asset in data["assets"]}
    assert {"text", "image", "video", "speech", "music"} <= kinds, "voice and music are in it"
    image = next(a for a in data["assets"] if a["kind"] == "image")
    assert image["provider"] == "offline" and image["seed"] is not None and image["prompt"] and "cost" in image
    assert set(data["stages_seconds"]) == {"plan", "images", "animate", "sound", "compile"}
    printed = capsys.readouterr().out
    assert "Images" in printed and "Compile" in printed and f"Wrote {out}" in printed


def test_it_says_why_it_cannot_start(owner, tmp_path, settings):
    settings.DEMO_USERNAME = "nobody"
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("makevideo", "Tokyo", "--out", str(tmp_path / "x.mp4"))
    with pytest.raises(CommandError, match="--budget must be a number"):
        call_command(
            "makevideo", "Tokyo", "--out", str(tmp_path / "x.mp4"), "--user", owner.username, "--budget", "lots"
        )


def test_it_stops_at_the_budget(owner, team, tmp_path, settings):
    from decimal import Decimal

    from generation.models import AIModel

    AIModel.objects.filter(capability="video", provider="offline").update(price_unit="run", unit_price=Decimal("3"))
    with pytest.raises(CommandError, match=r"Stopped before animation: it would cost about \$9.00, past the \$1 limit"):
        call_command(
            "makevideo",
            "Tokyo",
            "--out",
            str(tmp_path / "x.mp4"),
            "--user",
            owner.username,
            "--scenes",
            "1",
            "--budget",
            "1",
        )
    assert not (tmp_path / "x.mp4").exists()


def test_a_failed_call_is_retried_in_the_process_instead_of_waiting_out_the_deadline(
    project, owner, settings, monkeypatch
):
    """No worker reads the queue under makevideo: the retry a transient failure schedules must run here."""
    import time

    from editor import pipeline
    from generation import services
    from generation.providers.base import TransientError
    from generation.providers.offline.provider import OfflineProvider

    settings.JOB_BACKOFF_SECONDS = 0
    real_start = OfflineProvider.start
    calls = []

    def flaky(self, job):
        calls.append(job.pk)
        if len(calls) == 1:
            raise TransientError("Replicate answered 503: busy")
        return real_start(self, job)

    monkeypatch.setattr(OfflineProvider, "start", flaky)
    job = services.job_create(project=project, user=owner, capability="image", input={"prompt": "Tokyo at dawn"})
    started = time.monotonic()
    pipeline._run([job], stage="Images", progress=lambda *args: None, timeout=20)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2 and len(calls) == 2
    assert time.monotonic() - started < 10
