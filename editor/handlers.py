"""What a speech or music job does to its audio asset: progress, the finished file and its length, failure."""

from typing import TYPE_CHECKING

from editor.models import AudioAsset, AudioKind, AudioStatus
from generation.handlers import HANDLERS, Handler, _save_file, provenance

if TYPE_CHECKING:
    from generation.ingest import Media
    from generation.models import Job


def _progress(asset: AudioAsset, job: "Job") -> None:
    if asset.status == AudioStatus.PENDING:
        asset.status = AudioStatus.GENERATING
        asset.save(update_fields=["status", "updated_at"])


def _success(asset: AudioAsset, job: "Job", files: list["Media"]) -> None:
    media = files[0]
    stem = (
        f"voice-scene-{asset.scene.scene_number}-v{asset.version}"
        if asset.kind == AudioKind.VOICEOVER
        else (f"music-v{asset.version}")
    )
    _save_file(asset.audio, media, stem)
    duration = media.meta.get("duration")
    asset.duration = round(duration, 3) if duration else None
    asset.status = AudioStatus.COMPLETED
    asset.error = ""
    asset.metadata = {**asset.metadata, "provenance": provenance(job, media)}
    asset.save(update_fields=["audio", "duration", "status", "error", "metadata", "updated_at"])


def _failure(asset: AudioAsset, job: "Job") -> None:
    asset.status = AudioStatus.FAILED
    asset.error = job.error or job.get_status_display()
    asset.metadata = {**asset.metadata, "provenance": provenance(job)}
    asset.save(update_fields=["status", "error", "metadata", "updated_at"])


HANDLERS["editor.audioasset"] = Handler(_progress, _success, _failure)
