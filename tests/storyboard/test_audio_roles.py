"""Each segment version's audio role: set when the version is made, and by the migration for older rows."""

import importlib

import pytest
from django.apps import apps

from generation.models import AIModel
from storyboard import services
from storyboard.models import ApprovalStatus, AudioRole, VideoSegment
from tests.factories import make_segment
from tests.storyboard.conftest import run_segment, with_masters

pytestmark = pytest.mark.django_db


def _animate(project, shots, owner, model=None) -> list[VideoSegment]:
    for shot in shots:
        services.shot_animation_update(shot=shot, ai_model=model, duration=5, motion_prompt="", seed=None)
    return services.segments_request(project=project, shots=shots, user=owner)


def test_it_marks_an_offline_version_silent(project, owner):
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner)
    assert segment.audio_role == AudioRole.SILENT


@pytest.mark.parametrize(
    ("model_id", "role"),
    [("wan-video/wan-2.5-i2v", AudioRole.OWN_SOUND), ("kwaivgi/kling-v2.1", AudioRole.SILENT)],
)
def test_it_marks_a_version_by_whether_its_model_makes_a_soundtrack(project, owner, settings, model_id, role):
    settings.REPLICATE_API_TOKEN = "r8-test"
    (shot,) = with_masters(project, shots=1)
    (segment,) = _animate(project, [shot], owner, AIModel.objects.get(model_id=model_id))
    assert segment.audio_role == role
    segment.refresh_from_db()
    assert segment.audio_role == role, "stored, not computed"


def test_it_marks_a_regenerated_version_by_its_new_model(project, owner, settings):
    (shot,) = with_masters(project, shots=1)
    (first,) = _animate(project, [shot], owner)
    first = run_segment(first)
    settings.REPLICATE_API_TOKEN = "r8-test"
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    new = services.segment_regenerate(segment=first, user=owner, prompt="", seed=None, duration=5, ai_model=wan)
    assert (first.audio_role, new.audio_role) == (AudioRole.SILENT, AudioRole.OWN_SOUND)


def test_it_marks_a_lipsync_version_as_the_voice(project, owner, fake_replicate):
    (shot,) = with_masters(project, shots=1)
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    made = make_segment(shot, approval_status=ApprovalStatus.APPROVED, is_current=True, duration=2.0)
    VideoSegment.objects.filter(pk=made.pk).update(
        audio_role=AudioRole.OWN_SOUND, generation_params={**made.generation_params, "model_pk": wan.pk}
    )
    made.refresh_from_db()
    lipsync = AIModel.objects.get(capability="lipsync", provider="replicate")
    new = services.segment_lipsync(
        segment=made, user=owner, model=lipsync, audio_name="projects/1/audio/voice.wav", voiceover_id=1
    )
    # Made from a Wan clip, but its sound is now the scene's voice.
    assert new.audio_role == AudioRole.LIPSYNC


def test_the_migration_sets_the_roles_of_existing_versions(project):
    shots = with_masters(project, shots=3)
    wan = AIModel.objects.get(model_id="wan-video/wan-2.5-i2v")
    kling = AIModel.objects.get(model_id="kwaivgi/kling-v2.1")
    lipsync = make_segment(shots[0])
    lipsync.generation_params = {"model_pk": wan.pk, "lipsync": {"video": "a.mp4", "audio": "b.wav"}}
    wan_clip, kling_clip = make_segment(shots[1]), make_segment(shots[2])
    wan_clip.generation_params = {"model_pk": wan.pk}
    kling_clip.generation_params = {"model_pk": kling.pk}
    for segment in (lipsync, wan_clip, kling_clip):
        segment.audio_role = AudioRole.SILENT
        segment.save()
    migration = importlib.import_module("storyboard.migrations.0003_videosegment_audio_role")
    migration.set_roles(apps, None)
    roles = dict(VideoSegment.objects.values_list("pk", "audio_role"))
    assert roles == {lipsync.pk: "lipsync", wan_clip.pk: "own_sound", kling_clip.pk: "silent"}
