"""The Sound and Compile stages, and the final videos they lead to."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from editor import audio_roles, selectors, services
from editor import sound as sound_lib  # the module; `sound` is the page's view
from editor.edit_views import render_status_context
from editor.forms import TRANSITION_LABELS, CompileForm, MusicForm, MusicUploadForm, SoundSettingsForm
from editor.models import AudioAsset, AudioKind, CompileJob, FinalVideo, RenderPurpose
from editor.renderer import TRANSITIONS
from generation import registry
from generation.models import Capability
from generation.services import BudgetExceededError, team_month_spend
from projects.access import project_for
from projects.models import ProjectScene, Role, VideoProject
from projects.views import stage_context
from storyboard.models import VideoSegment
from videopipe.media import serve_file

# Sound -----------------------------------------------------------------------------


def _estimate(capability: str, inputs: list[dict]) -> Decimal:
    try:
        model = registry.resolve(capability)
    except registry.NoModelError:
        return Decimal("0")
    # Not rounded: a few lines of speech cost well under a cent, and "$0.00" would say they are free.
    return sum((registry.estimate(model, data) for data in inputs), Decimal("0"))


def voice_row_context(project: VideoProject, scene_id: int) -> dict:
    scene = next((s for s in selectors.sound_scenes(project=project) if s.pk == scene_id), None)
    if scene is None:
        raise Http404("No such scene.")
    return {"project": project, "scene": scene, "lipsync": selectors.lipsync_availability()}


def music_context(project: VideoProject, **extra: object) -> dict:
    settings_ = selectors.sound_settings_of(project=project)
    _, music = selectors.current_audio(project=project)
    length = services.music_length(project)
    mood = selectors.music_mood(project=project, sound=settings_)
    outline = selectors.music_outline(length=length, prompt=mood)
    return {
        "project": project,
        "music": music,
        "mood": mood,
        "music_estimate": selectors.money(outline.estimate),
        "music_plan": outline.plan,
        "music_summary": sound_lib.plan_summary(music.metadata.get("plan")) if music else "",
        "music_parts": selectors.music_progress(music=music),
        "music_length": length,
        "music_versions": AudioAsset.objects.filter(
            project=project, kind=AudioKind.MUSIC, is_current=False, status="completed"
        ).exclude(audio="")[:3],
        "music_form": extra.pop("music_form", None) or MusicForm(),
        "upload_form": extra.pop("upload_form", None) or MusicUploadForm(),
        **extra,
    }


def sound_context(project: VideoProject, **extra: object) -> dict:
    settings_ = selectors.sound_settings_of(project=project)
    scenes = selectors.sound_scenes(project=project)
    form = extra.pop("settings_form", None) or SoundSettingsForm(instance=settings_, model=sound_lib.speech_model())
    choice = selectors.voice_choice(project=project, voice=form["voice"].value() or None)
    spoken = [{"text": s.narration, "voice": choice.voice} for s in scenes if s.narration.strip()]
    return {
        **music_context(project, music_form=extra.pop("music_form", None), upload_form=extra.pop("upload_form", None)),
        "scenes": scenes,
        "settings_form": form,
        "choice": choice,
        "voice_estimate": selectors.money(_estimate(Capability.SPEECH, spoken)),
        "spoken_count": len(spoken),
        "lipsync": selectors.lipsync_availability(),
        "working": any(s.voice and s.voice.is_working for s in scenes),
        **extra,
    }


def _sound(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    context = {**sound_context(project, **extra), **stage_context(project, current="sound")}
    template = "editor/sound.html#sound" if request.htmx else "editor/sound.html"
    return render(request, template, context, status=status)


def _after(request: HttpRequest, project: VideoProject, notice: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, notice)
        return redirect("project_sound", project_id=project.pk)
    return _sound(request, project, notice=notice)


@login_required
@require_GET
def sound(request: HttpRequest, project_id: int) -> HttpResponse:
    return _sound(request, project_for(request, project_id))


@login_required
@require_POST
def sound_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    settings_ = selectors.sound_settings_of(project=project)
    form = SoundSettingsForm(request.POST, instance=settings_, model=sound_lib.speech_model())
    if form.is_valid():
        try:
            services.sound_settings_update(project=project, model=form.model, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        except registry.NoModelError as error:  # every speech model switched off by an operator
            form.add_error(None, str(error))
    if form.errors:
        return _sound(request, project, status=422, settings_form=form)
    return _after(request, project, "Sound settings saved. New voiceovers use this voice; compiles use this mix.")


def _sample(
    request: HttpRequest, project: VideoProject, voice: str, status: int = 200, **extra: object
) -> HttpResponse:
    context = {"project": project, "choice": selectors.voice_choice(project=project, voice=voice), **extra}
    return render(request, "editor/sound.html#voice-sample", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def voice_sample(request: HttpRequest, project_id: int) -> HttpResponse:
    """GET: the sample line of a voice of the speech model in use (to play, or to make); POST: make it."""
    if request.method == "GET":
        project = project_for(request, project_id)
        return _sample(request, project, request.GET.get("voice", ""))
    project = project_for(request, project_id, minimum=Role.EDITOR)
    voice = request.POST.get("voice", "")
    try:
        sound_lib.voice_sample_request(project=project, user=request.user, voice=voice)
    except (BudgetExceededError, ValidationError, registry.NoModelError) as error:
        problem = " ".join(getattr(error, "messages", [str(error)]))
        if not request.htmx:
            return _sound(request, project, status=422, action_error=problem)
        return _sample(request, project, voice, status=422, sample_error=problem)
    if not request.htmx:
        return redirect("project_sound", project_id=project.pk)
    return _sample(request, project, voice)


@login_required
@require_GET
def voice_sample_file(request: HttpRequest, project_id: int) -> HttpResponse:
    project_for(request, project_id)
    model = sound_lib.speech_model()
    sample = selectors.voice_sample(model=model, voice=request.GET.get("voice", "")) if model else None
    if sample is None or not sample.is_ready:
        raise Http404("No sample of that voice yet.")
    return serve_file(request, sample.audio)


@login_required
@require_POST
def voiceovers(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    scene_id = request.POST.get("scene")
    scenes = None
    if scene_id:
        scenes = [get_object_or_404(ProjectScene, pk=int(scene_id) if scene_id.isdigit() else 0, project=project)]
    try:
        # The voice picked on the page counts even if "Save" was not pressed: it is what the user hears and sees.
        if voice := request.POST.get("voice"):
            sound_lib.voice_choose(project=project, voice=voice)
        made = services.voiceovers_request(project=project, user=request.user, scenes=scenes)
    except (BudgetExceededError, ValidationError) as error:
        return _sound(request, project, status=422, action_error=" ".join(error.messages))
    except registry.NoModelError as error:
        return _sound(request, project, status=422, action_error=str(error))
    count = len(made)
    return _after(
        request, project, f"Started {count} voiceover{'s' if count != 1 else ''}; each scene fills in when ready."
    )


@login_required
@require_POST
def music_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = MusicForm(request.POST)
    if not form.is_valid():
        return _sound(request, project, status=422, music_form=form)
    try:
        services.music_request(project=project, user=request.user, mood=form.cleaned_data["mood"])
    except (BudgetExceededError, ValidationError) as error:
        return _sound(request, project, status=422, action_error=" ".join(error.messages))
    return _after(request, project, "Started a music bed; it appears below when ready.")


@login_required
@require_POST
def music_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    form = MusicUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.music_upload(project=project, user=request.user, upload=form.cleaned_data["track"])
        except ValidationError as error:
            form.add_error("track", error)
    if form.errors:
        return _sound(request, project, status=422, upload_form=form)
    return _after(request, project, "Your track is the music bed now.")


@login_required
@require_POST
def music_remove(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    services.music_remove(project=project)
    return _after(request, project, "No music bed. Earlier tracks are kept below.")


@login_required
@require_POST
def audio_restore(request: HttpRequest, project_id: int, asset_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    asset = get_object_or_404(AudioAsset, pk=asset_id, project=project)
    try:
        services.audio_restore(asset=asset)
    except ValidationError as error:
        return _sound(request, project, status=422, action_error=" ".join(error.messages))
    return _after(request, project, f"Using version {asset.version} again.")


@login_required
@require_GET
def audio_file(request: HttpRequest, project_id: int, asset_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    asset = get_object_or_404(AudioAsset.objects.exclude(audio=""), pk=asset_id, project=project)
    return serve_file(request, asset.audio)


@login_required
@require_POST
def segment_lipsync(request: HttpRequest, project_id: int, segment_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    segment = get_object_or_404(VideoSegment, pk=segment_id, project=project)
    try:
        new = services.segment_lipsync(segment=segment, user=request.user)
    except (BudgetExceededError, ValidationError) as error:
        return _sound(request, project, status=422, action_error=" ".join(error.messages))
    return _after(request, project, f"Lip-syncing: version {new.version} appears in Review when it is ready.")


# Compile ---------------------------------------------------------------------------


def status_context(project: VideoProject, job: CompileJob | None) -> dict:
    return {"project": project, "job": job}


def _as_posted(segments: list[VideoSegment], posted: dict[str, list[str]] | None) -> list[VideoSegment]:
    """The segments in the order and with the joins last sent, so a refused or started compile loses nothing."""
    for segment in segments:
        segment.join_kind, segment.join_length = "dissolve", "0.5"
    if not posted:
        return segments
    by_id = {str(s.pk): s for s in segments}
    ordered = [by_id.pop(pk) for pk in posted.get("segment", []) if pk in by_id]
    for segment, kind, length in zip(ordered, posted.get("transition", []), posted.get("length", []), strict=False):
        segment.join_kind, segment.join_length = kind, length
    return ordered + list(by_id.values())


def compile_context(project: VideoProject, posted: dict[str, list[str]] | None = None, **extra: object) -> dict:
    segments = _as_posted(selectors.approved_segments(project=project), posted)
    voices, music = selectors.current_audio(project=project)
    active = selectors.active_compile(project=project)
    return {
        "project": project,
        "segments": segments,
        "transitions": [(t, TRANSITION_LABELS[t]) for t in TRANSITIONS],
        "form": extra.pop("form", None) or CompileForm(initial={"aspect_ratio": project.aspect_ratio}),
        "fast_path": services.render_path(
            segments=segments, aspect=project.aspect_ratio, burn=False, project_aspect=project.aspect_ratio
        )
        == "smart",
        "unnormalized": sum(1 for s in segments if not services.is_normalized(s, project.aspect_ratio)),
        "voice_count": sum(1 for v in voices.values() if v.is_ready),
        "music": music if music and music.is_ready else None,
        "segment_sound": audio_roles.compile_sound(segments),
        "job": active or extra.pop("job", None),
        "history": selectors.compile_jobs(project=project),
        "finals": selectors.final_videos(project=project),
        "team_spend": team_month_spend(team=project.team),
        **extra,
    }


def _compile(request: HttpRequest, project: VideoProject, status: int = 200, **extra: object) -> HttpResponse:
    context = {**compile_context(project, **extra), **stage_context(project, current="compile")}
    template = "editor/compile.html#compile" if request.htmx else "editor/compile.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def compile_page(request: HttpRequest, project_id: int) -> HttpResponse:
    return _compile(request, project_for(request, project_id))


@login_required
@require_POST
def compile_start(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    lists = {key: request.POST.getlist(key) for key in ("segment", "transition", "length")}
    form = CompileForm(request.POST, lists=lists)
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = services.compile_request(
                project=project,
                user=request.user,
                segment_ids=data["segment_ids"],
                transitions=data["transitions"],
                aspect_ratio=data["aspect_ratio"],
                captions_mode=data["captions"],
                target_lufs=data["target_lufs"],
                voice=data["voice"],
                music=data["music"],
                keep_own_sound=data["keep_own_sound"],
            )
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        return _compile(request, project, status=422, form=form, posted=lists)
    if not request.htmx:
        return redirect("project_compile", project_id=project.pk)
    return _compile(request, project, job=job, form=form, posted=lists)


@login_required
@require_GET
def compile_status(request: HttpRequest, project_id: int, compile_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    job = get_object_or_404(CompileJob.objects.select_related("final_video"), pk=compile_id, project=project)
    return render(request, "editor/compile.html#compile-status", status_context(project, job))


@login_required
@require_POST
def compile_cancel(request: HttpRequest, project_id: int, compile_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    job = get_object_or_404(CompileJob, pk=compile_id, project=project)
    try:
        job = services.compile_cancel(job=job)
    except ValidationError as error:
        if job.purpose != RenderPurpose.COMPILE:
            context = render_status_context(project, job, job.purpose)
            return render(request, "editor/editor.html#render-status", context, status=422)
        return _compile(request, project, status=422, action_error=" ".join(error.messages))
    if job.purpose != RenderPurpose.COMPILE:
        if not request.htmx:
            return redirect("project_edit", project_id=project.pk)
        return render(request, "editor/editor.html#render-status", render_status_context(project, job, job.purpose))
    if not request.htmx:
        return redirect("project_compile", project_id=project.pk)
    return render(request, "editor/compile.html#compile-status", status_context(project, job))


@login_required
@require_GET
def final_video(request: HttpRequest, project_id: int, video_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    video = get_object_or_404(FinalVideo.objects.select_related("compile_job"), pk=video_id, project=project)
    context = {
        "project": project,
        "video": video,
        "others": selectors.final_videos(project=project),
        **stage_context(project, current="compile"),
    }
    return render(request, "editor/final_video.html", context)


FILES = {"mp4": "video", "srt": "captions_srt", "vtt": "captions_vtt"}


@login_required
@require_GET
def final_file(request: HttpRequest, project_id: int, video_id: int, kind: str) -> HttpResponse:
    project = project_for(request, project_id)
    video = get_object_or_404(FinalVideo, pk=video_id, project=project)
    file = getattr(video, FILES.get(kind, ""), None)
    if not file:
        raise Http404("No such file.")
    download = (
        f"{project.title[:60]} {video.aspect_ratio.replace(':', 'x')}.{kind}" if "download" in request.GET else None
    )
    return serve_file(request, file, download_name=download)
