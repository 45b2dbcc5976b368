"""The fake Replicate is as strict as Replicate: it refuses what the contracts refuse, in Replicate's words.

Called directly over HTTP (httpx, and the official client's own parsers), so a
test that passes through it has really been checked. Then what the app does
with a refusal: a 422 fails the job at once, as does a request the client
cannot even build; neither is retried.
"""

import base64

import httpx
import pytest
import replicate
from replicate.file import File

from generation import contracts, services
from generation.defaults import MUSICGEN_VERSION
from generation.models import AIModel, Job, JobStatus
from generation.providers import replicate_api
from tests.fakes import replicate_media
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

AUTH = {"Authorization": "Bearer test-token"}
STILL = "https://x.test/a.png"


def post(fake, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{fake.url}{path}", json=body, headers=AUTH, timeout=10)


def by_name(model: str) -> str:
    return f"/v1/models/{model}/predictions"


def test_it_refuses_input_outside_the_schema_with_replicates_422(fake_replicate):
    answer = post(
        fake_replicate,
        by_name("black-forest-labs/flux-schnell"),
        {"input": {"num_inference_steps": 9, "aspect_ratio": "5:7", "num_outputs": "2", "strength": 1}},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["title"] == "Input validation failed" and body["status"] == 422
    fields = {(f["type"], f["field"]): f["description"] for f in body["invalid_fields"]}
    assert fields[("required", "input")] == "prompt is required"
    assert fields[("number_lte", "input.num_inference_steps")] == "Must be less than or equal to 4"
    assert fields[("enum", "input.aspect_ratio")].startswith('aspect_ratio must be one of the following: "1:1", "16:9"')
    assert fields[("invalid_type", "input.num_outputs")] == "Invalid type. Expected: integer, given: string"
    assert fields[("additional_property_not_allowed", "input")] == "Additional property strength is not allowed"
    assert body["detail"].splitlines()[0].startswith("- input")
    assert len(body["detail"].splitlines()) == len(body["invalid_fields"])
    assert fake_replicate.predictions == {} and fake_replicate.refused == [body]


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        ("black-forest-labs/flux-dev", {"prompt": "p", "prompt_strength": 1.5}, "input.prompt_strength"),
        ("black-forest-labs/flux-dev", {"prompt": "p", "image": "/media/projects/1/a.png"}, "input.image"),
        ("wan-video/wan-2.5-i2v", {"prompt": "p", "image": STILL, "resolution": "4k"}, "input.resolution"),
        ("wan-video/wan-2.5-i2v", {"prompt": "p", "image": STILL, "duration": 7}, "input.duration"),
        ("kwaivgi/kling-v2.1", {"prompt": "p", "start_image": STILL, "duration": 7}, "input.duration"),
        ("kwaivgi/kling-v2.1", {"prompt": "p", "image": STILL}, "input"),
        ("minimax/speech-02-turbo", {"text": "hi", "sample_rate": "32000"}, "input.sample_rate"),
        ("minimax/speech-02-turbo", {"text": "hi", "audio_format": "ogg"}, "input.audio_format"),
        ("sync/lipsync-2", {"video": "https://x.test/v.mp4"}, "input"),
        ("sync/lipsync-2", {"video": "https://x.test/v.mp4", "audio": "a.wav", "temperature": 3}, "input.temperature"),
    ],
)  # fmt: skip
def test_it_refuses_what_each_contract_refuses(fake_replicate, model, payload, field):
    answer = post(fake_replicate, by_name(model), {"input": payload})
    assert answer.status_code == 422, answer.text
    assert field in {f["field"] for f in answer.json()["invalid_fields"]}
    assert contracts.for_model(model).problems(payload), "and the stored contract agrees"


def test_a_community_model_runs_only_by_version(fake_replicate):
    by_model = post(fake_replicate, by_name("meta/musicgen"), {"input": {"prompt": "p", "duration": 8}})
    assert by_model.status_code == 404
    assert by_model.json() == {"detail": "The requested resource could not be found.", "status": 404}
    for version in (MUSICGEN_VERSION, f"meta/musicgen:{MUSICGEN_VERSION}"):
        made = post(fake_replicate, "/v1/predictions", {"version": version, "input": {"prompt": "p", "duration": 8}})
        assert made.status_code == 201 and made.json()["version"] == MUSICGEN_VERSION
    bad = post(fake_replicate, "/v1/predictions", {"version": "0" * 64, "input": {"prompt": "p"}})
    assert bad.status_code == 422 and bad.json()["title"] == "Invalid version or not permitted"
    as_float = post(fake_replicate, "/v1/predictions", {"version": MUSICGEN_VERSION, "input": {"duration": 8.5}})
    assert as_float.status_code == 422 and as_float.json()["invalid_fields"][0]["field"] == "input.duration"
    unversioned = post(fake_replicate, "/v1/predictions", {"version": "meta/musicgen", "input": {}})
    assert unversioned.status_code == 422, "owner/name alone runs only official models"


def test_it_checks_the_request_body_itself(fake_replicate):
    flux = by_name("black-forest-labs/flux-schnell")
    assert post(fake_replicate, by_name("nobody/nothing"), {"input": {}}).status_code == 404
    missing = post(fake_replicate, "/v1/predictions", {"inptu": {"prompt": "p"}}).json()["invalid_fields"]
    assert {f["description"] for f in missing} == {
        "version is required",
        "input is required",
        "Additional property inptu is not allowed",
    }
    webhook = post(fake_replicate, flux, {"input": {"prompt": "p"}, "webhook": "http://example.com/hook"})
    assert webhook.status_code == 422 and webhook.json()["invalid_fields"][0]["field"] == "webhook"
    events = post(fake_replicate, flux, {"input": {"prompt": "p"}, "webhook_events_filter": ["start", "done"]})
    assert events.status_code == 422 and events.json()["invalid_fields"][0]["field"] == "webhook_events_filter.1"
    ok = post(
        fake_replicate,
        flux,
        {"input": {"prompt": "p"}, "webhook": "https://example.com/hook", "webhook_events_filter": ["completed"]},
    )
    assert ok.status_code == 201
    assert httpx.post(f"{fake_replicate.url}{flux}", json={"input": {}}, timeout=10).status_code == 401


def test_its_files_api_answers_what_the_client_parses(settings, fake_replicate, tmp_path):
    client = replicate.Client(api_token="test-token", base_url=fake_replicate.url)
    still, _, _ = replicate_media.image(aspect_ratio="1:1", output_format="png")
    path = tmp_path / "still.png"
    path.write_bytes(still)
    made = client.files.create(path, metadata={"shot": 3})
    assert isinstance(made, File) and made.size == len(still) and made.content_type == "image/png"
    assert made.name == "still.png" and made.metadata == {"shot": 3} and set(made.checksums) == {"sha256", "md5"}
    assert made.urls["get"] == f"{fake_replicate.url}/v1/files/{made.id}" and made.expires_at
    assert client.files.get(made.id).checksums == made.checksums
    assert httpx.get(f"{made.urls['get']}/download", timeout=10).content == still
    assert fake_replicate.uploads[made.id].data == still
    assert client.files.delete(made.id) is True
    assert httpx.get(made.urls["get"], headers=AUTH, timeout=10).status_code == 404


def test_a_file_input_it_cannot_fetch_fails_the_prediction(fake_replicate):
    fake_replicate.switches.delay = 0.05
    gone = f"{fake_replicate.url}/v1/files/deadbeef"
    made = post(fake_replicate, by_name("black-forest-labs/flux-dev"), {"input": {"prompt": "p", "image": gone}})
    assert made.status_code == 201
    prediction = fake_replicate.predictions[made.json()["id"]]
    wait_for(lambda: prediction.status == "failed")
    assert "Failed to download" in prediction.error
    still, _, _ = replicate_media.image(aspect_ratio="1:1", output_format="png")
    inline = "data:image/png;base64," + base64.b64encode(still).decode()
    made = post(fake_replicate, by_name("black-forest-labs/flux-dev"), {"input": {"prompt": "p", "image": inline}})
    prediction = fake_replicate.predictions[made.json()["id"]]
    wait_for(lambda: prediction.status == "succeeded")
    assert prediction.files["image"] == still


def test_it_publishes_each_models_schema_and_a_changed_one_on_request(fake_replicate):
    client = replicate.Client(api_token="test-token", base_url=fake_replicate.url)
    musicgen = client.models.get("meta/musicgen")
    contract = contracts.for_model("meta/musicgen")
    assert musicgen.latest_version.id == MUSICGEN_VERSION
    assert musicgen.latest_version.openapi_schema["components"] == contract.openapi["components"]
    changed = {"components": {"schemas": {"Input": {"type": "object", "properties": {}}, "Output": {}}}}
    fake_replicate.switches.published["meta/musicgen"] = changed
    assert client.models.get("meta/musicgen").latest_version.openapi_schema == changed
    assert musicgen.versions.get(MUSICGEN_VERSION).id == MUSICGEN_VERSION


# What the app does with a refusal ---------------------------------------------------------


def test_a_422_from_replicate_fails_the_job_at_once(project, owner, fake_replicate, broker, worker):
    job = services.job_create(project=project, user=owner, capability="image", input={"prompt": "Tokyo"})
    # The registry row changes after the job passed its check: now only Replicate can refuse it.
    model = AIModel.objects.get(pk=job.ai_model_id)
    model.input_mapping = {**model.input_mapping, "fixed": {"output_format": "gif"}}
    model.save(update_fields=["input_mapping"])
    job = wait_for(lambda: (Job.objects.get(pk=job.pk)).is_terminal and Job.objects.get(pk=job.pk), timeout=30)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "Replicate refused the request (422)" in job.error and "output_format" in job.error
    assert len(fake_replicate.creates) == 1 and fake_replicate.predictions == {}


def test_a_request_the_client_cannot_build_is_not_retried(project, owner, fake_replicate, broker, monkeypatch):
    job = services.job_create(project=project, user=owner, capability="image", input={"prompt": "Tokyo"})
    real = replicate_api.map_input
    # A value that is not JSON: httpx raises TypeError while building the request.
    monkeypatch.setattr(replicate_api, "map_input", lambda job, stack: {**real(job, stack), "prompt": object()})
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "TypeError" in job.error
    assert fake_replicate.creates == [] and fake_replicate.predictions == {}
