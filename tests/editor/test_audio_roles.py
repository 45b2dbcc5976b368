"""Segment audio roles in the mix: a lip-synced shot's voice plays once, a model's soundtrack is muted unless kept.

Every sound is a pure tone at its own frequency, so the output tells which one plays where.
"""

from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from editor import renderer, services
from editor import timeline as tl
from editor.models import AudioAsset, AudioKind, AudioSource, AudioStatus, CompileStatus, RenderPurpose
from generation import ffmpeg
from projects.models import ProjectScene
from storyboard.models import ApprovalStatus, AudioRole, VideoSegment
from tests.factories import build_tree, make_segment
from tests.fixtures_media import H264_FAST

pytestmark = pytest.mark.django_db

LIPSYNC_VOICE, OWN_SOUND = 700, 440  # in the clips
VOICE_1, VOICE_2 = 1000, 1500  # the voiceovers of scenes 1 and 2
MUSIC = 250
CUT = {"kind": "cut", "length": 0}


def _clip(path: Path, tone: int | None) -> bytes:
    sound = ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000"] if tone else []
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=24",
            *sound,
            "-t",
            "2",
            *H264_FAST,
            *(["-c:a", "aac", "-shortest"] if tone else []),
            str(path),
        ]
    )
    return path.read_bytes()


def _tone(path: Path, tone: int, seconds: float) -> bytes:
    ffmpeg.run(["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}", str(path)])
    return path.read_bytes()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("roles")
    return {
        "silent": _clip(work / "silent.mp4", None),
        "lipsync": _clip(work / "lipsync.mp4", LIPSYNC_VOICE),
        "own": _clip(work / "own.mp4", OWN_SOUND),
        # Scene 1's voice is longer than its shot: it would run into the lip-synced shot after it.
        "voice1": _tone(work / "voice1.wav", VOICE_1, 3.0),
        "voice2": _tone(work / "voice2.wav", VOICE_2, 1.8),
        "music": _tone(work / "music.wav", MUSIC, 8.0),
    }


def _voiceover(project, scene_id: int, data: bytes, seconds: float) -> AudioAsset:
    asset = AudioAsset(
        project=project,
        kind=AudioKind.VOICEOVER,
        scene_id=scene_id,
        source=AudioSource.GENERATED,
        status=AudioStatus.COMPLETED,
        duration=seconds,
        text="narration",
    )
    asset.audio.save("voice.wav", ContentFile(data), save=False)
    asset.save()
    return asset


@pytest.fixture
def cut(project, media) -> list[VideoSegment]:
    """Scene 1: a silent shot with its voiceover. Scene 2: a lip-synced shot, and a voiceover too. Scene 3: Wan."""
    shots = build_tree(project, scenes=3, shots=1)
    roles = [("silent", AudioRole.SILENT), ("lipsync", AudioRole.LIPSYNC), ("own", AudioRole.OWN_SOUND)]
    segments = []
    for shot, (name, role) in zip(shots, roles, strict=True):
        ProjectScene.objects.filter(pk=shot.scene_id).update(narration="Words.")
        segments.append(
            make_segment(
                shot,
                data=media[name],
                approval_status=ApprovalStatus.APPROVED,
                duration=2.0,
                is_current=True,
                audio_role=role,
            )
        )
    _voiceover(project, segments[0].scene_id, media["voice1"], 3.0)
    _voiceover(project, segments[1].scene_id, media["voice2"], 1.8)
    return segments


def _samples(path: Path) -> np.ndarray:
    """The output's sound, mono float at 48 kHz."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    return np.concatenate(chunks)


def _level(samples: np.ndarray, start: float, end: float, tone: int) -> float:
    """The tone's amplitude (dBFS) between start and end seconds, from a windowed spectrum."""
    part = samples[int(start * 48000) : int(end * 48000)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)))) / (len(part) / 4)
    freqs = np.fft.rfftfreq(len(part), 1 / 48000)
    band = spectrum[(freqs > tone - 15) & (freqs < tone + 15)]
    return 20 * np.log10(band.max() + 1e-9)


def _compile(project, owner, segments, **options):
    options.setdefault("music", False)
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in segments],
        transitions=[CUT] * (len(segments) - 1),
        aspect_ratio="16:9",
        captions_mode="off",
        **options,
    )
    job = services.compile_run(job_id=job.pk)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    return job, _samples(Path(job.final_video.video.path))


def test_it_plays_a_lipsynced_voice_once_and_mutes_a_models_own_sound(project, owner, cut):
    # No music: voiceovers without a bed once failed the whole render (an unused branch of the ducking key).
    job, sound = _compile(project, owner, cut)
    assert job.audio_config["keep_own_sound"] is False
    # Scene 1 (0-2 s): its voiceover over the silent shot.
    assert _level(sound, 0.2, 1.8, VOICE_1) > -30
    # Scene 2 (2-4 s): the lip-synced shot's own voice at full level; no voiceover at all over it, neither
    # its scene's (that would be the voice twice) nor scene 1's running on.
    lipsync = _level(sound, 2.2, 3.8, LIPSYNC_VOICE)
    assert lipsync > -30
    assert _level(sound, 2.2, 3.8, VOICE_2) < lipsync - 50
    assert _level(sound, 2.1, 3.8, VOICE_1) < lipsync - 50
    # Scene 3 (4-6 s): Wan's soundtrack, muted by default.
    assert _level(sound, 4.2, 5.8, OWN_SOUND) < lipsync - 50


def test_it_keeps_a_models_own_sound_when_asked(project, owner, cut):
    job, sound = _compile(project, owner, cut, keep_own_sound=True)
    assert job.audio_config["keep_own_sound"] is True
    own = _level(sound, 4.2, 5.8, OWN_SOUND)
    assert own > -30 and own == pytest.approx(_level(sound, 2.2, 3.8, LIPSYNC_VOICE), abs=3)


def test_the_music_ducks_under_a_lipsynced_voice_as_under_a_voiceover(project, owner, cut, media):
    music = AudioAsset(
        project=project, kind=AudioKind.MUSIC, source=AudioSource.UPLOADED, status=AudioStatus.COMPLETED, duration=8.0
    )
    music.audio.save("bed.wav", ContentFile(media["music"]), save=False)
    music.save()
    _, sound = _compile(project, owner, cut, music=True)
    under_voiceover, under_lipsync = _level(sound, 0.5, 1.8, MUSIC), _level(sound, 2.5, 3.8, MUSIC)
    alone = _level(sound, 4.5, 5.8, MUSIC)  # the Wan shot, muted: nothing to duck under
    assert alone > -40
    assert under_lipsync < alone - 6 and under_voiceover < alone - 6


def test_the_mix_graph_sets_each_segments_level_and_ducks_the_music_under_a_lipsynced_voice(tmp_path):
    mix = renderer.Mix(music=tmp_path / "bed.wav", segment_volumes=[1.0, 1.0, 0.0], voiced=[1])
    graph, _ = renderer.mix_graph([2.0, 2.0, 2.0], [renderer.Join(), renderer.Join()], mix, first_voice_input=3)
    assert "[2:a]atrim=0:2.0000,asetpts=PTS-STARTPTS,volume=0.000[s2]" in graph
    assert "[0:a]atrim=0:2.0000,asetpts=PTS-STARTPTS[s0]" in graph, "a silent segment mixes as it always did"
    # The lip-synced shot keys the ducking from where it plays (2 s in).
    assert "asplit=2[s1][k1]" in graph and "adelay=2000:all=1[kd1]" in graph
    assert "[music][duck_key]sidechaincompress" in graph


def test_the_compile_page_offers_to_keep_own_sound_and_says_which_voiceover_is_left_out(owner_client, project, cut):
    from django.urls import reverse

    html = owner_client.get(reverse("project_compile", args=[project.pk])).content.decode()
    assert "Keep the video models&#x27; own sound" in html and 'name="keep_own_sound"' in html
    assert "Lip-synced voice" in html and "the voiceover of scene 2 is not laid again" in html
    VideoSegment.objects.filter(pk=cut[2].pk).update(audio_role=AudioRole.SILENT)
    html = owner_client.get(reverse("project_compile", args=[project.pk])).content.decode()
    assert 'name="keep_own_sound"' not in html, "shown only when some segment has its own sound"


def _opened(project, owner, cut, *, keep: bool) -> tl.Timeline:
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[s.pk for s in cut],
        transitions=[CUT, CUT],
        aspect_ratio="16:9",
        keep_own_sound=keep,
    )
    job.__class__.objects.filter(pk=job.pk).update(status=CompileStatus.SUCCEEDED, completed_at=job.created_at)
    editor = services.editor_open(project=project, user=owner)
    return tl.parse(editor.current.timeline)


def test_the_editor_opened_from_a_compile_lays_no_voiceover_over_a_lipsynced_clip(project, owner, cut):
    timeline = _opened(project, owner, cut, keep=False)
    starts = timeline.starts()
    clips = zip(timeline.tracks.video, starts, strict=True)
    lipsynced = [(s, s + c.length) for c, s in clips if c.segment == cut[1].pk]
    assert lipsynced == [(2.0, 4.0)]
    voices = timeline.tracks.voiceover
    assert [AudioAsset.objects.get(pk=v.asset).scene_id for v in voices] == [cut[0].scene_id], "not scene 2's"
    for voice in voices:
        assert voice.start + voice.length <= 2.0 + 1e-6, "scene 1's voice ends where the lip-synced clip begins"
    # The models' soundtracks: left to the role (muted) unless the compile kept them.
    assert [c.volume for c in timeline.tracks.video] == [None, None, None]


def test_the_editor_keeps_own_sound_when_the_compile_did(project, owner, cut):
    timeline = _opened(project, owner, cut, keep=True)
    assert [c.volume for c in timeline.tracks.video] == [None, None, 1.0]


def test_the_editor_render_mutes_own_sound_unless_the_clip_keeps_it(project, owner, cut):
    editor = services.editor_open(project=project, user=owner)
    # Just the Wan clip, alone.
    data = editor.current.timeline
    data["tracks"]["video"] = [c for c in data["tracks"]["video"] if c["segment"] == cut[2].pk]
    data["tracks"]["voiceover"] = []
    services.timeline_commit(editor=editor, user=owner, data=data, note="only the Wan shot")

    def render() -> float:
        job = services.timeline_render(editor=editor, user=owner, purpose=RenderPurpose.PREVIEW)
        job = services.compile_run(job_id=job.pk)
        assert job.status == CompileStatus.SUCCEEDED, job.error
        return _level(_samples(Path(job.output.path)), 0.2, 1.8, OWN_SOUND)

    muted = render()
    editor.refresh_from_db()
    clip = editor.current.timeline["tracks"]["video"][0]["id"]
    services.timeline_edit(
        editor=editor, user=owner, base=None, note="keep it", change=lambda t: tl.set_audio(t, clip_id=clip, volume=1.0)
    )
    kept = render()
    assert kept > -30 and muted < kept - 50


def test_the_inspector_keeps_a_clips_own_sound_when_asked(owner_client, project, owner, cut):
    timeline = _opened(project, owner, cut, keep=False)
    editor = services.editor_open(project=project, user=owner)
    wan = next(c for c in timeline.tracks.video if c.segment == cut[2].pk)
    page = owner_client.get(reverse("project_edit", args=[project.pk]) + f"?clip={wan.id}").content.decode()
    assert 'id="clip-sound" name="volume" value="0"' in page
    assert "muted unless you keep it" in page
    lipsynced = next(c for c in timeline.tracks.video if c.segment == cut[1].pk)
    page = owner_client.get(reverse("project_edit", args=[project.pk]) + f"?clip={lipsynced.id}").content.decode()
    assert 'id="clip-sound" name="volume" value="100"' in page and "no voiceover plays over it" in page
    response = owner_client.post(
        reverse("edit_op", args=[project.pk]),
        {"op": "audio", "clip": wan.id, "volume": "100", "base": editor.current.number},
    )
    assert response.status_code in (200, 302)
    editor.refresh_from_db()
    kept = next(c for c in editor.current.timeline["tracks"]["video"] if c["segment"] == cut[2].pk)
    assert kept["volume"] == 1.0


def test_an_edited_timeline_never_plays_a_voice_over_a_lipsynced_clip(project, owner, cut):
    """The editor keeps the user's timing, but the render leaves the voice out where a lip-synced clip speaks."""
    _opened(project, owner, cut, keep=False)
    editor = services.editor_open(project=project, user=owner)
    voice = editor.current.timeline["tracks"]["voiceover"][0]["id"]
    # Scene 1's 3 s voice dragged to start at 1 s: 1-2 s over its own shot, 2-4 s over the lip-synced one.
    services.timeline_edit(
        editor=editor, user=owner, base=None, note="move", change=lambda t: tl.set_audio(t, clip_id=voice, start=1.0)
    )
    editor.refresh_from_db()
    job = services.timeline_render(editor=editor, user=owner, purpose=RenderPurpose.PREVIEW)
    job = services.compile_run(job_id=job.pk)
    assert job.status == CompileStatus.SUCCEEDED, job.error
    sound = _samples(Path(job.output.path))
    assert _level(sound, 1.1, 1.9, VOICE_1) > -30, "heard over the silent shot"
    lipsync = _level(sound, 2.2, 3.8, LIPSYNC_VOICE)
    assert lipsync > -30
    assert _level(sound, 2.2, 3.8, VOICE_1) < lipsync - 50, "not over the lip-synced clip"


def test_voice_pieces_leave_out_only_the_lipsynced_spans():
    from editor.audio_roles import voice_pieces

    assert voice_pieces(1.0, 0.5, 3.0, [(2.0, 3.0)]) == [(1.0, 0.5, 1.0), (3.0, 2.5, 1.0)]
    assert voice_pieces(2.0, 0.0, 1.0, [(1.0, 4.0)]) == []
    assert voice_pieces(0.0, 0.0, 1.0, [(2.0, 3.0)]) == [(0.0, 0.0, 1.0)]
