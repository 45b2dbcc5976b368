"""makevideo --provider api: the whole pipeline through the real openai and replicate clients, against fakes as
strict as the services (the stored contracts, strict structured outputs), to a video with voice and music."""

import json

import av
import numpy as np
import pytest
from django.core.management import call_command

from editor.models import FinalVideo
from generation.models import Job, JobStatus
from projects.models import VideoProject

pytestmark = pytest.mark.django_db


def _loudness(path) -> float:
    with av.open(str(path)) as container:
        samples = [frame.to_ndarray() for frame in container.decode(audio=0)]
    data = np.concatenate([s.reshape(-1) for s in samples]).astype(np.float64)
    return float(np.sqrt(np.mean(data**2)))


def test_it_makes_a_video_with_voice_and_music_through_the_api(
    owner, team, tmp_path, settings, fake_openai, fake_replicate, capsys
):
    settings.DEMO_USERNAME = owner.username
    fake_openai.edge = "min"  # one scene of one shot: the shortest script the schema allows
    out = tmp_path / "api.mp4"
    call_command(
        "makevideo",
        "A cinematic journey through Tokyo",
        "--out",
        str(out),
        "--provider",
        "api",
        "--scenes",
        "1",
        "--duration",
        "10",
        "--budget",
        "5",
    )
    project = VideoProject.objects.get()
    jobs = Job.objects.filter(project=project)
    assert jobs.exists() and not jobs.exclude(status=JobStatus.SUCCEEDED).exists()
    providers = {(job.capability, job.provider, job.model_id.split(":")[0]) for job in jobs}
    assert ("text", "openai", "gpt-4o-mini") in providers
    assert ("image", "replicate", "black-forest-labs/flux-schnell") in providers
    assert ("video", "replicate", "wan-video/wan-2.5-i2v") in providers
    assert ("speech", "replicate", "minimax/speech-02-turbo") in providers
    assert ("music", "replicate", "meta/musicgen") in providers
    # Every create the fake saw passed the model's contract: nothing was refused or retried.
    assert all(job.attempts == 1 for job in jobs)
    inputs = {p.model: p.input for p in fake_replicate.predictions.values()}
    assert inputs["minimax/speech-02-turbo"]["voice_id"] == "Wise_Woman"
    assert isinstance(inputs["meta/musicgen"]["duration"], int)
    assert inputs["wan-video/wan-2.5-i2v"]["image"].startswith(fake_replicate.url)  # uploaded through /v1/files

    final = FinalVideo.objects.get(project=project)
    with av.open(str(out)) as container:
        assert container.streams.video and container.streams.audio
        assert container.duration / av.time_base == pytest.approx(final.duration, abs=0.1)
    assert _loudness(out) > 0.01, "the voice and the music are heard"
    data = json.loads(out.with_suffix(".json").read_text())
    kinds = {asset["kind"]: asset["provider"] for asset in data["assets"]}
    assert kinds["speech"] == "replicate" and kinds["music"] == "replicate"
    assert float(data["total_cost"]) > 0
