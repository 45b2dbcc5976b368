"""Compiles end to end: approved segments, voiceovers, music and captions in; a checked MP4 and its record out."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from editor import services
from editor.models import AudioAsset, Captions, CompileJob, CompileStatus, FinalVideo
from generation.models import Job
from storyboard.models import ApprovalStatus, VideoSegment
from tests.editor.conftest import loudness, run_audio

pytestmark = pytest.mark.django_db

DISSOLVE = {"kind": "dissolve", "length": 0.5}
CUT = {"kind": "cut", "length": 0}


def _normalize(segments: list[VideoSegment]) -> None:
    for segment in segments:
        services.segment_normalize(segment_id=segment.pk)
        segment.refresh_from_db()


def _sound(project, owner) -> None:
    for asset in services.voiceovers_request(project=project, user=owner):
        run_audio(asset)
    run_audio(services.music_request(project=project, user=owner, mood="calm piano"))


def _compile(project, owner, segments, **options) -> CompileJob:
    options.setdefault("transitions", [DISSOLVE] * (len(segments) - 1))
    options.setdefault("aspect_ratio", project.aspect_ratio)
    job = services.compile_request(project=project, user=owner, segment_ids=[s.pk for s in segments], **options)
    return services.compile_run(job_id=job.pk)


def _streams(path: Path) -> dict:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        return {
            "video": (video.codec_context.name, video.codec_context.width, video.codec_context.height),
            "audio": (audio.codec_context.name, audio.codec_context.sample_rate, audio.codec_context.channels),
            "subtitles": [s.codec_context.name for s in container.streams.subtitles],
            "duration": container.duration / av.time_base,
        }


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(seconds / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time >= seconds - 0.05:
                return frame.to_ndarray(format="gray")
    raise AssertionError("no frame")


def _moov_before_mdat(path: Path) -> bool:
    head = path.read_bytes()[:200_000]
    return 0 <= head.find(b"moov") < head.find(b"mdat") or (b"moov" in head and b"mdat" not in head)


def test_it_normalizes_an_approved_segment_once_to_the_house_format(project, segments):
    segment = segments[0]
    _normalize([segment])
    assert segment.normalized_aspect == "16:9" and segment.normalized_at and not segment.normalize_error
    with default_storage.open(segment.normalized.name, "rb") as handle:
        path = Path(default_storage.path(handle.name))
    facts = _streams(path)
    assert facts["video"] == ("h264", 1920, 1080) and facts["audio"] == ("aac", 48000, 2)
    first = segment.normalized.name
    services.segment_normalize(segment_id=segment.pk)
    segment.refresh_from_db()
    assert segment.normalized.name == first, "done once"


def test_it_compiles_the_fast_way_with_voice_music_captions_and_loudness(project, owner, segments):
    _normalize(segments)
    _sound(project, owner)
    job = _compile(project, owner, segments, captions_mode=Captions.SOFT, target_lufs=-14.0)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    assert job.render_path == "smart" and job.progress == 1
    final = job.final_video
    path = Path(final.video.path)
    facts = _streams(path)
    assert facts["video"] == ("h264", 1920, 1080)
    assert facts["audio"] == ("aac", 48000, 2)
    assert facts["subtitles"] == ["mov_text"]
    assert final.duration == pytest.approx(3 * 2.0 - 2 * 0.5, abs=0.1)
    assert facts["duration"] == pytest.approx(5.0, abs=0.1)
    integrated, peak = loudness(path)
    assert integrated == pytest.approx(-14, abs=1.0)
    assert peak <= -1.0
    assert _moov_before_mdat(path), "faststart"
    report = final.loudness["report"]
    assert report["copied_pieces"] == 3 and report["encoded_windows"] == 2 and report["normalized_now"] == 0
    assert (final.clip_count, final.width, final.height, final.aspect_ratio) == (3, 1920, 1080, "16:9")
    srt = Path(final.captions_srt.path).read_text()
    vtt = Path(final.captions_vtt.path).read_text()
    assert srt.startswith("1\n00:00:00,000 --> ") and "Dawn breaks over the city." in srt
    assert vtt.startswith("WEBVTT") and "Trains hum through the quiet streets." in vtt
    # Scene 2's caption starts where scene 2 starts in the cut: 2 s minus the 0.5 s dissolve.
    assert "00:00:01,500 --> " in srt
    last_end = srt.strip().split("\n\n")[-1].split("\n")[1].split(" --> ")[1]
    assert last_end <= "00:00:05,000"


def test_it_lands_on_the_broadcast_target_too(project, owner, segments):
    _normalize(segments)
    _sound(project, owner)
    job = _compile(project, owner, segments, transitions=[CUT, CUT], captions_mode=Captions.OFF, target_lufs=-23.0)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    path = Path(job.final_video.video.path)
    integrated, peak = loudness(path)
    assert integrated == pytest.approx(-23, abs=1.0) and peak <= -1.0
    assert _streams(path)["subtitles"] == [] and not job.final_video.captions_srt
    assert job.final_video.duration == pytest.approx(6.0, abs=0.1)
    assert job.final_video.loudness["report"]["encoded_windows"] == 0, "a cut-only compile encodes no video"


@pytest.mark.parametrize(("aspect", "size"), [("9:16", (1080, 1920)), ("1:1", (1080, 1080))])
def test_it_reframes_for_another_shape_on_the_full_path(project, owner, segments, aspect, size):
    job = _compile(
        project,
        owner,
        segments[:2],
        transitions=[{"kind": "wipe", "length": 0.4}],
        aspect_ratio=aspect,
        captions_mode=Captions.OFF,
    )
    assert job.status == CompileStatus.SUCCEEDED, job.error
    assert job.render_path == "full"
    facts = _streams(Path(job.final_video.video.path))
    assert facts["video"] == ("h264", *size)
    assert job.final_video.duration == pytest.approx(3.6, abs=0.1)
    assert job.final_video.loudness["report"]["normalized_now"] == 2


def test_it_burns_captions_into_the_picture(project, owner, segments):
    _normalize(segments[:1])
    plain = _compile(project, owner, segments[:1], transitions=[], captions_mode=Captions.OFF)
    burned = _compile(project, owner, segments[:1], transitions=[], captions_mode=Captions.BURNED)
    assert burned.status == CompileStatus.SUCCEEDED, burned.error
    assert burned.render_path == "full"
    path = Path(burned.final_video.video.path)
    assert _streams(path)["subtitles"] == [], "burned in, not a track"
    assert burned.final_video.captions_srt, "the sidecar files are still there"
    band = slice(int(1080 * 0.8), 1080)
    before = _frame_at(Path(plain.final_video.video.path), 1.0)[band]
    after = _frame_at(path, 1.0)[band]
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 2, "text drawn in the lower part of the picture"


def test_it_counts_the_cost_of_everything_in_the_video(project, owner, segments):
    _normalize(segments[:1])
    job = _compile(project, owner, segments[:1], transitions=[], captions_mode=Captions.OFF, voice=False, music=False)
    assert job.final_video.total_cost == services.total_cost(segments=segments[:1], audio=[])


def test_it_refuses_an_empty_selection_and_bad_joins(project, owner, segments):
    with pytest.raises(ValidationError, match="at least one"):
        services.compile_request(project=project, user=owner, segment_ids=[], transitions=[], aspect_ratio="16:9")
    ids = [s.pk for s in segments[:2]]
    with pytest.raises(ValidationError, match=r"0\.1 to 2\.5 seconds"):
        services.compile_request(
            project=project,
            user=owner,
            segment_ids=ids,
            transitions=[{"kind": "fade", "length": 5}],
            aspect_ratio="16:9",
        )
    with pytest.raises(ValidationError, match="Unknown transition"):
        services.compile_request(
            project=project,
            user=owner,
            segment_ids=ids,
            transitions=[{"kind": "spin", "length": 1}],
            aspect_ratio="16:9",
        )
    VideoSegment.objects.filter(pk=ids[1]).update(approval_status=ApprovalStatus.REJECTED)
    with pytest.raises(ValidationError, match="no longer approved"):
        services.compile_request(project=project, user=owner, segment_ids=ids, transitions=[CUT], aspect_ratio="16:9")
    assert not CompileJob.objects.exists()


def test_it_runs_one_compile_at_a_time(project, owner, segments):
    ids = [segments[0].pk]
    services.compile_request(project=project, user=owner, segment_ids=ids, transitions=[], aspect_ratio="16:9")
    with pytest.raises(ValidationError, match="already running"):
        services.compile_request(project=project, user=owner, segment_ids=ids, transitions=[], aspect_ratio="16:9")


@pytest.fixture
def earlier(project, owner, segments) -> FinalVideo:
    job = _compile(project, owner, segments[:1], transitions=[], captions_mode=Captions.OFF)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    return job.final_video


def _kept(final: FinalVideo) -> None:
    assert FinalVideo.objects.filter(pk=final.pk).exists() and default_storage.exists(final.video.name)
    assert FinalVideo.objects.count() == 1


def test_it_fails_clearly_when_a_segment_file_is_missing(project, owner, segments, earlier):
    default_storage.delete(segments[1].video.name)
    job = _compile(project, owner, segments, captions_mode=Captions.OFF)
    assert job.status == CompileStatus.FAILED
    assert "Scene 2 · shot 1 (v1)" in job.error and "missing from storage" in job.error
    _kept(earlier)


def test_it_fails_clearly_when_a_segment_file_is_corrupt(project, owner, segments, earlier):
    name = segments[2].video.name
    default_storage.delete(name)
    default_storage.save(name, ContentFile(b"\x00\x00\x00\x18ftypmp42 this is not a video at all" * 10))
    job = _compile(project, owner, segments, captions_mode=Captions.OFF)
    assert job.status == CompileStatus.FAILED
    assert "Scene 3 · shot 1 (v1)" in job.error and "cannot be read" in job.error
    _kept(earlier)


def test_it_cancels_a_running_compile_and_keeps_earlier_videos(project, owner, segments, earlier):
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in segments],
        transitions=[DISSOLVE, DISSOLVE],
        aspect_ratio="9:16",
    )
    seen = []

    def cancel_when_running(state: CompileJob) -> None:
        seen.append(state.status)
        if state.status == CompileStatus.RUNNING and len(seen) == 1:
            services.compile_cancel(job=state)

    ended = services.compile_run(job_id=job.pk, on_change=cancel_when_running)
    assert ended.status == CompileStatus.CANCELED and "Cancelled" in ended.error
    assert ended.progress < 1
    _kept(earlier)


def test_it_cancels_a_queued_compile_before_it_starts(project, owner, segments):
    job = services.compile_request(
        project=project, user=owner, segment_ids=[segments[0].pk], transitions=[], aspect_ratio="16:9"
    )
    assert services.compile_cancel(job=job).status == CompileStatus.CANCELED
    assert services.compile_run(job_id=job.pk) is None, "a worker picking it up later does nothing"
    with pytest.raises(ValidationError, match="already ended"):
        services.compile_cancel(job=job)


def test_it_never_leaves_a_compile_running_behind_an_unexpected_stop(project, owner, segments, monkeypatch):
    def interrupted(*args: object, **kwargs: object) -> None:
        raise RuntimeError("worker shutting down")

    monkeypatch.setattr(services.renderer, "render", interrupted)
    job = services.compile_request(
        project=project, user=owner, segment_ids=[segments[0].pk], transitions=[], aspect_ratio="16:9"
    )
    with pytest.raises(RuntimeError):
        services.compile_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == CompileStatus.FAILED and "stopped before it finished (RuntimeError)" in job.error


def test_it_adds_up_images_segments_voiceovers_and_music_but_not_failed_calls(project, owner, segments):
    def job(key: str, cost: str, status: str = "succeeded", target=None) -> Job:
        extra = {"target_type": ContentType.objects.get_for_model(target), "target_id": target.pk} if target else {}
        return Job.objects.create(
            team=project.team,
            project=project,
            capability="video",
            provider="replicate",
            model_id="m",
            idempotency_key=key,
            status=status,
            actual_cost=Decimal(cost),
            **extra,
        )

    segment = segments[0]
    VideoSegment.objects.filter(pk=segment.pk).update(job=job("seg", "0.34"))
    job("img", "0.003", target=segment.source_image)
    job("other-img", "9", target=segments[1].source_image)  # not in this video
    voice = AudioAsset.objects.create(project=project, kind="voiceover", scene=segment.scene, job=job("tts", "0.02"))
    music = AudioAsset.objects.create(project=project, kind="music", job=job("music", "0.10"))
    failed = AudioAsset.objects.create(
        project=project,
        kind="voiceover",
        scene=segments[1].scene,
        is_current=True,
        job=Job.objects.create(
            team=project.team,
            project=project,
            capability="speech",
            provider="replicate",
            model_id="m",
            idempotency_key="f",
            status="failed",
            estimated_cost=Decimal("5"),
        ),
    )
    segment.refresh_from_db()
    total = services.total_cost(segments=[segment], audio=[voice, music, failed])
    assert total == Decimal("0.46"), "0.34 + 0.003 + 0.02 + 0.10, rounded; the failed call costs nothing"


def test_it_says_how_long_a_render_took_in_seconds():
    start = timezone.now()
    assert CompileJob(started_at=start, completed_at=start + timedelta(seconds=8.4)).took == "8 s"
    assert CompileJob(started_at=start, completed_at=start + timedelta(seconds=125)).took == "2 min 5 s"
    assert CompileJob(started_at=start).took == ""
