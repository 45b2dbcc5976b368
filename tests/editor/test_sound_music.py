"""Music beds and the music model's longest call: whole seconds, parts joined with crossfades, one piece looped."""

from decimal import Decimal

import av
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from editor import selectors, services, sound
from editor.models import AudioAsset, AudioKind, AudioStatus, MusicPart
from generation.models import AIModel, Capability, Job
from projects.models import VideoProject
from storyboard.models import VideoSegment
from tests.conftest import login
from tests.editor.test_sound_voices import _settle
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db


def _seconds(path: str) -> float:
    with av.open(path) as container:
        assert container.streams.audio, "a real audio file"
        return container.duration / av.time_base


def _lasting(project: VideoProject, seconds: int) -> None:
    """No approved cut: the bed lasts the target duration plus its 2-second tail."""
    VideoProject.objects.filter(pk=project.pk).update(target_duration=seconds - 2)
    project.refresh_from_db()


def _musicgen() -> AIModel:
    return AIModel.objects.get(capability=Capability.MUSIC, provider="replicate")


@pytest.mark.parametrize(
    ("length", "mode", "durations"),
    [
        (17.19, "single", (18,)),
        (30, "single", (30,)),
        (31, "parts", (17, 16)),
        (70, "parts", (25, 25, 24)),
        (114, "parts", (30, 30, 30, 30)),
        (115, "loop", (30,)),
        (600, "loop", (30,)),
    ],
)
def test_it_plans_a_bed_within_the_models_longest_call(length, mode, durations):
    plan = sound.music_plan(model=_musicgen(), length=length)
    assert (plan.mode, plan.durations) == (mode, durations)
    assert all(isinstance(d, int) and d <= 30 for d in plan.durations)
    if mode == "parts":
        assert sum(plan.durations) - (len(durations) - 1) * sound.CROSSFADE == plan.length


def test_it_asks_for_whole_seconds_when_the_bed_fits_one_call(project, owner, segments, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    lengths = [5.19, 5.0, 5.0]
    for segment, seconds in zip(segments, lengths, strict=True):
        VideoSegment.objects.filter(pk=segment.pk).update(duration=seconds)
    assert services.music_length(project) == pytest.approx(17.19)
    music = services.music_request(project=project, user=owner, mood="calm piano")
    (job,) = Job.objects.filter(capability=Capability.MUSIC)
    assert job.input["duration"] == 18 and isinstance(job.input["duration"], int)
    assert music.job_id == job.pk and music.requested_duration == pytest.approx(17.19)
    assert not MusicPart.objects.exists()


def test_it_makes_a_long_bed_in_parts_and_crossfades_them_into_one_file(client, owner, project, fake_replicate):
    _lasting(project, 70)
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "made in 3 parts (25 s + 25 s + 24 s) joined with 2 s crossfades" in page
    # 74 s of MusicGen at $0.002 a second: every part is in the estimate, not just 70 s.
    assert "Estimated cost of all the parts: $0.15" in page

    music = services.music_request(project=project, user=owner, mood="calm piano")
    parts = list(music.parts.order_by("index"))
    jobs = [Job.objects.get(pk=p.job_id) for p in parts]
    assert [j.input["duration"] for j in jobs] == [25, 25, 24]
    assert all(isinstance(j.input["duration"], int) and j.input["duration"] <= 30 for j in jobs)
    assert sum(j.estimated_cost for j in jobs) == Decimal("0.148")
    music.refresh_from_db()
    assert music.is_current and not music.audio, "no file until every part is in"

    _settle(*jobs)
    predictions = sorted(fake_replicate.predictions.values(), key=lambda p: p.created_at)
    assert sorted(p.input["duration"] for p in predictions) == [24, 25, 25]
    music.refresh_from_db()
    assert music.status == AudioStatus.COMPLETED, music.error
    assert _seconds(music.audio.path) == pytest.approx(70, abs=0.2)
    assert music.duration == pytest.approx(70, abs=0.2)
    assert len(music.metadata["provenance"]["parts"]) == 3
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "Made in 3 parts of up to 30 s, crossfaded" in page


def test_it_loops_one_piece_when_the_bed_would_take_too_many_parts(client, owner, project, fake_replicate):
    _lasting(project, 300)
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "one 30 s piece is made and looped under the whole video" in page

    music = services.music_request(project=project, user=owner)
    (part,) = music.parts.all()
    job = Job.objects.get(pk=part.job_id)
    assert job.input["duration"] == 30
    _settle(job)
    music.refresh_from_db()
    assert music.status == AudioStatus.COMPLETED, music.error
    # Its end is crossfaded into its start, so the compile's loop has no seam.
    assert _seconds(music.audio.path) == pytest.approx(30 - sound.CROSSFADE, abs=0.2)
    assert "A 30 s piece looped" in client.get(reverse("project_sound", args=[project.pk])).content.decode()


def test_a_failed_part_fails_the_bed_and_nothing_half_made_is_used(client, owner, project, fake_replicate):
    _lasting(project, 70)
    produce, made = fake_replicate.produce, []

    def second_part_fails(prediction, contract):
        made.append(prediction.id)
        if len(made) == 2:
            raise RuntimeError("CUDA out of memory")
        return produce(prediction, contract)

    fake_replicate.produce = second_part_fails
    music = services.music_request(project=project, user=owner, mood="calm piano")
    jobs = [Job.objects.get(pk=p.job_id) for p in music.parts.order_by("index")]
    for job in jobs:
        _settle(job)  # one after another, so the second prediction is the second part
    music.refresh_from_db()
    assert music.status == AudioStatus.FAILED and not music.audio
    assert music.error.startswith("Part 2 of 3 failed, so no music was kept")
    assert "CUDA out of memory" in music.error
    _, current = selectors.current_audio(project=project)
    assert current is not None and not current.is_ready, "a compile takes no music from it"
    login(client, owner)
    page = client.get(reverse("project_sound", args=[project.pk])).content.decode()
    assert "The music failed:" in page and "Part 2 of 3 failed" in page


def test_it_spends_nothing_when_every_part_does_not_fit_the_budget(project, owner, settings):
    settings.REPLICATE_API_TOKEN = "r8_test"
    _lasting(project, 70)
    project.team.monthly_budget = Decimal("0.14")  # the 70 s alone would fit; 74 s of parts do not
    project.team.save()
    with pytest.raises(ValidationError, match="monthly budget"):
        services.music_request(project=project, user=owner)
    assert not AudioAsset.objects.filter(kind=AudioKind.MUSIC).exists()
    assert not MusicPart.objects.exists() and not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parts_finishing_together_through_the_workers_make_one_bed(owner, project, fake_replicate, broker, worker):
    _lasting(project, 70)
    music = services.music_request(project=project, user=owner)

    def settled() -> AudioAsset | None:
        music.refresh_from_db()
        return None if music.is_working else music

    wait_for(settled, timeout=60, message="the workers to make every part and join them")
    assert music.status == AudioStatus.COMPLETED, music.error
    assert set(music.parts.values_list("status", flat=True)) == {AudioStatus.COMPLETED}
    assert _seconds(music.audio.path) == pytest.approx(70, abs=0.2)
