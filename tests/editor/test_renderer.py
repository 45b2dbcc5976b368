"""The renderer on small real clips: smart compile durations, copied packets, loudness, refusals."""

import hashlib
from pathlib import Path

import av
import pytest

from editor import renderer
from generation import ffmpeg
from tests.editor.conftest import loudness

FMT = renderer.HouseFormat(width=320, height=180, fps=30)


def _raw(path: Path, seconds: float, hue: int, audio: bool = True) -> Path:
    sound = ["-f", "lavfi", "-i", f"sine=frequency={300 + hue}:sample_rate=48000"] if audio else []
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=640x480:rate=24,hue=h={hue}",
            *sound,
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            *(["-c:a", "aac", "-shortest"] if audio else []),
            str(path),
        ]
    )
    return path


@pytest.fixture(scope="module")
def segments(tmp_path_factory) -> list[Path]:
    work = tmp_path_factory.mktemp("segments")
    made = []
    for i, seconds in enumerate((3, 2.5, 3)):
        raw = _raw(work / f"raw-{i}.mp4", seconds, hue=i * 90, audio=i != 1)
        made.append(renderer.normalize(raw, work / f"seg-{i}.mp4", FMT))
    return made


def _packets(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(container.streams.video[0]) if p.size]


def test_it_normalizes_to_the_house_format(segments):
    with av.open(str(segments[1])) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert float(video.average_rate) == 30 and video.codec_context.pix_fmt == "yuv420p"
        assert container.streams.audio[0].codec_context.sample_rate == 48000, "silent audio added where there was none"
        keyframes = [float(p.pts * p.time_base) for p in container.demux(video) if p.is_keyframe]
    assert keyframes[:5] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0], abs=0.01)


def test_it_compiles_with_dissolves_by_encoding_only_the_windows(segments, tmp_path):
    voice = tmp_path / "voice.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "sine=frequency=900:sample_rate=22050", "-t", "1.5", str(voice)])
    bed = tmp_path / "bed.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.3:sample_rate=48000", "-t", "2", str(bed)])
    mix = renderer.Mix(voices=[renderer.Voice(voice, 0.5)], music=bed)
    joins = [renderer.Join("dissolve", 0.5), renderer.Join("wipe", 0.7)]
    out = tmp_path / "out.mp4"
    report = renderer.compile_smart(segments, joins, mix, FMT, out, workdir=tmp_path)
    assert report.encoded_windows == 2 and report.copied_pieces == 3
    assert renderer.duration_of(out) == pytest.approx(3 + 2.5 + 3 - 0.5 - 0.7, abs=0.1)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert float(container.streams.audio[0].duration * container.streams.audio[0].time_base) == pytest.approx(
            7.3, abs=0.1
        )
    integrated, peak = loudness(out)
    assert integrated == pytest.approx(-14, abs=1)
    assert peak <= -1


def test_a_cut_only_compile_copies_every_video_packet(segments, tmp_path):
    out = tmp_path / "cut.mp4"
    report = renderer.compile_smart(
        segments, [renderer.Join(), renderer.Join()], renderer.Mix(target_lufs=-23), FMT, out, workdir=tmp_path
    )
    assert report.encoded_windows == 0
    assert _packets(out) == [h for s in segments for h in _packets(s)]
    assert loudness(out)[0] == pytest.approx(-23, abs=1)


@pytest.mark.parametrize(
    ("joins", "message"),
    [
        ([renderer.Join("dissolve", 0.5)], "one join between each pair"),
        ([renderer.Join("dissolve", 2.5), renderer.Join("dissolve", 2.5)], "too short"),
    ],
)
def test_it_refuses_impossible_compiles(segments, tmp_path, joins, message):
    with pytest.raises(ValueError, match=message):
        renderer.compile_smart(segments, joins, renderer.Mix(), FMT, tmp_path / "x.mp4", workdir=tmp_path)


def test_it_refuses_an_empty_selection_and_unknown_transitions(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        renderer.compile_smart([], [], renderer.Mix(), FMT, tmp_path / "x.mp4", workdir=tmp_path)
    with pytest.raises(ValueError, match="Unknown transition"):
        renderer.Join("spin", 0.5)


def test_it_keeps_a_silent_compile_silent(segments, tmp_path):
    out = tmp_path / "silent.mp4"
    report = renderer.compile_smart([segments[1]], [], renderer.Mix(), FMT, out, workdir=tmp_path)
    assert float(report.loudness["input_i"]) < renderer.SILENCE_LUFS
    assert renderer.duration_of(out) == pytest.approx(2.5, abs=0.1)
