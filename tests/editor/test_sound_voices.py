"""Voices per speech model: what a voiceover sends, a choice kept per model, refusals, and paid-once samples."""

import av
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from editor import selectors, services, sound
from editor.models import AudioAsset, AudioStatus, VoiceSample
from generation.models import ACTIVE, AIModel, Capability, Job
from generation.services import job_poll, job_run
from projects import services as project_services
from tests.conftest import login
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db


def _offline() -> AIModel:
    return AIModel.objects.get(capability=Capability.SPEECH, provider="offline")


def _minimax() -> AIModel:
    return AIModel.objects.get(capability=Capability.SPEECH, provider="replicate")


def _settle(*jobs: Job) -> list[Job]:
    """Run the jobs here as a worker would, then poll the (fake) provider until each has ended."""
    ids = [job.pk for job in jobs]
    for pk in ids:
        job_run(job_id=pk)

    def ended() -> bool:
        for pk in Job.objects.filter(pk__in=ids, status__in=ACTIVE).values_list("pk", flat=True):
            job_poll(job_id=pk, reschedule=False)
        return not Job.objects.filter(pk__in=ids, status__in=ACTIVE).exists()

    wait_for(ended, timeout=30, message="the jobs to end")
    return list(Job.objects.filter(pk__in=ids).order_by("pk"))


def _predictions(fake) -> list:
    return sorted(fake.predictions.values(), key=lambda p: p.created_at)


def test_it_sends_the_minimax_voice_id_for_the_api_speech_model(project, owner, segments, fake_replicate):
    # The project chose an espeak voice while offline; MiniMax has no "warm" and refuses espeak names.
    services.sound_settings_update(project=project, model=_offline(), voice="warm", music_volume=35, duck_music=True)
    first = services.voiceovers_request(project=project, user=owner, scenes=[segments[0].scene])[0]
    job = Job.objects.get(pk=first.job_id)
    assert job.model_id == "minimax/speech-02-turbo"
    assert job.input["voice"] == first.voice == "Wise_Woman", "MiniMax's default voice, not the espeak choice"
    _settle(job)
    (prediction,) = _predictions(fake_replicate)
    assert prediction.input["voice_id"] == "Wise_Woman"

    services.sound_settings_update(project=project, voice="Calm_Woman", music_volume=35, duck_music=True)
    second = services.voiceovers_request(project=project, user=owner, scenes=[segments[1].scene])[0]
    assert Job.objects.get(pk=second.job_id).input["voice"] == "Calm_Woman"
    _settle(Job.objects.get(pk=second.job_id))
    assert _predictions(fake_replicate)[-1].input["voice_id"] == "Calm_Woman"
    assert all(p.input["voice_id"] not in dict(sound.registry.voices(_offline())) for p in _predictions(fake_replicate))
    second.refresh_from_db()
    assert second.status == AudioStatus.COMPLETED and second.duration > 1


def test_it_keeps_each_speech_models_voice_when_the_model_changes(client, owner, project, settings):
    login(client, owner)
    page_url = reverse("project_sound", args=[project.pk])
    save_url = reverse("sound_settings", args=[project.pk])
    offline_page = client.get(page_url).content.decode()
    assert 'value="warm"' in offline_page and "Calm_Woman" not in offline_page, "espeak-ng keeps its own list"
    assert client.post(save_url, {"voice": "warm", "music_volume": "35"}).status_code == 302

    settings.REPLICATE_API_TOKEN = "r8_test"  # the speech route now goes to MiniMax
    api_page = client.get(page_url).content.decode()
    assert '<option value="Wise_Woman" selected>' in api_page, "the new model's default, not the espeak voice"
    assert 'value="warm"' not in api_page
    assert client.post(save_url, {"voice": "Calm_Woman", "music_volume": "35"}).status_code == 302
    assert selectors.sound_settings_of(project=project).voices == {
        "offline/espeak-ng": "warm",
        "minimax/speech-02-turbo": "Calm_Woman",
    }
    assert (
        "Kept for other speech models: Offline speech (espeak-ng): Warm (female)"
        in client.get(page_url).content.decode()
    )

    settings.REPLICATE_API_TOKEN = ""  # back offline: the espeak choice is still there
    assert '<option value="warm" selected>' in client.get(page_url).content.decode()
    assert selectors.sound_settings_of(project=project).voice_for(_minimax()) == "Calm_Woman"


def test_it_refuses_a_voice_the_speech_model_lacks(client, teammate, project, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    login(client, teammate)
    response = client.post(
        reverse("sound_settings", args=[project.pk]),
        {"voice": "narrator", "music_volume": "35"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "“narrator” is not a voice of MiniMax Speech-02 Turbo" in response.content.decode()
    with pytest.raises(ValidationError, match="not a voice of MiniMax"):
        services.sound_settings_update(project=project, voice="narrator", music_volume=35, duck_music=True)
    assert selectors.sound_settings_of(project=project).pk is None, "nothing was saved"


def test_it_plays_a_sample_of_a_voice_and_pays_for_it_once(client, owner, team, project, fake_replicate):
    login(client, owner)
    sample_url = reverse("voice_sample", args=[project.pk])
    before = client.get(sample_url, {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"}).content.decode()
    assert "Hear a sample" in before and "less than 1¢, paid once" in before
    assert "hx-confirm" in before, "a paid sample is confirmed first"

    made = client.post(sample_url, {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"})
    assert made.status_code == 200
    sample = VoiceSample.objects.get()
    job = Job.objects.get(pk=sample.job_id)
    assert job.capability == Capability.SPEECH and job.model_id == "minimax/speech-02-turbo"
    assert job.input["text"] == sound.SAMPLE_TEXT and job.input["voice"] == "Deep_Voice_Man"
    assert 0 < job.estimated_cost < 0.01, "one short line"
    _settle(job)
    sample.refresh_from_db()
    assert sample.is_ready, sample.error
    assert _predictions(fake_replicate)[0].input["voice_id"] == "Deep_Voice_Man"

    played = client.get(sample_url, {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"}).content.decode()
    file_url = reverse("voice_sample_file", args=[project.pk]) + "?voice=Deep_Voice_Man"
    assert f'<audio controls preload="metadata" src="{file_url}"' in played
    audio = client.get(file_url)
    assert audio.status_code == 200
    with av.open(sample.audio.path) as container:
        assert container.streams.audio and container.duration / av.time_base > 0.5

    # Asked again, here or in another project: the same sample, no new job.
    other = project_services.project_create(team=team, user=owner, title="Other", prompt="x")
    client.post(sample_url, {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"})
    client.post(reverse("voice_sample", args=[other.pk]), {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"})
    assert Job.objects.filter(capability=Capability.SPEECH).count() == 1
    assert len(fake_replicate.predictions) == 1


def test_it_shows_the_chosen_voices_sample_on_the_sound_page(client, owner, project):
    services.sound_settings_update(project=project, voice="deep", music_volume=35, duck_music=True)
    sample = sound.voice_sample_request(project=project, user=owner, voice="deep")
    job_run(job_id=sample.job_id)  # offline espeak-ng: free, made here
    sample.refresh_from_db()
    assert sample.is_ready and sample.duration > 0.5
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert 'aria-label="Sample of the voice Deep (male)"' in page
    assert "Hear a sample" not in page, "already made: played, not made again"


def test_it_refuses_a_sample_of_an_unknown_voice(client, owner, project):
    login(client, owner)
    response = client.post(
        reverse("voice_sample", args=[project.pk]), {"voice": "robot"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422 and "“robot” is not a voice of Offline speech" in response.content.decode()
    assert not VoiceSample.objects.exists() and not Job.objects.exists()
    missing = client.get(reverse("voice_sample_file", args=[project.pk]), {"voice": "deep"})
    assert missing.status_code == 404


def test_it_names_each_voiceovers_voice_by_its_models_label(project, owner, segments, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    services.sound_settings_update(project=project, voice="Calm_Woman", music_volume=35, duck_music=True)
    services.voiceovers_request(project=project, user=owner)
    AudioAsset.objects.update(status=AudioStatus.COMPLETED, audio="x.wav", duration=1.0)
    assert {s.voice_name for s in selectors.sound_scenes(project=project)} == {"Calm woman"}


@pytest.mark.django_db(transaction=True)
def test_it_carries_the_old_voice_over_as_the_offline_models_choice(project):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("editor", "0002_timeline_editor")], [("editor", "0003_voices_per_model_music_parts")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("editor", "SoundSettings")
    old.objects.create(project_id=project.pk, voice="warm", music_volume=35)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    settings_ = selectors.sound_settings_of(project=project)
    assert settings_.voices == {"offline/espeak-ng": "warm"}
    assert settings_.voice_for(_offline()) == "warm" and settings_.voice_for(_minimax()) == "Wise_Woman"


def test_the_voice_picked_on_the_page_is_the_one_voiceovers_use(client, owner, project, segments, settings):
    """Picking a voice plays its sample: it looks chosen, so "Make all voiceovers" uses it, saved or not."""
    settings.REPLICATE_API_TOKEN = "r8_test"
    project.team.monthly_budget = 100
    project.team.save()
    login(client, owner)
    response = client.post(
        reverse("voiceovers", args=[project.pk]), {"voice": "Deep_Voice_Man"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200, response.content.decode()[:500]
    made = AudioAsset.objects.filter(project=project, kind="voiceover")
    assert made.exists() and {a.voice for a in made} == {"Deep_Voice_Man"}
    assert selectors.sound_settings_of(project=project).voices["minimax/speech-02-turbo"] == "Deep_Voice_Man"
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert 'value="Deep_Voice_Man" selected' in page
    refused = client.post(
        reverse("voiceovers", args=[project.pk]), {"voice": "narrator"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422 and "not a voice of MiniMax" in refused.content.decode()
    assert made.count() == AudioAsset.objects.filter(project=project, kind="voiceover").count(), "nothing more made"


def test_a_few_lines_of_speech_are_priced_under_a_cent_not_free(client, owner, project, segments, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "≈ less than 1¢" in page and "Estimated cost: less than 1¢" in page
    assert "$0.00" not in page


def test_with_every_speech_model_switched_off_the_page_says_so(client, owner, project, segments):
    AIModel.objects.filter(capability=Capability.SPEECH).update(is_active=False)
    login(client, owner)
    assert client.get(reverse("project_sound", args=[project.pk])).status_code == 200
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "No speech model is switched on" in page
    response = client.post(
        reverse("sound_settings", args=[project.pk]), {"music_volume": "35"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422 and "No active model is registered for speech" in response.content.decode()
    response = client.post(reverse("voiceovers", args=[project.pk]), {}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "No active model is registered for speech" in response.content.decode()
