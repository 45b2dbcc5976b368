"""Compiling from media on S3 (moto over real HTTP): inputs come down, the MP4 goes up, and it plays."""

import tempfile
from pathlib import Path

import av
import httpx
import pytest
from django.urls import reverse

from editor import services
from editor.models import Captions, CompileStatus
from tests.editor.conftest import approved_segments, run_audio
from tests.factories import make_editor_objects

pytestmark = pytest.mark.django_db

DISSOLVE = {"kind": "dissolve", "length": 0.5}


def _facts(data: bytes) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(data)
        handle.flush()
        with av.open(handle.name) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            frames = sum(1 for _ in container.decode(video))
            return {
                "video": (video.codec_context.name, video.codec_context.width, video.codec_context.height),
                "audio": (audio.codec_context.name, audio.codec_context.sample_rate),
                "duration": container.duration / av.time_base,
                "frames": frames,
            }


def _compile_from_s3(project, owner, raw_clips, s3, media_root: Path):
    """A project whose approved segments, voiceovers and music all live in the bucket, compiled."""
    segments = approved_segments(project, raw_clips)
    for segment in segments:
        services.segment_normalize(segment_id=segment.pk)
        segment.refresh_from_db()
        assert segment.normalized_at and not segment.normalize_error
    voices = [run_audio(asset) for asset in services.voiceovers_request(project=project, user=owner)]
    music = run_audio(services.music_request(project=project, user=owner, mood="calm piano"))
    inputs = [s.video.name for s in segments] + [s.normalized.name for s in segments]
    inputs += [a.audio.name for a in [*voices, music]]
    assert set(inputs) <= set(s3.keys()), "every input is an object in the bucket"
    assert not any(media_root.rglob("*.*")), "nothing on local disk"
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in segments],
        transitions=[DISSOLVE] * 2,
        aspect_ratio="16:9",
        captions_mode=Captions.SOFT,
    )
    job = services.compile_run(job_id=job.pk)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    return job.final_video


def test_it_compiles_media_on_s3_into_a_playable_mp4_in_the_bucket_that_only_the_team_can_stream(
    client, project, owner, teammate, outsider, raw_clips, s3_storage, settings
):
    media_root = Path(settings.MEDIA_ROOT)
    final = _compile_from_s3(project, owner, raw_clips, s3_storage, media_root)
    keys = s3_storage.keys()
    assert {final.video.name, final.captions_srt.name, final.captions_vtt.name} <= set(keys)
    data = s3_storage.read(final.video.name)
    assert len(data) == final.file_size and s3_storage.head(final.video.name)["ContentType"] == "video/mp4"
    facts = _facts(data)
    assert facts["video"] == ("h264", 1920, 1080) and facts["audio"] == ("aac", 48000)
    assert facts["duration"] == pytest.approx(3 * 2.0 - 2 * 0.5, abs=0.1)
    assert facts["frames"] == pytest.approx(5.0 * 30, abs=3), "it decodes to the end"
    assert final.loudness["report"]["copied_pieces"] == 3, "the house-format segments were copied, not re-encoded"
    assert b"Trains hum through the quiet streets." in s3_storage.read(final.captions_vtt.name)
    assert not any(media_root.rglob("*.*")), "the render's work files never reach local media"

    url = reverse("final_file", args=[project.pk, final.pk, "mp4"])
    client.force_login(teammate)
    response = client.get(url, headers={"Range": "bytes=0-99"})
    assert response.status_code == 302 and "X-Amz-Signature=" in response["Location"]
    ranged = httpx.get(response["Location"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == data[:100]
    assert ranged.headers["content-type"] == "video/mp4"
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_download_link_on_s3_is_an_attachment_with_the_projects_name(client, project, owner, teammate, s3_storage):
    ids = make_editor_objects(project, owner)
    client.force_login(teammate)
    response = client.get(reverse("final_file", args=[project.pk, ids["video_id"], "mp4"]) + "?download=1")
    assert response.status_code == 302
    fetched = httpx.get(response["Location"])
    assert fetched.status_code == 200
    assert fetched.headers.get("content-disposition") == 'attachment; filename="Tokyo Dreams 16x9.mp4"'
