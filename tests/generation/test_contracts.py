"""The stored provider contracts: every registry model has one, the registry fits it, and a request it refuses
is refused before anything is spent."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from generation import contracts, defaults, provider_check, services
from generation.models import AIModel, Job, JobStatus
from generation.providers.offline import image as offline_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(settings):
    settings.REPLICATE_API_TOKEN = "r8_x"


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    return client


def test_it_has_a_contract_with_its_source_for_every_replicate_model_in_the_registry():
    rows = AIModel.objects.filter(provider="replicate")
    assert rows.count() == 7
    for row in rows:
        contract = contracts.for_model(row.model_id)
        assert contract is not None, row.model_id
        assert any(url.startswith("https://") for url in contract.sources) and contract.retrieved
        assert contract.input_schema["type"] == "object" and contract.output_schema
        assert (
            contracts.registry_problems(
                model_id=row.model_id, capability=row.capability, input_mapping=row.input_mapping
            )
            == []
        ), row.model_id


def test_it_runs_a_community_model_by_version_and_official_ones_by_name():
    musicgen = AIModel.objects.get(capability="music", provider="replicate")
    name, version = contracts.split_model_id(musicgen.model_id)
    assert name == "meta/musicgen" and version == contracts.for_model(name).version
    assert not contracts.for_model(name).official
    problems = contracts.registry_problems(model_id=name, capability="music", input_mapping=musicgen.input_mapping)
    assert any("community model" in p for p in problems)
    assert contracts.for_model("black-forest-labs/flux-schnell").official


def test_it_flags_a_mapping_to_an_input_the_model_does_not_have_and_a_required_input_never_sent():
    problems = contracts.registry_problems(
        model_id="kwaivgi/kling-v2.1",
        capability="video",
        input_mapping={"image": "image", "prompt": "prompt", "seed": "seed"},
    )
    assert "kwaivgi/kling-v2.1: our 'image' maps to 'image', which is not an input of the model" in problems
    assert "kwaivgi/kling-v2.1: our 'seed' maps to 'seed', which is not an input of the model" in problems
    assert "kwaivgi/kling-v2.1: the required input 'start_image' is never sent" in problems


def test_it_flags_a_fixed_input_outside_the_models_enum():
    problems = contracts.registry_problems(
        model_id="black-forest-labs/flux-schnell",
        capability="image",
        input_mapping={"prompt": "prompt", "fixed": {"output_format": "tiff"}},
    )
    assert len(problems) == 1 and "output_format" in problems[0] and "'tiff' is not one of" in problems[0]


def test_the_start_up_check_refuses_a_default_registry_that_breaks_its_contract(monkeypatch):
    assert provider_check.check_default_registry() == []
    broken = [
        (cap, prov, mid, label, unit, price, {**mapping, "strength": "strength"} if cap == "refine" else mapping, caps)
        for cap, prov, mid, label, unit, price, mapping, caps in defaults.MODELS
    ]
    monkeypatch.setattr(defaults, "MODELS", broken)
    errors = provider_check.check_default_registry()
    assert [e.id for e in errors] == ["gen.E001"]
    assert "'strength' maps to 'strength', which is not an input" in errors[0].msg


def test_a_request_its_model_would_refuse_is_refused_before_anything_is_spent(priced, project, owner):
    flux = AIModel.objects.get(model_id="black-forest-labs/flux-schnell")
    flux.input_mapping = {**flux.input_mapping, "fixed": {"output_format": "tiff"}}
    flux.save()
    with pytest.raises(ValidationError) as refused:
        services.job_create(project=project, user=owner, capability="image", input={"prompt": "Tokyo at dawn"})
    assert "FLUX.1 [schnell] would refuse this request, so nothing was spent" in refused.value.messages[0]
    assert "output_format: 'tiff' is not one of" in refused.value.messages[0]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("capability", "params", "message"),
    [
        ("speech", {"text": "Hello", "voice": "narrator"}, "MiniMax Speech-02 Turbo has no voice 'narrator'"),
        ("music", {"prompt": "calm", "duration": 45}, "MusicGen makes at most 30 s in one call"),
        ("video", {"image": "still.png", "duration": 7}, "duration"),
        ("video", {"image": "still.png", "resolution": "4k"}, "resolution"),
    ],
)
def test_it_refuses_what_the_registry_knows_a_model_refuses(priced, project, owner, capability, params, message):
    with pytest.raises(ValidationError) as refused:
        services.job_create(project=project, user=owner, capability=capability, input=params)
    assert message in " ".join(refused.value.messages)
    assert not Job.objects.exists()


def test_a_speech_request_without_a_voice_takes_the_models_first_voice(priced, project, owner):
    job = services.job_create(project=project, user=owner, capability="speech", input={"text": "Hello"})
    assert job.input["voice"] == "Wise_Woman"


def test_an_error_a_retry_cannot_cure_fails_the_job_at_once(project, owner, monkeypatch, broker):
    from generation.providers.offline.provider import OfflineProvider

    def broken(self, job):
        raise TypeError("Object of type File is not JSON serializable")

    monkeypatch.setattr(OfflineProvider, "start", broken)
    job = services.job_create(project=project, user=owner, capability="image", input={"prompt": "Tokyo"})
    broker.flush_all()
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "TypeError: Object of type File is not JSON serializable" in job.error
    assert job.next_attempt_at is None  # no retry scheduled


def test_describe_changes_names_a_new_required_input_and_a_removed_enum_value():
    contract = contracts.for_model("black-forest-labs/flux-schnell")
    old = contract.openapi["components"]
    new = json.loads(json.dumps(old))
    new["schemas"]["Input"]["required"] = [*new["schemas"]["Input"].get("required", []), "megapixels"]
    new["schemas"]["output_format"]["enum"].remove("png")
    del new["schemas"]["Input"]["properties"]["go_fast"]
    changes = contracts.describe_changes(old, new)
    assert "new required input 'megapixels'" in changes
    assert "output_format: enum value 'png' was removed" in changes
    assert "input 'go_fast' was removed" in changes


def test_providers_check_without_a_token_checks_the_registry_against_the_stored_contracts(settings):
    settings.REPLICATE_API_TOKEN = ""
    out = StringIO()
    call_command("providers_check", stdout=out)
    text = out.getvalue()
    assert "checking the registry against the stored contracts" in text
    assert "All 7 Replicate models fit their contracts." in text
    for row in AIModel.objects.filter(provider="replicate"):
        assert row.model_id in text


def test_providers_check_fails_on_a_registry_row_that_does_not_fit(settings):
    settings.REPLICATE_API_TOKEN = ""
    kling = AIModel.objects.get(model_id="kwaivgi/kling-v2.1")
    kling.input_mapping = {**kling.input_mapping, "image": "image"}
    kling.save()
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 7 models need attention"):
        call_command("providers_check", stdout=out)
    assert "PROBLEM  video    kwaivgi/kling-v2.1" in out.getvalue()
    assert "the required input 'start_image' is never sent" in out.getvalue()


def test_the_admin_refuses_a_registry_row_that_does_not_fit_its_contract(staff_client):
    kling = AIModel.objects.get(model_id="kwaivgi/kling-v2.1")
    url = reverse("admin:generation_aimodel_change", args=[kling.pk])
    form = {
        "capability": kling.capability,
        "provider": kling.provider,
        "model_id": kling.model_id,
        "label": kling.label,
        "input_mapping": json.dumps({**kling.input_mapping, "image": "image"}),
        "capabilities": json.dumps(kling.capabilities),
        "price_unit": kling.price_unit,
        "unit_price": str(kling.unit_price),
        "is_active": "on",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert "the required input &#x27;start_image&#x27; is never sent" in response.content.decode()
    kling.refresh_from_db()
    assert kling.input_mapping["image"] == "start_image"
    listing = staff_client.get(reverse("admin:generation_aimodel_changelist")).content.decode()
    assert listing.count(">fits<") == 7


def test_the_health_page_lists_each_models_contract_and_its_source(staff_client):
    html = staff_client.get(reverse("admin:generation_job_health")).content.decode()
    assert "Contracts" in html and "meta/musicgen:" in html
    assert html.count("mapping fits the stored contract") == 7
    assert "github.com/replicate/cog-flux" in html or "replicate.com" in html


def _changed_flux_dev(contract: contracts.Contract) -> dict:
    components = json.loads(json.dumps(contract.openapi["components"]))
    components["schemas"]["Input"]["required"] = [*components["schemas"]["Input"].get("required", []), "megapixels"]
    components["schemas"]["Input"]["properties"]["megapixels"] = {"type": "string", "title": "Megapixels"}
    components["schemas"]["output_format"]["enum"].remove("png")
    return {"openapi": "3.0.2", "components": components}


def test_providers_check_with_a_token_compares_with_what_replicate_publishes(fake_replicate):
    out = StringIO()
    call_command("providers_check", stdout=out)
    assert "All 7 Replicate models fit their contracts." in out.getvalue()

    flux_dev = contracts.for_model("black-forest-labs/flux-dev")
    fake_replicate.switches.published["black-forest-labs/flux-dev"] = _changed_flux_dev(flux_dev)
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 7 models need attention"):
        call_command("providers_check", stdout=out)
    text = out.getvalue()
    assert "CHANGED  refine   black-forest-labs/flux-dev" in text
    assert "new required input 'megapixels'" in text
    assert "output_format: enum value 'png' was removed" in text

    out = StringIO()
    call_command("providers_check", "--offline", stdout=out)
    assert "All 7 Replicate models fit their contracts." in out.getvalue()


def test_the_health_page_compares_with_replicate_when_asked(staff_client, fake_replicate):
    flux_dev = contracts.for_model("black-forest-labs/flux-dev")
    fake_replicate.switches.published["black-forest-labs/flux-dev"] = _changed_flux_dev(flux_dev)
    html = staff_client.get(reverse("admin:generation_job_health")).content.decode()
    assert "Compare with what Replicate publishes now" in html and "megapixels" not in html
    html = staff_client.post(reverse("admin:generation_job_health")).content.decode()
    assert "new required input &#x27;megapixels&#x27;" in html
    assert html.count("same as published") == 6


def test_the_registry_migration_keeps_what_operators_set():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("generation.migrations.0003_registry_contracts")
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    kling = AIModel.objects.get(model_id="kwaivgi/kling-v2.1")
    musicgen = AIModel.objects.get(capability="music", provider="replicate")
    minimax = AIModel.objects.get(model_id="minimax/speech-02-turbo")
    # The registry as it stood before: an operator made Kling the default, renamed and repriced Wan.
    AIModel.objects.filter(pk=wan.pk).update(
        is_default=False, unit_price=Decimal("0.07"), label="Wan (ours)", capabilities={"durations": [5, 10]}
    )
    AIModel.objects.filter(pk=kling.pk).update(is_default=True, capabilities={"durations": [5, 10]})
    AIModel.objects.filter(pk=musicgen.pk).update(model_id="meta/musicgen", capabilities={"max_duration": 20})
    AIModel.objects.filter(pk=minimax.pk).update(
        capabilities={"voices": ["Wise_Woman", "Deep_Voice_Man", "Calm_Woman", "Casual_Guy"]}
    )

    migration.forwards(apps, None)

    wan.refresh_from_db(), kling.refresh_from_db(), musicgen.refresh_from_db(), minimax.refresh_from_db()
    assert kling.is_default and not wan.is_default
    assert (wan.label, wan.unit_price) == ("Wan (ours)", Decimal("0.07000"))
    assert wan.capabilities["has_audio"] is True and wan.capabilities["prices"]["by"] == "resolution"
    assert kling.capabilities["seed"] == "none"
    assert musicgen.model_id.startswith("meta/musicgen:") and musicgen.capabilities["max_duration"] == 20
    assert ["Friendly_Person", "Friendly person"] in minimax.capabilities["voices"]


def test_a_file_upload_to_replicate_has_a_timeout(fake_replicate, tmp_path):
    from generation.providers.replicate_api import UPLOAD_TIMEOUT, _Client

    client = _Client()
    seen = []
    real = client._plain.request

    def spy(method, path, **kwargs):
        seen.append(kwargs.get("timeout"))
        return real(method, path, **kwargs)

    client._plain.request = spy
    still = tmp_path / "still.png"
    still.write_bytes(offline_image.to_png(offline_image.draw(prompt="x", seed=1)))
    uploaded = client.files.create(still)
    assert uploaded.urls["get"].startswith(fake_replicate.url)
    assert seen == [UPLOAD_TIMEOUT]  # the client itself would send timeout=None: no limit at all


def test_an_input_published_as_nullable_takes_null():
    wan = contracts.for_model("wan-video/wan-2.5-i2v")
    assert wan.properties()["seed"].get("nullable") is True
    assert wan.problems({"image": "https://x.test/a.png", "prompt": "pan", "seed": None}) == []
    assert wan.problems({"image": "https://x.test/a.png", "prompt": "pan", "seed": "7"})
