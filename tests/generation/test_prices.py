"""Every Replicate model in the registry end to end through the strict fake and the real client, on local storage
(inputs uploaded through the files API) and on S3 (presigned URLs the fake fetches and decodes):
what a call is estimated to cost before it runs and what it is charged after stay within 10 % of each other."""

import time
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation import services
from generation.models import AIModel, Job, JobStatus
from generation.providers.offline import image as offline_image
from tests.fixtures_media import flat_clip

pytestmark = pytest.mark.django_db


def _finish(job: Job, timeout: float = 30) -> Job:
    services.job_run(job_id=job.pk)
    deadline = time.monotonic() + timeout
    job.refresh_from_db()
    while not job.is_terminal and time.monotonic() < deadline:
        services.job_poll(job_id=job.pk, reschedule=False)
        job.refresh_from_db()
        time.sleep(0.2)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue("s3_storage") if request.param == "s3" else None


@pytest.fixture
def stored(tmp_path, storage):
    picture = offline_image.to_png(offline_image.draw(prompt="x", seed=3))
    still = default_storage.save("inputs/still.png", ContentFile(picture))
    clip = flat_clip(tmp_path / "clip.mp4")
    video = default_storage.save("inputs/clip.mp4", ContentFile(clip.read_bytes()))
    return {"image": still, "video": video}


CASES = [
    ("black-forest-labs/flux-schnell", "image", {"prompt": "Tokyo", "num_outputs": 2}),
    ("black-forest-labs/flux-dev", "refine", {"prompt": "Tokyo", "image": "{image}"}),
    ("wan-video/wan-2.5-i2v", "video", {"image": "{image}", "prompt": "pan", "duration": 5, "resolution": "480p"}),
    ("wan-video/wan-2.5-i2v", "video", {"image": "{image}", "prompt": "pan", "duration": 10, "resolution": "1080p"}),
    ("kwaivgi/kling-v2.1", "video", {"image": "{image}", "prompt": "pan", "duration": 5}),
    ("minimax/speech-02-turbo", "speech", {"text": "Tokyo wakes up before the sun. " * 8, "voice": "Calm_Woman"}),
    ("meta/musicgen", "music", {"prompt": "calm piano", "duration": 12}),
    ("sync/lipsync-2", "lipsync", {"video": "{video}", "audio": "{video}", "duration": 2}),
]


@pytest.mark.parametrize(("model_id", "capability", "params"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_model_runs_and_is_charged_within_ten_percent_of_its_estimate(
    project, owner, fake_replicate, storage, stored, model_id, capability, params
):
    model = next(m for m in AIModel.objects.filter(provider="replicate") if m.model_id.split(":")[0] == model_id)
    filled = {k: v.format(**stored) if isinstance(v, str) else v for k, v in params.items()}
    job = services.jobs_create(
        project=project, user=owner, specs=[services.JobSpec(capability=capability, input=filled, model=model)]
    )[0]
    assert job.estimated_cost > 0
    job = _finish(job)
    assert job.actual_cost is not None and job.actual_cost > 0
    ratio = job.actual_cost / job.estimated_cost
    assert Decimal("0.9") <= ratio <= Decimal("1.1"), (job.estimated_cost, job.actual_cost)
    sent = [v for v in fake_replicate.predictions[job.prediction_id].input.values() if isinstance(v, str)]
    urls = [v for v in sent if v.startswith("http")]
    if capability in ("refine", "video", "lipsync") and storage is not None:
        # Object storage hands Replicate presigned URLs to the bucket, which the fake fetched; nothing uploaded.
        assert urls and all("X-Amz-Signature" in url and storage.bucket in url for url in urls)
        assert not fake_replicate.uploads
    elif capability in ("refine", "video", "lipsync"):
        assert urls and all(url.startswith(fake_replicate.url) for url in urls)
        assert fake_replicate.uploads, "local media goes through Replicate's files API"
