"""What sound jobs and compiles push to open pages: a scene's voiceover row, the music panel, a compile's status."""

from editor.models import AudioAsset, AudioKind, CompileJob
from generation.live import push, register_fragments, render_partial
from generation.models import Job
from projects.models import ProjectStatus, Scene, VideoClip, VideoProject


def audio_fragments(asset: AudioAsset, job: Job) -> dict[str, str]:
    from editor.views import music_context, voice_row_context  # noqa: PLC0415 - views import this app

    project = asset.project
    if asset.kind == AudioKind.VOICEOVER:
        context = voice_row_context(project, asset.scene_id)
        return {f"voice-{asset.scene_id}": render_partial("editor/sound.html#voice-row", {**context, "oob": True})}
    return {"music-panel": render_partial("editor/sound.html#music-panel", {**music_context(project), "oob": True})}


register_fragments("editor.audioasset", audio_fragments)


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


# Quick mode. A scene's image and the actions (the clip button waits for every image) are pushed as they
# are (they hold no form); anything bigger pushes a trigger, and each open page fetches its own board with
# its user's role, so nothing typed is overwritten and an editor never gets a viewer's board.


def _quick_context(project: VideoProject) -> dict:
    from editor.quick_views import quick_context  # noqa: PLC0415
    from projects.views import stage_context  # noqa: PLC0415

    project.user_role = "viewer"  # only role-free parts are pushed; editor-only controls are shown by the page's CSS
    return {**quick_context(project), **stage_context(project, current="quick"), "oob": True}


def _refresh(project: VideoProject) -> dict[str, str]:
    return {"quick-refresh": render_partial("editor/quick.html#refresh", {"project": project})}


def quick_scene_fragments(scene: Scene, job: Job) -> dict[str, str]:
    project = scene.project
    if not project.is_quick or project.status != ProjectStatus.STORYBOARD:
        return {}
    context = _quick_context(project)
    context["scene"] = next((s for s in context["scenes"] if s.pk == scene.pk), None)
    if context["scene"] is None:
        return {}
    return {
        f"quick-image-{scene.pk}": render_partial("editor/quick.html#scene-image", context),
        "quick-actions": render_partial("editor/quick.html#actions", context),
    }


def quick_clip_fragments(clip: VideoClip, job: Job) -> dict[str, str]:
    project = clip.project
    if not project.is_quick or project.status != ProjectStatus.GENERATING_VIDEO or not job.is_terminal:
        return {}
    return _refresh(project)


register_fragments("projects.scene", quick_scene_fragments)
register_fragments("projects.videoclip", quick_clip_fragments)


def project_fragments(project: VideoProject, job: Job) -> dict[str, str]:
    """A Quick project's questions and drafts refresh its board, while it is read-only (Plan renders a Director's)."""
    if not project.is_quick:
        return {}
    task = job.input.get("task")
    if not job.is_terminal:
        return {}
    if (task == "questions" and project.status == ProjectStatus.INPUT) or (
        task == "script" and project.status in (ProjectStatus.INPUT, ProjectStatus.STORYBOARD)
    ):
        return _refresh(project)
    return {}


register_fragments("projects.videoproject", project_fragments)
