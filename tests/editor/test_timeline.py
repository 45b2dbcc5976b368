"""The editor's timeline: opened from the cut, edited as revisions, refused when invalid, undone and redone."""

import pytest
from django.core.exceptions import ValidationError

from editor import services
from editor import timeline as tl
from editor.models import AudioAsset, TimelineRevision
from projects import services as project_services
from projects.models import Membership
from tests.editor.conftest import approved_segments, run_audio

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(project, owner, segments):
    return services.editor_open(project=project, user=owner)


def _current(editor) -> tl.Timeline:
    editor.refresh_from_db()
    return tl.parse(editor.current.timeline)


def _edit(editor, owner, change, note="edit"):
    return services.timeline_edit(editor=editor, user=owner, base=None, note=note, change=change)


def test_it_opens_from_the_approved_segments_with_voice_and_music(project, owner, segments):
    for asset in services.voiceovers_request(project=project, user=owner):
        run_audio(asset)
    music = run_audio(services.music_request(project=project, user=owner))
    editor = services.editor_open(project=project, user=owner)
    timeline = _current(editor)
    assert [c.segment for c in timeline.tracks.video] == [s.pk for s in segments]
    assert [c.transition.kind for c in timeline.tracks.video] == ["cut", "dissolve", "dissolve"]
    assert timeline.duration == pytest.approx(5.0)
    assert [v.start for v in timeline.tracks.voiceover] == [0, 1.5, 3.0], "each voice at its scene's start"
    assert timeline.tracks.voiceover[0].end <= 1.5, "shortened to end where the next scene's voice starts"
    assert timeline.tracks.music[0].asset == music.pk and timeline.tracks.music[0].loops
    assert (
        editor.current.number == 1 and services.editor_open(project=project, user=owner).current_id == editor.current_id
    )


def test_it_refuses_to_open_without_approved_segments(project, owner):
    with pytest.raises(ValidationError, match="Approve some in Review first"):
        services.editor_open(project=project, user=owner)


def test_it_edits_video_clips_as_revisions(editor, owner, segments):
    first = _current(editor).tracks.video
    _edit(editor, owner, lambda t: tl.move(t, clip_id=first[0].id, to=1))
    assert [c.segment for c in _current(editor).tracks.video] == [segments[1].pk, segments[0].pk, segments[2].pk]
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=first[2].id, start=0.25, end=1.75))
    _edit(editor, owner, lambda t: tl.set_transition(t, clip_id=first[2].id, kind="wipe", length=0.4))
    _edit(editor, owner, lambda t: tl.split(t, clip_id=first[1].id, at=1.0))
    timeline = _current(editor)
    assert len(timeline.tracks.video) == 4
    assert (timeline.tracks.video[3].start, timeline.tracks.video[3].end) == (0.25, 1.75)
    assert timeline.tracks.video[3].transition.model_dump() == {"kind": "wipe", "length": 0.4}
    # Transitions travel with their clip: the clip moved from first place came in with a cut.
    assert [c.transition.kind for c in timeline.tracks.video] == ["cut", "cut", "cut", "wipe"]
    assert timeline.duration == pytest.approx(1 + 1 + 2 + 1.5 - 0.4)
    _edit(editor, owner, lambda t: tl.remove(t, clip_id=timeline.tracks.video[2].id))
    editor.refresh_from_db()
    assert editor.current.number == 6


def test_it_swaps_a_clip_for_another_version_of_its_segment(project, editor, owner, segments, raw_clips):
    from tests.factories import make_segment

    other = make_segment(segments[0].shot, version=2, data=raw_clips[2], duration=1.5, is_current=False)
    clip = _current(editor).tracks.video[0]
    _edit(editor, owner, lambda t: tl.swap(t, clip_id=clip.id, segment=other.pk, source_duration=other.duration))
    swapped = _current(editor).tracks.video[0]
    assert (swapped.segment, swapped.end) == (other.pk, 1.5), "trim kept where it fits the shorter version"


def _title(editor, owner, text: str, *, start: float, duration: float) -> None:
    _edit(
        editor,
        owner,
        lambda t: tl.set_text(
            t,
            clip_id=None,
            kind="title",
            text=text,
            start=start,
            duration=duration,
            position="center",
            style="boxed",
            size="large",
        ),
    )


def test_it_sets_audio_levels_fades_ducking_and_text(project, owner, segments):
    run_audio(services.music_request(project=project, user=owner))
    editor = services.editor_open(project=project, user=owner)
    music = _current(editor).tracks.music[0]
    _edit(editor, owner, lambda t: tl.set_audio(t, clip_id=music.id, volume=0.5, fade_in=1.0, fade_out=2.0))
    _edit(editor, owner, lambda t: tl.set_duck(t, on=False))
    _title(editor, owner, "Tokyo", start=0.5, duration=2)
    timeline = _current(editor)
    assert (timeline.tracks.music[0].volume, timeline.tracks.music[0].fade_in, timeline.tracks.music[0].fade_out) == (
        0.5,
        1.0,
        2.0,
    )
    assert timeline.duck_music is False
    assert timeline.tracks.text[0].text == "Tokyo" and timeline.tracks.text[0].style == "boxed"
    with pytest.raises(tl.TimelineError, match="fades are longer than the clip"):
        _edit(editor, owner, lambda t: tl.set_audio(t, clip_id=music.id, fade_in=4.0))


def test_it_mixes_each_audio_clip_at_its_place_level_and_fades():
    from pathlib import Path

    from editor import renderer

    mix = renderer.Mix(
        voices=[renderer.Voice(Path("v.wav"), 1.5, offset=0.25, length=2.0, volume=0.8, fade_in=0.1, fade_out=0.3)],
        music=Path("m.wav"),
        music_volume=0.4,
        music_start=0.5,
        music_length=3.0,
        music_fade_out=1.0,
    )
    graph, _ = renderer.mix_graph([2.0, 2.0], [renderer.Join()], mix, first_voice_input=2)
    assert "atrim=0.2500:2.2500,asetpts=PTS-STARTPTS,volume=0.800,afade=t=in:st=0:d=0.100" in graph
    assert "afade=t=out:st=1.700:d=0.300,adelay=1500:all=1" in graph
    assert (
        "atrim=0.0000:3.0000,asetpts=PTS-STARTPTS,volume=0.400,afade=t=out:st=2.000:d=1.000,adelay=500:all=1" in graph
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d, o: d["tracks"]["text"].extend(
                [
                    {"id": "t1", "text": "A", "start": 0, "duration": 2},
                    {"id": "t2", "text": "B", "start": 1, "duration": 2},
                ]
            ),
            "overlap on the text track",
        ),
        (lambda d, o: d["tracks"]["video"][0].update({"in": -1}), "greater than or equal to 0"),
        (lambda d, o: d["tracks"]["video"][0].update({"out": 9}), "past the end of its video"),
        (lambda d, o: d["tracks"]["video"][0].update({"segment": 99999}), "media that does not exist"),
        (lambda d, o: d["tracks"]["video"][0].update({"segment": o}), "from another project"),
        (
            lambda d, o: d["tracks"]["video"][1].update({"transition": {"kind": "dissolve", "length": 1.9}}),
            "longer than a clip it joins",
        ),
        (lambda d, o: d["tracks"].update({"subtitles": []}), "Extra inputs are not permitted"),
    ],
)
def test_it_refuses_an_invalid_timeline_and_keeps_the_last_good_revision(
    editor, owner, outsider, raw_clips, mutate, message
):
    membership = Membership.objects.get(user=outsider)
    theirs = project_services.project_create(team=membership.team, user=outsider, title="Theirs", prompt="x")
    foreign = approved_segments(theirs, raw_clips)[0]
    good = editor.current
    data = good.timeline
    mutate(data, foreign.pk)
    with pytest.raises(tl.TimelineError, match=message):
        services.timeline_commit(editor=editor, user=owner, data=data, note="bad")
    editor.refresh_from_db()
    assert editor.current_id == good.pk and TimelineRevision.objects.count() == 1


def test_it_refuses_audio_from_another_track_or_project(editor, owner, project):
    data = editor.current.timeline
    asset = AudioAsset.objects.create(project=project, kind="music", status="completed", duration=3)
    asset.audio.save("m.wav", __import__("django.core.files.base", fromlist=["ContentFile"]).ContentFile(b"x"))
    data["tracks"]["voiceover"].append(
        {"id": "v9", "asset": asset.pk, "source_duration": 3, "start": 0, "in": 0, "out": 2}
    )
    with pytest.raises(tl.TimelineError, match="music goes on its own track"):
        services.timeline_commit(editor=editor, user=owner, data=data, note="bad")


def test_it_undoes_redoes_and_goes_back_to_an_earlier_revision(editor, owner):
    clip = _current(editor).tracks.video[0]
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=clip.id, start=0, end=1.0))
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=clip.id, start=0, end=1.5))
    assert services.timeline_undo(editor=editor).number == 2
    assert services.timeline_undo(editor=editor).number == 1
    with pytest.raises(ValidationError, match="Nothing to undo"):
        services.timeline_undo(editor=editor)
    assert services.timeline_redo(editor=editor).number == 2
    third = services.timeline_restore(editor=editor, revision=TimelineRevision.objects.get(number=3), user=owner)
    assert third.number == 4 and _current(editor).tracks.video[0].end == 1.5
    with pytest.raises(ValidationError, match="Nothing to redo"):
        services.timeline_redo(editor=editor)


def test_it_refuses_an_edit_made_on_a_stale_revision(editor, owner):
    clip = _current(editor).tracks.video[0]
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=clip.id, start=0, end=1.0))
    with pytest.raises(tl.TimelineError, match="changed in another window"):
        services.timeline_edit(
            editor=editor,
            user=owner,
            base=1,
            note="late",
            change=lambda t: tl.trim(t, clip_id=clip.id, start=0, end=1.5),
        )
    assert _current(editor).tracks.video[0].end == 1.0


def test_it_refuses_edits_that_break_the_rules(editor, owner):
    clips = _current(editor).tracks.video
    with pytest.raises(tl.TimelineError, match="cannot be negative"):
        _edit(editor, owner, lambda t: tl.trim(t, clip_id=clips[0].id, start=-1, end=1))
    with pytest.raises(tl.TimelineError, match="half a second"):
        _edit(editor, owner, lambda t: tl.split(t, clip_id=clips[0].id, at=0.1))
    with pytest.raises(tl.TimelineError, match="between two video clips"):
        _edit(editor, owner, lambda t: tl.set_transition(t, clip_id=clips[0].id, kind="fade", length=1))
    for clip in clips[1:]:
        _edit(editor, owner, lambda t, c=clip: tl.remove(t, clip_id=c.id))
    with pytest.raises(tl.TimelineError, match="at least one video clip"):
        _edit(editor, owner, lambda t: tl.remove(t, clip_id=clips[0].id))


def _frame(path, seconds: float):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time >= seconds:
                return frame.to_ndarray(format="gray")
    raise AssertionError("no frame")


def test_it_exports_and_previews_the_timeline_through_the_renderer(editor, owner, project, segments, tmp_path):
    import av
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from editor.models import CompileStatus
    from tests.fixtures_media import flat_clip

    # Flat grey pictures, so the title's box and letters are all that is dark or white.
    flat = flat_clip(tmp_path / "flat.mp4")
    for segment in segments:
        default_storage.delete(segment.video.name)
        default_storage.save(segment.video.name, ContentFile(flat.read_bytes()))
    clips = _current(editor).tracks.video
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=clips[0].id, start=0.5, end=2.0))
    _title(editor, owner, "TOKYO", start=0.2, duration=1.0)
    timeline = _current(editor)
    job = services.timeline_render(editor=editor, user=owner, purpose="export", fps=25, quality="draft")
    job = services.compile_run(job_id=job.pk)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    final = job.final_video
    path = final.video.path
    with av.open(path) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert float(video.average_rate) == 25
        assert container.duration / av.time_base == pytest.approx(timeline.duration, abs=0.1)
    assert "· edit 1" in final.title
    centre = (slice(380, 700), slice(560, 1360))
    with_title, without = _frame(path, 0.7)[centre], _frame(path, 2.5)[centre]
    assert (with_title < 40).mean() > 0.1, "the boxed title's dark box is in the centre while it is on"
    assert (with_title > 220).mean() > 0.01, "with white letters in it"
    assert (without < 40).mean() < 0.01 and (without > 220).mean() < 0.01, "and gone after it"

    preview = services.compile_run(job_id=services.timeline_render(editor=editor, user=owner, purpose="preview").pk)
    assert preview.status == CompileStatus.SUCCEEDED and not hasattr(preview, "final_video")
    with av.open(preview.output.path) as container:
        assert container.streams.video[0].codec_context.width == 640
        assert container.duration / av.time_base == pytest.approx(timeline.duration, abs=0.15)


def test_it_refuses_a_clip_too_short_for_the_transitions_around_it(editor, owner):
    clips = _current(editor).tracks.video
    _edit(editor, owner, lambda t: tl.trim(t, clip_id=clips[1].id, start=0, end=1.4))
    with pytest.raises(tl.TimelineError, match="too short for the transitions into and out of it"):
        _edit(editor, owner, lambda t: tl.set_transition(t, clip_id=clips[2].id, kind="dissolve", length=0.8))


def test_it_keeps_a_looping_music_bed_to_the_end_of_the_video(project, owner, segments):
    run_audio(services.music_request(project=project, user=owner))
    editor = services.editor_open(project=project, user=owner)
    assert _current(editor).tracks.music[0].end == pytest.approx(5.0)
    clip = _current(editor).tracks.video[2]
    _edit(editor, owner, lambda t: tl.remove(t, clip_id=clip.id))
    timeline = _current(editor)
    assert timeline.tracks.music[0].end == pytest.approx(timeline.duration) == pytest.approx(3.5)


def test_it_keeps_titles_to_one_plain_line():
    clip = tl.TextClip(id="t", text="Line one\n\nLine --> two\x00", start=0, duration=1)
    assert clip.text == "Line one Line → two"
    from editor import captions

    ass = captions.to_ass([captions.Overlay(0, 1, r"C:\Nope {\b1}")], width=640, height=360)
    assert "C:\\\u2060Nope (\\\u2060b1)" in ass, "no override codes or line breaks from typed text"


def test_it_sets_the_level_of_a_video_clips_own_sound(editor, owner):
    timeline = _current(editor)
    assert [c.volume for c in timeline.tracks.video] == [None, None, None], "left to each segment's audio role"
    clip = timeline.tracks.video[1].id
    _edit(editor, owner, lambda t: tl.set_audio(t, clip_id=clip, volume=0.5))
    assert _current(editor).tracks.video[1].volume == 0.5
    with pytest.raises(tl.TimelineError, match="volume only"):
        _edit(editor, owner, lambda t: tl.set_audio(t, clip_id=clip, fade_in=1.0))
    with pytest.raises(tl.TimelineError, match="video clip 2, volume"):
        _edit(editor, owner, lambda t: tl.set_audio(t, clip_id=clip, volume=3.0))
    assert _current(editor).tracks.video[1].volume == 0.5
