"""Builders for project trees with real image files."""

import io

from django.core.files.base import ContentFile
from PIL import Image

from projects import services
from projects.models import GenerationStatus, SceneShot, ShotImage, VideoProject


def png_bytes(color: tuple[int, int, int] = (90, 60, 200), size: tuple[int, int] = (64, 36)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def complete(image: ShotImage, color: tuple[int, int, int] = (90, 60, 200)) -> ShotImage:
    image.image.save(f"variant-{image.variant_number}.png", ContentFile(png_bytes(color)), save=False)
    image.status = GenerationStatus.COMPLETE
    image.save()
    return image


def build_tree(project: VideoProject, *, scenes: int, shots: int, iterations: int = 0) -> list[SceneShot]:
    """scenes x shots, each shot with `iterations` complete iterations of six variants."""
    all_shots: list[SceneShot] = []
    for s in range(scenes):
        scene = services.scene_create_with_shots(
            project=project,
            title=f"Scene {s + 1}",
            shots=[services.ShotSpec(description=f"Shot {n + 1}", initial_prompt="wide, dawn") for n in range(shots)],
        )
        for shot in scene.shots.order_by("shot_number"):
            parent = None
            for _ in range(iterations):
                batch = services.shot_images_create_batch(shot=shot, iteration_prompt="prompt", parent_image=parent)
                for image in batch:
                    complete(image)
                parent = batch[0]
            all_shots.append(shot)
    return all_shots


def make_segment(
    shot: SceneShot, *, version: int = 1, data: bytes = b"\x00\x00\x00\x18ftypmp42 fake", **fields: object
):
    """A finished segment row whose video file holds data (not a real video: for access and serving tests)."""
    from storyboard.models import SegmentStatus, VideoSegment

    segment = VideoSegment(
        project_id=shot.project_id,
        scene_id=shot.scene_id,
        shot=shot,
        version=version,
        status=SegmentStatus.COMPLETED,
        generation_params={
            "prompt": "pan",
            "seed": 1,
            "duration": 5,
            "resolution": "720p",
            "model": "offline/ffmpeg-motion",
            "model_label": "Offline motion (ffmpeg)",
        },
        **fields,
    )
    segment.video.save("segment.mp4", ContentFile(data), save=False)
    segment.thumbnail.save("thumb.png", ContentFile(png_bytes()), save=False)
    segment.save()
    return segment


def make_editor_objects(project: VideoProject, user: object) -> dict:
    """One of each Sound and Compile object (an uploaded track, a compile, a final video), as URL ids."""
    from editor.models import AudioAsset, AudioKind, AudioSource, AudioStatus, CompileJob, CompileStatus, FinalVideo

    asset = AudioAsset(project=project, kind=AudioKind.MUSIC, source=AudioSource.UPLOADED, status=AudioStatus.COMPLETED)
    asset.audio.save("track.wav", ContentFile(b"RIFF0000WAVE"), save=False)
    asset.save()
    from editor.models import MusicPart, VoiceSample
    from generation.models import AIModel

    VoiceSample.objects.create(
        ai_model=AIModel.objects.filter(capability="speech").first(), voice="narrator", text="Hello."
    )
    MusicPart.objects.create(bed=asset, index=0, requested_duration=30)
    job = CompileJob.objects.create(
        project=project, created_by=user, aspect_ratio="16:9", status=CompileStatus.SUCCEEDED, segment_ids=[]
    )
    final = FinalVideo(
        project=project,
        compile_job=job,
        title="Cut",
        duration=1,
        clip_count=1,
        aspect_ratio="16:9",
        width=1920,
        height=1080,
        file_size=4,
    )
    final.video.save("final.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"), save=False)
    final.save()
    from editor.models import EditorProject, TimelineRevision

    editor = EditorProject.objects.create(project=project)
    revision = TimelineRevision.objects.create(editor=editor, number=1, timeline={"tracks": {}})
    editor.current = revision
    editor.save()
    return {"asset_id": asset.pk, "compile_id": job.pk, "video_id": final.pk, "kind": "mp4", "revision_id": revision.pk}
