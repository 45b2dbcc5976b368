"""The Edit stage: the timeline drawn by the server, edits posted one at a time, previews, exports, interchange."""

import contextlib
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from editor import audio_roles, selectors, services
from editor import timeline as tl
from editor.forms import TRANSITION_LABELS
from editor.models import AudioAsset, CompileJob, EditorProject, RenderPurpose, TimelineRevision
from editor.renderer import PRESETS, TRANSITIONS
from projects.access import project_for
from projects.models import Role, VideoProject
from projects.views import stage_context
from storyboard.models import ApprovalStatus, SegmentStatus, VideoSegment
from videopipe.media import serve_file

ZOOMS = (40, 80, 160)  # pixels per second of timeline


def _zoom(request: HttpRequest) -> int:
    value = request.GET.get("zoom") or request.POST.get("zoom") or ""
    return int(value) if value.isdigit() and int(value) in ZOOMS else ZOOMS[1]


def _video_rows(timeline: tl.Timeline, pps: int) -> list[dict]:
    segments = VideoSegment.objects.select_related("scene", "shot").in_bulk([c.segment for c in timeline.tracks.video])
    rows = []
    for i, (clip, start) in enumerate(zip(timeline.tracks.video, timeline.starts(), strict=True)):
        segment = segments.get(clip.segment)  # None once its shot or scene was deleted: shown, to be removed
        rows.append(
            {
                "clip": clip,
                "index": i,
                "segment": segment,
                "start": start,
                "left": start * pps,
                "width": clip.length * pps,
                "overlap": clip.transition.length * pps,
            }
        )
    return rows


def _audio_rows(clips: list[tl.AudioClip], pps: int, assets: dict[int, AudioAsset]) -> list[dict]:
    return [{"clip": c, "asset": assets.get(c.asset), "left": c.start * pps, "width": c.length * pps} for c in clips]


def _selected(timeline: tl.Timeline, rows: list[dict], clip_id: str) -> dict | None:
    for row in rows:
        if row["clip"].id == clip_id:
            if row["segment"] is None:
                return {"kind": "video", **row, "versions": [], "is_last": row["index"] == len(rows) - 1}
            # The approved versions of the clip's shot, and the one it uses now whatever its state.
            versions = VideoSegment.objects.filter(
                Q(approval_status=ApprovalStatus.APPROVED) | Q(pk=row["segment"].pk),
                shot_id=row["segment"].shot_id,
                status=SegmentStatus.COMPLETED,
            )
            return {
                "kind": "video",
                **row,
                "versions": versions.exclude(video="").order_by("-version"),
                "is_last": row["index"] == len(rows) - 1,
                "split_at": round(row["clip"].length / 2, 2),
                # What the clip's own sound plays at now: its role decides until someone sets a level.
                "sound_level": round(audio_roles.clip_volume(row["clip"].volume, row["segment"]) * 100),
            }
    for name in ("voiceover", "music", "text"):
        for clip in getattr(timeline.tracks, name):
            if clip.id == clip_id:
                return {"kind": name, "clip": clip}
    return None


def editor_context(
    project: VideoProject, editor: EditorProject | None, *, clip: str = "", pps: int = 80, **extra: object
) -> dict:
    context = {
        "project": project,
        "editor": editor,
        "pps": pps,
        "zooms": ZOOMS,
        "presets": list(PRESETS),
        "frame_rates": services.FRAME_RATES,
        "qualities": list(services.QUALITY_CRF),
        "transitions": [(t, TRANSITION_LABELS[t]) for t in TRANSITIONS],
        **extra,
    }
    if editor is None or editor.current_id is None:
        return {**context, "approved": selectors.approved_segments(project=project)}
    revision = TimelineRevision.objects.select_related("parent").get(pk=editor.current_id)
    timeline = tl.parse(revision.timeline)
    assets = services.timeline_assets(timeline)
    video = _video_rows(timeline, pps)
    duration = timeline.duration
    return {
        **context,
        "revision": revision,
        "timeline": timeline,
        "duration": duration,
        "width": max(math.ceil(duration) + 1, 5) * pps,
        "ticks": [
            {"second": s, "left": s * pps, "label": s % 5 == 0 or pps >= 160} for s in range(math.ceil(duration) + 1)
        ],
        "video": video,
        "voiceover": _audio_rows(timeline.tracks.voiceover, pps, assets),
        "music": _audio_rows(timeline.tracks.music, pps, assets),
        "text": [{"clip": c, "left": c.start * pps, "width": c.duration * pps} for c in timeline.tracks.text],
        "selected": _selected(timeline, video, clip) if clip else None,
        "can_undo": revision.parent_id is not None,
        "can_redo": revision.children.exists(),
        "revisions": editor.revisions.select_related("created_by")[:15],
        "preview": CompileJob.objects.filter(project=project, purpose=RenderPurpose.PREVIEW).first(),
        "export": CompileJob.objects.filter(project=project, purpose=RenderPurpose.EXPORT)
        .select_related("final_video")
        .first(),
    }


def _editor(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    editor = EditorProject.objects.filter(project=project).first()
    clip = extra.pop("clip", None)
    if clip is None:
        clip = request.GET.get("clip", "")
    context = {
        **editor_context(project, editor, clip=clip, pps=_zoom(request), **extra),
        **stage_context(project, current="edit"),
    }
    template = "editor/editor.html#editor" if request.htmx else "editor/editor.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def edit(request: HttpRequest, project_id: int) -> HttpResponse:
    return _editor(request, project_for(request, project_id))


@login_required
@require_POST
def edit_open(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    try:
        services.editor_open(project=project, user=request.user)
    except ValidationError as error:
        return _editor(request, project, status=422, action_error=" ".join(error.messages))
    except tl.TimelineError as error:
        return _editor(request, project, status=422, action_error=str(error))
    return _editor(request, project, notice="The editor starts from your compiled cut.")


def _number(data: QueryDict, name: str, default: float | None = None) -> float:
    raw = (data.get(name) or "").strip()
    if not raw and default is not None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise tl.TimelineError(f"{name.replace('_', ' ').capitalize()} must be a number of seconds.") from None
    if not math.isfinite(value):
        raise tl.TimelineError(f"{name.replace('_', ' ').capitalize()} must be a number of seconds.")
    return value


def _text_fields(data: QueryDict) -> dict:
    return {
        "kind": data.get("kind") or "title",
        "text": (data.get("text") or "").strip(),
        "start": _number(data, "start", 0),
        "duration": _number(data, "duration", 2),
        "position": data.get("position") or "center",
        "style": data.get("style") or "bold",
        "size": data.get("size") or "large",
    }


def _change(data: QueryDict, project: VideoProject) -> tuple[Callable[[tl.Timeline], dict], str]:
    """The edit a form asks for, as a function of the current timeline, and how the history names it."""
    op, clip = data.get("op", ""), data.get("clip", "")
    if op == "move":
        return (lambda t: tl.move(t, clip_id=clip, to=int(_number(data, "to")))), "Moved a clip"
    if op == "trim":
        start, end = _number(data, "in"), _number(data, "out")
        return (lambda t: tl.trim(t, clip_id=clip, start=start, end=end)), "Trimmed a clip"
    if op == "split":
        at = _number(data, "at")
        return (lambda t: tl.split(t, clip_id=clip, at=at)), "Split a clip"
    if op == "remove":
        return (lambda t: tl.remove(t, clip_id=clip)), "Removed a clip"
    if op == "transition":
        kind, length = data.get("kind", "cut"), _number(data, "length", 0)
        return (lambda t: tl.set_transition(t, clip_id=clip, kind=kind, length=length)), f"Set a {kind}"
    if op == "swap":
        segment = get_object_or_404(
            VideoSegment, pk=int(_number(data, "segment")), project=project, approval_status=ApprovalStatus.APPROVED
        )
        return (lambda t: tl.swap(t, clip_id=clip, segment=segment.pk, source_duration=segment.duration or 0)), (
            f"Used version {segment.version}"
        )
    if op == "audio":
        changes = {k: _number(data, k) for k in ("start", "fade_in", "fade_out") if data.get(k)}
        if data.get("volume"):
            changes["volume"] = _number(data, "volume") / 100
        return (lambda t: tl.set_audio(t, clip_id=clip, **changes)), "Changed audio levels"
    if op == "duck":
        on = data.get("duck") == "on"
        return (lambda t: tl.set_duck(t, on=on)), "Ducking " + ("on" if on else "off")
    if op in ("text_add", "text"):
        fields = _text_fields(data)
        return (lambda t: tl.set_text(t, clip_id=clip if op == "text" else None, **fields)), (
            "Added a title" if op == "text_add" else "Changed a title"
        )
    raise tl.TimelineError("Unknown edit.")


@login_required
@require_POST
def edit_op(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    editor = get_object_or_404(EditorProject, project=project)
    base = request.POST.get("base", "")
    try:
        change, note = _change(request.POST, project)
        revision = services.timeline_edit(
            editor=editor, user=request.user, base=int(base) if base.isdigit() else None, note=note, change=change
        )
    except (tl.TimelineError, ValidationError) as error:
        message = str(error) if isinstance(error, tl.TimelineError) else " ".join(error.messages)
        return _editor(request, project, status=422, action_error=message, clip=request.POST.get("clip", ""))
    clip = request.POST.get("clip", "")
    if request.POST.get("op") == "text_add":
        clip = tl.parse(revision.timeline).tracks.text[-1].id
    return _editor(request, project, notice=f"{note} (revision {revision.number}).", clip=clip)


@login_required
@require_POST
def edit_history(request: HttpRequest, project_id: int, action: str) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    editor = get_object_or_404(EditorProject, project=project)
    raw = request.POST.get("base", "")
    base = int(raw) if raw.isdigit() else None
    try:
        if action == "undo":
            revision = services.timeline_undo(editor=editor, base=base)
        elif action == "redo":
            revision = services.timeline_redo(editor=editor, base=base)
        else:
            raise Http404("No such action.")
    except ValidationError as error:
        return _editor(request, project, status=422, action_error=" ".join(error.messages))
    return _editor(request, project, notice=f"Back at revision {revision.number}: {revision.note}.", clip="")


@login_required
@require_POST
def revision_restore(request: HttpRequest, project_id: int, revision_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    revision = get_object_or_404(TimelineRevision, pk=revision_id, editor__project=project)
    try:
        new = services.timeline_restore(editor=revision.editor, revision=revision, user=request.user)
    except tl.TimelineError as error:
        return _editor(request, project, status=422, action_error=str(error))
    return _editor(request, project, notice=f"Revision {revision.number} restored as revision {new.number}.")


@login_required
@require_POST
def edit_render(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    editor = get_object_or_404(EditorProject, project=project)
    purpose = request.POST.get("purpose")
    if purpose not in (RenderPurpose.PREVIEW, RenderPurpose.EXPORT):
        return _editor(request, project, status=422, action_error="Choose a preview or an export.")
    fps = request.POST.get("fps", "30")
    try:
        services.timeline_render(
            editor=editor,
            user=request.user,
            purpose=purpose,
            aspect_ratio=request.POST.get("aspect_ratio") or None,
            fps=int(fps) if fps.isdigit() else 0,
            quality=request.POST.get("quality", "standard"),
        )
    except (tl.TimelineError, ValidationError) as error:
        message = str(error) if isinstance(error, tl.TimelineError) else " ".join(error.messages)
        return _editor(request, project, status=422, action_error=message)
    started = "Preview started" if purpose == "preview" else "Export started"
    return _editor(request, project, notice=f"{started}: its progress is below.")


def render_status_context(project: VideoProject, job: CompileJob | None, purpose: str) -> dict:
    return {"project": project, "job": job, "purpose": purpose}


@login_required
@require_GET
def render_status(request: HttpRequest, project_id: int, compile_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    job = get_object_or_404(CompileJob.objects.exclude(purpose=RenderPurpose.COMPILE), pk=compile_id, project=project)
    return render(request, "editor/editor.html#render-status", render_status_context(project, job, job.purpose))


@login_required
@require_GET
def preview_file(request: HttpRequest, project_id: int, compile_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    job = get_object_or_404(CompileJob.objects.exclude(output=""), pk=compile_id, project=project)
    return serve_file(request, job.output)


@login_required
@require_GET
def interchange_zip(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    editor = get_object_or_404(EditorProject.objects.exclude(current=None), project=project)
    workdir = Path(tempfile.mkdtemp(prefix="interchange-"))
    try:
        with contextlib.ExitStack() as stack:
            path = services.timeline_interchange(editor=editor, workdir=workdir, stack=stack)
        handle = path.open("rb")
    except (tl.TimelineError, services.CompileInputError) as error:
        shutil.rmtree(workdir, ignore_errors=True)
        return _editor(request, project, status=422, action_error=str(error))
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    # The open handle keeps the zip readable while it is sent; the folder itself can go now.
    shutil.rmtree(workdir, ignore_errors=True)
    return FileResponse(handle, as_attachment=True, filename=path.name, content_type="application/zip")
