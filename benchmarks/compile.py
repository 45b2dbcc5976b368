"""Compile speed: our smart render against one hand-written ffmpeg command doing the same work.

Makes 10 synthetic 5-second 1920x1080 30 fps segments with audio, normalizes
them to the house format (not timed: that happens once, when a segment is
approved), a voiceover (espeak-ng) and a music bed (the offline composer).
Then times, median of 3, in this run:
- ours: editor.renderer.compile_smart with a 0.5 s dissolve at every join;
- the reference: a single ffmpeg command with the xfade chain, the same audio
  mix and loudnorm, and the same H.264 settings (preset veryfast).
It also compiles cut-only and checks that the video packets are copied, not
re-encoded. The last line is `ratio=<ours/reference>` (target: at most 0.35).

    .venv/bin/python benchmarks/compile.py
"""

import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from editor import renderer  # noqa: E402
from generation import ffmpeg  # noqa: E402
from generation.providers.offline import music, speech  # noqa: E402

SEGMENTS, SECONDS, RUNS = 10, 5, 3
FMT = renderer.HouseFormat.for_aspect("16:9", fps=30)


def make_inputs(work: Path) -> tuple[list[Path], renderer.Mix]:
    segments = []
    for i in range(SEGMENTS):
        raw = work / f"raw-{i}.mp4"
        ffmpeg.run(
            ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30,hue=h={i * 36}",
             "-f", "lavfi", "-i", f"sine=frequency={220 + 40 * i}:sample_rate=48000",
             "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(raw)]
        )  # fmt: skip
        segments.append(renderer.normalize(raw, work / f"segment-{i}.mp4", FMT))
    voices = []
    for n, start in enumerate((0.5, 15.0, 30.0)):
        path = work / f"voice-{n}.wav"
        path.write_bytes(speech.speak(text="Tokyo wakes before the sun, and the city hums.", voice="narrator"))
        voices.append(renderer.Voice(path, start))
    bed = work / "music.wav"
    bed.write_bytes(music.compose(prompt="uplifting cinematic", duration=50, seed=1))
    return segments, renderer.Mix(voices=voices, music=bed)


def reference(segments: list[Path], mix: renderer.Mix, out: Path) -> None:
    joins = [renderer.Join("dissolve", 0.5)] * (len(segments) - 1)
    durations = [renderer.duration_of(p) for p in segments]
    video, current, offset = [], "0:v", 0.0
    for i, join in enumerate(joins):
        offset += durations[i] - join.length
        video.append(f"[{current}][{i + 1}:v]xfade=transition=fade:duration={join.length}:offset={offset:.4f}[x{i}]")
        current = f"x{i}"
    audio, label = renderer.mix_graph(durations, joins, mix, first_voice_input=len(segments))
    graph = ";".join(
        [*video, audio, f"[{label}]loudnorm=I={mix.target_lufs}:TP={mix.true_peak}:LRA=11,aresample=48000[a]"]
    )
    inputs = [arg for p in segments for arg in ("-i", str(p))]
    inputs += [arg for v in mix.voices for arg in ("-i", str(v.path))]
    inputs += ["-stream_loop", "-1", "-i", str(mix.music)]
    ffmpeg.run([*inputs, "-filter_complex", graph, "-map", f"[{current}]", "-map", "[a]", *FMT.video_args(),
                *FMT.audio_args(), "-movflags", "+faststart", str(out)])  # fmt: skip


def ours(segments: list[Path], mix: renderer.Mix, out: Path, kind: str = "dissolve") -> renderer.Report:
    joins = [renderer.Join(kind, 0.5 if kind != "cut" else 0)] * (len(segments) - 1)
    work = out.parent / f"{out.stem}-work"
    work.mkdir()
    return renderer.compile_smart(segments, joins, mix, FMT, out, workdir=work)


def packet_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(container.streams.video[0]) if p.size]


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="videopipe-compile-") as tmp:
        work = Path(tmp)
        segments, mix = make_inputs(work)
        ours_times, ref_times = [], []
        for run in range(RUNS):
            ours_times.append(timed(lambda run=run: ours(segments, mix, work / f"ours-{run}.mp4")))
            ref_times.append(timed(lambda run=run: reference(segments, mix, work / f"ref-{run}.mp4")))
        expected = SEGMENTS * SECONDS - (SEGMENTS - 1) * 0.5
        print(f"ours:      {statistics.median(ours_times):.2f} s  (runs {', '.join(f'{t:.2f}' for t in ours_times)})")
        print(f"reference: {statistics.median(ref_times):.2f} s  (runs {', '.join(f'{t:.2f}' for t in ref_times)})")
        print(f"durations: ours {renderer.duration_of(work / 'ours-0.mp4'):.2f} s, "
              f"reference {renderer.duration_of(work / 'ref-0.mp4'):.2f} s, expected {expected:.2f} s")  # fmt: skip
        cut = ours(segments, mix, work / "cut.mp4", kind="cut")
        copied = packet_hashes(work / "cut.mp4") == [h for s in segments for h in packet_hashes(s)]
        print(f"cut-only: {cut.encoded_windows} windows encoded, video packets copied: {'yes' if copied else 'NO'}")
        print(f"ratio={statistics.median(ours_times) / statistics.median(ref_times):.3f}")


if __name__ == "__main__":
    main()
