"""Voiceovers, music and lipsync: services through the offline provider, and the Sound page."""

import io
import wave
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from editor import selectors, services
from editor.models import AudioAsset, AudioKind, AudioSource, AudioStatus
from generation.models import AIModel, Capability, CapabilityRoute, Job
from projects.models import ProjectScene
from storyboard.models import VideoSegment
from tests.conftest import login
from tests.editor.conftest import NARRATION, run_audio

pytestmark = pytest.mark.django_db


def _wav(seconds: float = 2.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x10\x00\xf0\xff" * int(8000 * seconds))
    return buffer.getvalue()


def test_it_speaks_each_scenes_narration_in_the_projects_voice(project, owner, segments):
    services.sound_settings_update(project=project, voice="warm", music_mood="", music_volume=30, duck_music=True)
    made = services.voiceovers_request(project=project, user=owner)
    assert [a.text for a in made] == NARRATION
    voice = run_audio(made[0])
    assert voice.status == AudioStatus.COMPLETED and voice.is_current
    assert voice.voice == "warm" and Job.objects.get(pk=voice.job_id).input["voice"] == "warm"
    assert 1.0 < voice.duration < 10, "espeak-ng spoke the narration; its length is known"
    assert voice.audio.name.endswith(".wav")
    assert voice.metadata["provenance"]["provider"] == "offline"


def test_it_regenerates_one_scene_and_keeps_the_earlier_version(project, owner, segments):
    first = run_audio(services.voiceovers_request(project=project, user=owner)[0])
    scene = first.scene
    (second,) = services.voiceovers_request(project=project, user=owner, scenes=[scene])
    second = run_audio(second)
    first.refresh_from_db()
    assert (second.version, second.is_current) == (2, True)
    assert first.is_current is False and first.audio, "the old version is kept"
    assert services.audio_restore(asset=first).is_current
    second.refresh_from_db()
    assert second.is_current is False


def test_it_refuses_voiceovers_without_narration(project, owner, segments):
    ProjectScene.objects.filter(project=project).update(narration="")
    with pytest.raises(ValidationError, match="no narration"):
        services.voiceovers_request(project=project, user=owner)
    assert not AudioAsset.objects.exists()


def test_it_spends_nothing_when_the_voiceovers_do_not_fit_the_budget(project, owner, segments, settings):
    model = AIModel.objects.get(capability=Capability.SPEECH, provider="offline")
    model.price_unit, model.unit_price = "run", Decimal("40")
    model.save()
    project.team.monthly_budget = Decimal("100")
    project.team.save()
    with pytest.raises(ValidationError, match="monthly budget"):
        services.voiceovers_request(project=project, user=owner)
    assert not AudioAsset.objects.exists() and not Job.objects.exists()


def test_it_makes_music_for_the_briefs_mood_as_long_as_the_cut(project, owner, segments):
    project.tone = "calm, hopeful"
    project.save()
    music = run_audio(services.music_request(project=project, user=owner))
    assert music.prompt == "calm, hopeful"
    assert music.requested_duration == 10, "6 s of approved video, with the 10-second minimum"
    assert music.status == AudioStatus.COMPLETED and music.duration == pytest.approx(10, abs=0.2)
    again = run_audio(services.music_request(project=project, user=owner, mood="tense drums"))
    assert again.prompt == "tense drums" and again.version == 2
    assert selectors.sound_settings_of(project=project).music_mood == "tense drums", "kept as the project's mood"
    assert services.music_request(project=project, user=owner).prompt == "tense drums"


def test_it_takes_the_teams_own_track(project, owner):
    upload = SimpleUploadedFile("Our theme.wav", _wav(3), content_type="audio/wav")
    music = services.music_upload(project=project, user=owner, upload=upload)
    assert music.source == AudioSource.UPLOADED and music.is_current and music.is_ready
    assert music.duration == pytest.approx(3, abs=0.05) and music.original_name == "Our theme.wav"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("fake.mp3", b"<html>not audio</html>" * 40, "not audio we can use"),
        ("picture.wav", b"\x89PNG\r\n\x1a\n" + b"\x00" * 400, "not audio we can use"),
        ("blip.wav", _wav(0.2), "shorter than a second"),
    ],
)
def test_it_refuses_an_upload_that_is_not_usable_audio(project, owner, name, data, message):
    previous = services.music_upload(
        project=project, user=owner, upload=SimpleUploadedFile("keep.wav", _wav(2), content_type="audio/wav")
    )
    with pytest.raises(ValidationError, match=message):
        services.music_upload(project=project, user=owner, upload=SimpleUploadedFile(name, data))
    previous.refresh_from_db()
    assert previous.is_current, "the track already in place stays"
    assert AudioAsset.objects.count() == 1


def test_it_refuses_an_oversized_upload(project, owner, settings):
    settings.MUSIC_UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("big.wav", b"\x00" * (1024 * 1024 + 1))
    with pytest.raises(ValidationError, match="the limit is 1 MB"):
        services.music_upload(project=project, user=owner, upload=big)


def test_it_says_lipsync_is_unavailable_offline(client, owner, project, segments):
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "Lipsync is not available offline" in page
    response = client.post(
        reverse("segment_lipsync", args=[project.pk, segments[0].pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 422 and "not available offline" in response.content.decode()
    assert VideoSegment.objects.filter(project=project).count() == 3, "no new version"


def test_it_makes_a_lipsynced_version_through_the_provider(project, owner, segments, fake_replicate):
    # The voice is made here, offline; the lipsync goes to (the fake) Replicate.
    CapabilityRoute.objects.create(
        capability=Capability.SPEECH, model=AIModel.objects.get(capability="speech", provider="offline")
    )
    CapabilityRoute.objects.create(
        capability=Capability.LIPSYNC, model=AIModel.objects.get(capability="lipsync", provider="replicate")
    )
    voice = run_audio(services.voiceovers_request(project=project, user=owner)[0])
    new = services.segment_lipsync(segment=segments[0], user=owner)
    assert new.version == 2 and new.is_current and new.parent_id == segments[0].pk
    job = Job.objects.get(pk=new.job_id)
    assert job.capability == Capability.LIPSYNC and job.provider == "replicate"
    assert (job.input["video"], job.input["audio"]) == (segments[0].video.name, voice.audio.name)
    assert new.generation_params["lipsync"]["voiceover"] == voice.pk


def test_it_needs_the_voiceover_before_lipsync(project, owner, segments, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    CapabilityRoute.objects.create(
        capability=Capability.LIPSYNC, model=AIModel.objects.get(capability="lipsync", provider="replicate")
    )
    with pytest.raises(ValidationError, match="voiceover first"):
        services.segment_lipsync(segment=segments[0], user=owner)


def test_it_shows_each_scenes_voice_against_its_video(client, owner, project, segments):
    for asset in services.voiceovers_request(project=project, user=owner):
        run_audio(asset)
    scenes = selectors.sound_scenes(project=project)
    assert [s.video_seconds for s in scenes] == [2.0, 2.0, 2.0]
    assert scenes[0].too_long, "the first narration takes longer than its 2-second shot"
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert page.count("<audio") >= 3 and "Voice longer than video" in page
    assert "Video 2.0 s" in page


def test_it_saves_sound_settings_and_refuses_bad_ones(client, teammate, project):
    login(client, teammate)
    url = reverse("sound_settings", args=[project.pk])
    bad = client.post(url, {"voice": "robot", "music_volume": "150"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "“robot” is not a voice of Offline speech (espeak-ng)" in body and "0 to 100" in body
    ok = client.post(url, {"voice": "deep", "music_volume": "20", "duck_music": "on"})
    assert ok.status_code == 302
    sound = selectors.sound_settings_of(project=project)
    assert (sound.voice, sound.music_volume, sound.duck_music) == ("deep", 20, True)


def test_it_uploads_music_through_the_page(client, owner, project):
    login(client, owner)
    url = reverse("music_upload", args=[project.pk])
    bad = client.post(url, {"track": SimpleUploadedFile("x.mp3", b"nope" * 100)}, headers={"HX-Request": "true"})
    body = bad.content.decode()
    assert bad.status_code == 422 and "“x.mp3” is not audio we can use" in body
    assert "/tmp" not in body and "Errno" not in body, "no decoder internals on the page"
    good = client.post(url, {"track": SimpleUploadedFile("bed.wav", _wav(2))}, headers={"HX-Request": "true"})
    assert good.status_code == 200 and "Your track" in good.content.decode()
    music = AudioAsset.objects.get(kind=AudioKind.MUSIC, is_current=True)
    assert client.get(music.get_audio_url()).status_code == 200
