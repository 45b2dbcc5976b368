"""What sound jobs and compiles push to open pages: a scene's voiceover row, the music panel, a compile's status."""

from editor.models import AudioAsset, AudioKind, CompileJob
from generation.live import TARGET_FRAGMENTS, push, render_partial
from generation.models import Job


def audio_fragments(asset: AudioAsset, job: Job) -> dict[str, str]:
    from editor.views import music_context, voice_row_context  # noqa: PLC0415 - views import this app

    project = asset.project
    if asset.kind == AudioKind.VOICEOVER:
        context = voice_row_context(project, asset.scene_id)
        return {f"voice-{asset.scene_id}": render_partial("editor/sound.html#voice-row", {**context, "oob": True})}
    return {"music-panel": render_partial("editor/sound.html#music-panel", {**music_context(project), "oob": True})}


TARGET_FRAGMENTS["editor.audioasset"] = audio_fragments


def compile_changed(job: CompileJob) -> None:
    from editor.views import status_context  # noqa: PLC0415

    job = CompileJob.objects.select_related("project", "final_video").get(pk=job.pk)
    if job.purpose != "compile":
        from editor.edit_views import render_status_context  # noqa: PLC0415

        context = {**render_status_context(job.project, job, job.purpose), "oob": True}
        push(
            job.project_id,
            {f"render-status-{job.purpose}": render_partial("editor/editor.html#render-status", context)},
        )
        return
    html = render_partial("editor/compile.html#compile-status", {**status_context(job.project, job), "oob": True})
    push(job.project_id, {"compile-status": html})
