"""Every capability and every registry Replicate model, end to end through the strict fake Replicate.

The real `replicate` client talks HTTP to the fake, which validates each create
against the model's stored contract as Replicate does; the real worker runs the
jobs (jobs_create → run_job → poll or webhook → ingest → the target's handler).
Local media reaches the model through the files API. A request a model would
refuse is refused by jobs_create before anything is queued, sent or spent.
"""

import io

import av
import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from editor import services as editor_services
from editor.models import AudioAsset, AudioKind, AudioStatus
from generation import contracts, registry
from generation.defaults import MUSICGEN_VERSION
from generation.models import AIModel, Capability, CapabilityRoute, Job, JobStatus
from generation.services import JobSpec, jobs_create
from projects import services as project_services
from projects.models import GenerationStatus, ShotImage
from storyboard import services as storyboard_services
from storyboard.models import SegmentStatus, VideoSegment
from tests.editor.conftest import approved_segments
from tests.factories import build_tree
from tests.fakes import replicate_media
from tests.fixtures_generation import wait_for
from tests.storyboard.conftest import with_masters

pytestmark = pytest.mark.django_db(transaction=True)


def model(model_id: str) -> AIModel:
    return AIModel.objects.get(provider="replicate", model_id=model_id)


def finished(row):  # any target or job row
    row.refresh_from_db()
    return row


def job_done(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.is_terminal else None


def conforms(fake, prediction) -> None:
    """What the fake accepted is what the contract accepts (the fake is not a rubber stamp: see test_fake_replicate)."""
    assert contracts.for_model(prediction.model).problems(prediction.input) == []


def upload_url(fake, stored) -> str:
    return f"{fake.url}/v1/files/{stored.id}"


def streams(data: bytes) -> tuple[int, int, float]:
    with av.open(io.BytesIO(data)) as container:
        return len(container.streams.video), len(container.streams.audio), container.duration / av.time_base


# Image and refine ------------------------------------------------------------------


def test_it_makes_stills_with_flux_schnell(project, owner, fake_replicate, broker, worker):
    (shot,) = build_tree(project, scenes=1, shots=1)
    images = project_services.shot_generate(shot=shot, user=owner, count=2)
    for image in images:
        wait_for(lambda image=image: finished(image).status != GenerationStatus.PENDING and image.image, timeout=30)
    assert {ShotImage.objects.get(pk=i.pk).status for i in images} == {GenerationStatus.COMPLETE}
    assert len(fake_replicate.predictions) == 2
    for prediction in fake_replicate.predictions.values():
        assert prediction.model == "black-forest-labs/flux-schnell" and prediction.via == "model"
        assert prediction.input["num_outputs"] == 1 and prediction.input["output_format"] == "png"
        assert len(prediction.output) == prediction.input["num_outputs"], "a list of num_outputs URIs"
        conforms(fake_replicate, prediction)
    image = ShotImage.objects.get(pk=images[0].pk)
    assert image.image.read(4) == b"\x89PNG"
    assert image.metadata["provenance"]["media"]["width"] == 320, "the fake's 16:9 still was ingested"


def test_it_refines_with_flux_dev_uploading_the_parent(project, owner, fake_replicate, broker, worker):
    CapabilityRoute.objects.create(capability=Capability.REFINE, model=model("black-forest-labs/flux-dev"))
    (shot,) = build_tree(project, scenes=1, shots=1, iterations=1)
    parent = shot.images.order_by("variant_number").first()
    images = project_services.shot_refine(shot=shot, parent=parent, instruction="more clouds", strength=0.7, user=owner)
    for image in images:
        wait_for(lambda image=image: finished(image).status != GenerationStatus.PENDING and image.image, timeout=60)
    assert {ShotImage.objects.get(pk=i.pk).status for i in images} == {GenerationStatus.COMPLETE}
    parent_bytes = parent.image.open("rb").read()
    uploads = list(fake_replicate.uploads.values())
    assert len(uploads) == len(images), "the parent went through the files API once per job"
    assert all(stored.data == parent_bytes for stored in uploads)
    assert all(stored.content_type == "image/png" and stored.name.endswith(".png") for stored in uploads)
    sent = {p.input["image"] for p in fake_replicate.predictions.values()}
    assert sent == {upload_url(fake_replicate, stored) for stored in uploads}
    for prediction in fake_replicate.predictions.values():
        assert prediction.model == "black-forest-labs/flux-dev"
        assert prediction.input["prompt_strength"] == 0.7 and prediction.files["image"] == parent_bytes
        conforms(fake_replicate, prediction)


# Video -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "image_input", "own_sound"),
    [("wan-video/wan-2.5-i2v", "image", True), ("kwaivgi/kling-v2.1", "start_image", False)],
)
def test_it_animates_a_master_uploading_the_still(
    settings, live_server, project, owner, fake_replicate, broker, worker, model_id, image_input, own_sound
):
    settings.PUBLIC_BASE_URL = live_server.url  # completed by signed webhooks, not polling
    (shot,) = with_masters(project, shots=1)
    storyboard_services.shot_animation_update(
        shot=shot, ai_model=model(model_id), duration=5, motion_prompt="slow push in", seed=None
    )
    (segment,) = storyboard_services.segments_request(project=project, shots=[shot], user=owner)
    segment = wait_for(
        lambda: (s := finished(segment)).status in (SegmentStatus.COMPLETED, SegmentStatus.FAILED) and s, timeout=60
    )
    assert segment.status == SegmentStatus.COMPLETED, segment.error
    (prediction,) = fake_replicate.predictions.values()
    (stored,) = fake_replicate.uploads.values()
    assert stored.data == shot.selected_image.image.open("rb").read()
    assert prediction.model == model_id and prediction.input[image_input] == upload_url(fake_replicate, stored)
    assert prediction.input["duration"] == 5
    conforms(fake_replicate, prediction)
    video_streams, audio_streams, _ = streams(segment.video.open("rb").read())
    assert video_streams == 1 and audio_streams == (1 if own_sound else 0)
    assert segment.duration == pytest.approx(5, abs=0.3)
    assert {status for status, _ in fake_replicate.deliveries} == {"processing", "succeeded"}


# Speech, music, lipsync -----------------------------------------------------------------


def test_it_speaks_with_minimax_in_one_of_its_voices(project, owner, fake_replicate, broker, worker):
    minimax = model("minimax/speech-02-turbo")
    (shot,) = build_tree(project, scenes=1, shots=1)
    voice = registry.voices(minimax)[3][0]
    text = "Dawn breaks over the city, and the neon fades into a pale sky."
    asset = AudioAsset.objects.create(project=project, kind=AudioKind.VOICEOVER, scene=shot.scene, text=text)
    spec = JobSpec(capability="speech", input={"text": text, "voice": voice}, target=asset, model=minimax)
    (job,) = jobs_create(project=project, user=owner, specs=[spec])
    assert wait_for(lambda: job_done(job), timeout=30).status == JobStatus.SUCCEEDED, job.error
    (prediction,) = fake_replicate.predictions.values()
    assert prediction.input == {"text": text, "voice_id": voice, "audio_format": "mp3"}
    assert voice in contracts.for_model(minimax.model_id).voices
    conforms(fake_replicate, prediction)
    asset.refresh_from_db()
    assert asset.status == AudioStatus.COMPLETED and asset.audio.name.endswith(".mp3")
    assert asset.duration == pytest.approx(len(text) / 15, abs=0.3), "the length of the speech, not a fixed clip"


def test_it_makes_music_with_musicgen_by_version(project, owner, fake_replicate, broker, worker):
    musicgen = model(f"meta/musicgen:{MUSICGEN_VERSION}")
    asset = AudioAsset.objects.create(project=project, kind=AudioKind.MUSIC, prompt="calm piano", requested_duration=12)
    spec = JobSpec(capability="music", input={"prompt": "calm piano", "duration": 12}, target=asset, model=musicgen)
    (job,) = jobs_create(project=project, user=owner, specs=[spec])
    assert wait_for(lambda: job_done(job), timeout=30).status == JobStatus.SUCCEEDED, job.error
    (prediction,) = fake_replicate.predictions.values()
    assert prediction.via == "version" and prediction.version == MUSICGEN_VERSION
    assert prediction.input["duration"] == 12 and type(prediction.input["duration"]) is int
    assert prediction.input["output_format"] == "wav"
    conforms(fake_replicate, prediction)
    asset.refresh_from_db()
    assert asset.status == AudioStatus.COMPLETED and asset.audio.name.endswith(".wav")
    assert asset.duration == pytest.approx(12, abs=0.2)


def test_the_music_service_asks_musicgen_for_what_it_can_make(project, owner, fake_replicate, broker, worker):
    CapabilityRoute.objects.create(capability=Capability.MUSIC, model=model(f"meta/musicgen:{MUSICGEN_VERSION}"))
    project.target_duration = 20
    project.save(update_fields=["target_duration"])
    asset = editor_services.music_request(project=project, user=owner, mood="warm strings")
    job = Job.objects.get(pk=asset.job_id)
    assert wait_for(lambda: job_done(job), timeout=30).status == JobStatus.SUCCEEDED, job.error
    (prediction,) = fake_replicate.predictions.values()
    assert prediction.input["prompt"] == "warm strings" and prediction.input["duration"] == 22
    conforms(fake_replicate, prediction)


def test_it_lipsyncs_a_segment_uploading_video_and_voice(project, owner, raw_clips, fake_replicate, broker, worker):
    CapabilityRoute.objects.create(capability=Capability.LIPSYNC, model=model("sync/lipsync-2"))
    segment = approved_segments(project, raw_clips)[0]
    voice_bytes, _, _ = replicate_media.audio(seconds=3.0, audio_format="wav")
    voice = AudioAsset.objects.create(
        project=project,
        kind=AudioKind.VOICEOVER,
        scene=segment.scene,
        text="Hello",
        status=AudioStatus.COMPLETED,
        duration=3.0,
    )
    voice.audio.save("voice.wav", ContentFile(voice_bytes))
    new = editor_services.segment_lipsync(segment=segment, user=owner)
    new = wait_for(
        lambda: (s := finished(new)).status in (SegmentStatus.COMPLETED, SegmentStatus.FAILED) and s, timeout=60
    )
    assert new.status == SegmentStatus.COMPLETED, new.error
    (prediction,) = fake_replicate.predictions.values()
    by_data = {stored.data: stored for stored in fake_replicate.uploads.values()}
    assert len(fake_replicate.uploads) == 2
    assert prediction.input["video"] == upload_url(fake_replicate, by_data[segment.video.open("rb").read()])
    assert prediction.input["audio"] == upload_url(fake_replicate, by_data[voice_bytes])
    assert prediction.input["sync_mode"] == "loop"
    conforms(fake_replicate, prediction)
    video_streams, audio_streams, seconds = streams(new.video.open("rb").read())
    assert (video_streams, audio_streams) == (1, 1)
    # A voice longer than the 2 s shot: the picture loops to the voice's end, and the estimate priced those seconds.
    assert seconds == pytest.approx(3.0, abs=0.3), "as long as the voice"
    job = new.job
    assert job.input["duration"] == pytest.approx(3.0)
    assert abs(job.actual_cost - job.estimated_cost) <= job.estimated_cost / 10
    assert VideoSegment.objects.get(pk=segment.pk).is_current is False


# Refused before anything is spent ------------------------------------------------------

REFUSED_BY_REQUEST = [
    # (model, capability, input, the field the message names)
    ("black-forest-labs/flux-dev", "refine", {"prompt": "p", "image": "x.png", "strength": 1.5}, "strength"),
    ("wan-video/wan-2.5-i2v", "video", {"image": "x.png", "prompt": "p", "resolution": "4k"}, "resolution"),
    ("kwaivgi/kling-v2.1", "video", {"image": "x.png", "prompt": "p", "duration": 7}, "duration"),
    ("minimax/speech-02-turbo", "speech", {"text": "Hello", "voice": "narrator"}, "narrator"),
    (f"meta/musicgen:{MUSICGEN_VERSION}", "music", {"prompt": "p", "duration": 45}, "at most 30 s"),
    ("black-forest-labs/flux-schnell", "image", {"prompt": "p", "num_outputs": 5}, "num_outputs"),
]
# Inputs only the stored contract refuses: the registry row's fixed values changed to what the model does not take.
REFUSED_BY_CONTRACT = [
    ("black-forest-labs/flux-schnell", "image", {"prompt": "p"}, {"output_format": "gif"}, "output_format"),
    ("black-forest-labs/flux-dev", "refine", {"prompt": "p", "image": "x.png"}, {"num_inference_steps": 60},
     "num_inference_steps"),
    ("wan-video/wan-2.5-i2v", "video", {"image": "x.png", "prompt": "p"}, {"enable_prompt_expansion": "yes"},
     "enable_prompt_expansion"),
    ("kwaivgi/kling-v2.1", "video", {"image": "x.png", "prompt": "p"}, {"mode": "ultra"}, "mode"),
    ("minimax/speech-02-turbo", "speech", {"text": "Hello"}, {"audio_format": "ogg"}, "audio_format"),
    (f"meta/musicgen:{MUSICGEN_VERSION}", "music", {"prompt": "p", "duration": 10}, {"model_version": "small"},
     "model_version"),
    ("sync/lipsync-2", "lipsync", {"video": "v.mp4", "audio": "a.wav"}, {"sync_mode": "stretch"}, "sync_mode"),
    ("sync/lipsync-2", "lipsync", {"video": "v.mp4", "audio": "a.wav"}, {"temperature": 2}, "temperature"),
]  # fmt: skip


def refused(project, owner, fake, ai_model: AIModel, capability: str, params: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        jobs_create(project=project, user=owner, specs=[JobSpec(capability=capability, input=params, model=ai_model)])
    assert field in " ".join(caught.value.messages)
    assert not Job.objects.exists(), "no job row, so nothing is queued or counted against the budget"
    assert fake.creates == [] and fake.uploads == {}, "Replicate never heard of it"


@pytest.mark.parametrize(("model_id", "capability", "params", "field"), REFUSED_BY_REQUEST)
def test_a_request_the_model_would_refuse_is_refused_before_spending(
    project, owner, fake_replicate, model_id, capability, params, field
):
    refused(project, owner, fake_replicate, model(model_id), capability, params, field)


@pytest.mark.parametrize(("model_id", "capability", "params", "fixed", "field"), REFUSED_BY_CONTRACT)
def test_what_only_the_contract_refuses_is_refused_before_spending(
    project, owner, fake_replicate, model_id, capability, params, fixed, field
):
    ai_model = model(model_id)
    ai_model.input_mapping = {**ai_model.input_mapping, "fixed": {**ai_model.input_mapping.get("fixed", {}), **fixed}}
    ai_model.save(update_fields=["input_mapping"])
    refused(project, owner, fake_replicate, ai_model, capability, params, field)
    assert contracts.for_model(model_id).problems(fixed, partial=True), "the contract itself refuses it"
