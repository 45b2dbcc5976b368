"""The one renderer behind compiles, the editor's export and the command line.

It drives the ffmpeg binary of the imageio-ffmpeg wheel. Speed comes from
smart rendering, as professional editors do it: every approved segment is
normalized once to the house format (same size, frame rate, pixel format,
H.264 settings, no B-frames, a keyframe every 0.5 s, 48 kHz stereo AAC). A
compile then copies the untouched middle of each segment (the concat demuxer
with inpoint/outpoint on keyframes), re-encodes only the transition windows
with the same settings, renders the audio mix beside it, and muxes. A
cut-only compile re-encodes no video at all.
"""

import json
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import av
from django.conf import settings

from generation import ffmpeg
from generation.ffmpeg import CancelledError, FFmpegError

__all__ = ["CancelledError", "FFmpegError"]

KEYFRAME_SECONDS = 0.5
PRESETS = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
# Our transition names to ffmpeg's xfade: a "dissolve" is a crossfade (xfade's own "dissolve" is pixel noise).
XFADE = {"fade": "fadeblack", "dissolve": "fade", "wipe": "wipeleft", "slide": "slideleft"}
TRANSITIONS = ("cut", *XFADE)
SILENCE_LUFS = -70.0  # the EBU R128 absolute gate: below it there is nothing to measure


class Control:
    """Progress and cancellation for one render, shared by its steps.

    should_cancel (a database read, say) is asked at most once a second, and
    only from the thread that created the render; pool threads see the event.
    """

    def __init__(
        self,
        *,
        on_progress: Callable[[float, str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        check_every: float = 1.0,
    ) -> None:
        self.cancelled = threading.Event()
        self._on_progress = on_progress
        self._should_cancel = should_cancel
        self._check_every = check_every
        self._checked_at = 0.0
        self._owner = threading.get_ident()
        self.total = 1
        self.done = 0

    def plan(self, steps: int) -> None:
        self.total, self.done = max(steps, 1), 0

    def poll(self) -> None:
        if threading.get_ident() == self._owner and self._should_cancel is not None:
            now = time.monotonic()
            if now - self._checked_at >= self._check_every:
                self._checked_at = now
                if self._should_cancel():
                    self.cancelled.set()
        if self.cancelled.is_set():
            raise CancelledError("Cancelled.")

    def note(self, label: str) -> None:
        """Say what runs now, without counting a step."""
        if self._on_progress is not None:
            self._on_progress(self.done / self.total, label)

    def step(self, label: str) -> None:
        self.done = min(self.done + 1, self.total)
        if self._on_progress is not None:
            self._on_progress(self.done / self.total, label)
        self.poll()

    def run(self, args: list[str], **kwargs: object) -> str:
        """ffmpeg that stops when the render is cancelled."""
        poll = self.poll if threading.get_ident() == self._owner else None
        return ffmpeg.run(args, cancel=self.cancelled, poll=poll, **kwargs)

    def wait_all(self, futures: dict[Future, str]) -> None:
        """Wait for pool work, reporting each finished step and stopping everything on cancel or error."""
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                    self.step(futures[future])
                self.poll()
        except BaseException:
            self.cancelled.set()  # running ffmpegs in the pool stop now
            for future in pending:
                future.cancel()
            raise


@dataclass(frozen=True)
class HouseFormat:
    width: int = 1920
    height: int = 1080
    fps: int = 30
    sample_rate: int = 48000
    crf: int = 20
    preset: str = "veryfast"

    @classmethod
    def for_aspect(cls, aspect: str, **kwargs: object) -> "HouseFormat":
        width, height = PRESETS[aspect]
        return cls(width=width, height=height, **kwargs)

    @property
    def gop(self) -> int:
        return max(1, round(self.fps * KEYFRAME_SECONDS))

    @property
    def keyframe_seconds(self) -> float:
        """The keyframe grid: about 0.5 s, a whole number of frames (0.48 s at 25 fps), so cuts land on frames."""
        return self.gop / self.fps

    def video_args(self) -> list[str]:
        """Identical for every piece we encode, so pieces can be joined without re-encoding."""
        return [
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-bf", "0", "-g", str(self.gop), "-keyint_min", str(self.gop),
            "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,n_forced*{self.keyframe_seconds:.6f})",
            "-r", str(self.fps), "-video_track_timescale", str(self.fps * 512),
        ]  # fmt: skip

    def audio_args(self) -> list[str]:
        return ["-c:a", "aac", "-b:a", "192k", "-ar", str(self.sample_rate), "-ac", "2"]


def duration_of(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if container.streams.video else container.streams.audio[0]
        if stream.duration:
            return float(stream.duration * stream.time_base)
        return container.duration / av.time_base


def has_audio(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def normalize(
    src: Path,
    dst: Path,
    fmt: HouseFormat,
    *,
    fit: str = "pad",
    control: Control | None = None,
    start: float = 0.0,
    end: float | None = None,
) -> Path:
    """Re-encode src once to the house format; silent audio if it has none.

    fit "pad" letterboxes a picture of another shape; "crop" fills the frame and
    crops the centre (a 16:9 shot reframed for 9:16, say).
    """
    w, h = fmt.width, fmt.height
    if fit == "crop":
        frame = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
    else:
        frame = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black"
    video = f"[0:v]{frame},setsar=1,fps={fmt.fps},format=yuv420p[v]"
    audio_input = (
        [] if has_audio(src) else ["-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:sample_rate={fmt.sample_rate}"]
    )
    audio_map = "0:a:0" if not audio_input else "1:a"
    length = (end if end is not None else duration_of(src)) - start
    seek = ["-ss", f"{start:.4f}"] if start else []
    (control.run if control else ffmpeg.run)(
        [*seek, "-i", str(src), *audio_input, "-filter_complex", video, "-map", "[v]", "-map", audio_map,
         "-t", f"{length:.4f}", *fmt.video_args(), *fmt.audio_args(), "-movflags", "+faststart", str(dst)]
    )  # fmt: skip
    return dst


# Compiles ------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    path: Path
    start: float  # seconds into the timeline
    offset: float = 0.0  # where in the file it starts playing
    length: float | None = None  # how much of it plays; None: to its end
    volume: float = 1.0
    fade_in: float = 0.0
    fade_out: float = 0.0


@dataclass
class Mix:
    voices: list[Voice] = field(default_factory=list)
    music: Path | None = None
    music_volume: float = 0.35
    duck: bool = True
    target_lufs: float = -14.0
    true_peak: float = -1.5
    # The music bed loops; these place and shape it (the editor's music track). Length None: to the end.
    music_start: float = 0.0
    music_offset: float = 0.0
    music_length: float | None = None
    music_fade_in: float = 0.0
    music_fade_out: float = 0.0
    # Each segment's own sound, by index: its level (0 mutes a video model's soundtrack; missing means 1) and
    # whether it is a voice (a lip-synced shot), which the music ducks under as under a voiceover.
    segment_volumes: list[float] = field(default_factory=list)
    voiced: list[int] = field(default_factory=list)

    def segment_volume(self, index: int) -> float:
        return self.segment_volumes[index] if index < len(self.segment_volumes) else 1.0


def _shape(*, offset: float, length: float | None, volume: float, fade_in: float, fade_out: float) -> str:
    """atrim, volume and fades for one audio layer, as a filter chain."""
    trim = f"atrim={offset:.4f}:{offset + length:.4f}" if length is not None else f"atrim=start={offset:.4f}"
    chain = [trim, "asetpts=PTS-STARTPTS", f"volume={volume:.3f}"]
    if fade_in:
        chain.append(f"afade=t=in:st=0:d={fade_in:.3f}")
    if fade_out and length is not None:
        chain.append(f"afade=t=out:st={max(length - fade_out, 0):.3f}:d={fade_out:.3f}")
    return ",".join(chain)


class TooShortError(ValueError):
    def __init__(self, index: int) -> None:
        super().__init__(f"Segment {index + 1} is too short for the transitions around it.")
        self.index = index


@dataclass(frozen=True)
class Join:
    kind: str = "cut"
    length: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in TRANSITIONS:
            raise ValueError(f"Unknown transition {self.kind!r}; use one of {', '.join(TRANSITIONS)}.")
        if self.kind != "cut" and not 0.1 <= self.length <= 2.5:
            raise ValueError("A transition lasts 0.1 to 2.5 seconds.")

    @property
    def overlap(self) -> float:
        return 0.0 if self.kind == "cut" else self.length


@dataclass
class Report:
    duration: float
    copied_pieces: int
    encoded_windows: int
    loudness: dict
    normalized_now: int = 0  # segments re-encoded during this render (the full path)
    burned_captions: bool = False


def _floor(t: float, grid: float = KEYFRAME_SECONDS) -> float:
    return math.floor(t / grid + 1e-6) * grid


def _ceil(t: float, grid: float = KEYFRAME_SECONDS) -> float:
    return math.ceil(t / grid - 1e-6) * grid


def timeline_starts(durations: Sequence[float], joins: Sequence[Join]) -> list[float]:
    """Where each segment starts in the compiled timeline (transitions overlap their neighbours)."""
    starts, t = [], 0.0
    for i, d in enumerate(durations):
        starts.append(t)
        t += d - (joins[i].overlap if i < len(joins) else 0)
    return starts


def _window(
    a: Path,
    b: Path,
    *,
    a_from: float,
    a_len: float,
    b_len: float,
    join: Join,
    fmt: HouseFormat,
    out: Path,
    control: Control,
) -> Path:
    """Re-encode one transition: a's tail from a_from, crossed with b's head, with the house settings."""
    offset = a_len - join.length
    graph = (
        f"[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];"
        f"[a][b]xfade=transition={XFADE[join.kind]}:duration={join.length}:offset={offset:.4f},format=yuv420p[v]"
    )
    control.run(
        ["-ss", f"{a_from:.4f}", "-t", f"{a_len:.4f}", "-i", str(a), "-t", f"{b_len:.4f}", "-i", str(b),
         "-filter_complex", graph, "-map", "[v]", "-an", *fmt.video_args(), str(out)]
    )  # fmt: skip
    return out


def _concat_copy(pieces: list[tuple[Path, float | None, float | None]], out: Path, control: Control) -> Path:
    lines = ["ffconcat version 1.0"]
    for path, inpoint, outpoint in pieces:
        lines.append(f"file '{path.as_posix()}'")
        if inpoint:
            lines.append(f"inpoint {inpoint:.4f}")
        if outpoint is not None:
            lines.append(f"outpoint {outpoint:.4f}")
    listing = out.with_suffix(".ffconcat")
    listing.write_text("\n".join(lines) + "\n")
    control.run(
        [
            "-f",
            "concat",
            "-safe",
            "0",
            "-auto_convert",
            "0",
            "-i",
            str(listing),
            "-map",
            "0:v",
            "-c",
            "copy",
            "-an",
            str(out),
        ]
    )
    return out


def mix_graph(durations: Sequence[float], joins: Sequence[Join], mix: Mix, first_voice_input: int) -> tuple[str, str]:
    """The audio filter graph: segment audio joined like the picture, voices at their starts, music ducked under them.

    Segment audio is input i (0..n-1), voices follow from first_voice_input, music last. Returns (graph, output label).
    Each segment's sound plays at its level (a muted model soundtrack at 0); lip-synced shots duck the music too.
    """
    ducking = mix.music is not None and mix.duck
    parts, keys = _segment_sound(durations, joins, mix, ducking=ducking)
    current = "s0"
    for i, join in enumerate(joins):
        nxt = f"j{i}"
        if join.overlap:
            parts.append(f"[{current}][s{i + 1}]acrossfade=d={join.overlap}:c1=tri:c2=tri[{nxt}]")
        else:
            parts.append(f"[{current}][s{i + 1}]concat=n=2:v=0:a=1[{nxt}]")
        current = nxt
    total = sum(durations) - sum(j.overlap for j in joins)
    layers = [current]
    voices = []
    for k, voice in enumerate(mix.voices):
        delay = round(voice.start * 1000)
        shape = _shape(offset=voice.offset, length=voice.length, volume=voice.volume, fade_in=voice.fade_in,
                       fade_out=voice.fade_out)  # fmt: skip
        source = f"[{first_voice_input + k}:a]aresample=48000,aformat=channel_layouts=stereo"
        parts.append(f"{source},{shape},adelay={delay}:all=1[v{k}]")
        voices.append(f"[v{k}]")
    if voices:
        parts.append(f"{''.join(voices)}amix=inputs={len(voices)}:normalize=0:duration=longest,apad[voice]")
        if ducking:
            parts.append("[voice]asplit=2[voice_mix][voice_key]")
            layers.append("voice_mix")
            keys.insert(0, "voice_key")
        else:
            # Split only to key the ducking: an unused branch (anullsink) of the endless padded voice fails the graph.
            layers.append("voice")
    if mix.music is not None:
        music_input = first_voice_input + len(mix.voices)
        length = mix.music_length if mix.music_length is not None else max(total - mix.music_start, 0.01)
        shape = _shape(offset=mix.music_offset, length=length, volume=mix.music_volume, fade_in=mix.music_fade_in,
                       fade_out=mix.music_fade_out)  # fmt: skip
        parts.append(
            f"[{music_input}:a]aresample=48000,aformat=channel_layouts=stereo,{shape},"
            f"adelay={round(mix.music_start * 1000)}:all=1,apad[music]"
        )
        if keys:
            key = "voice_key"
            if keys != ["voice_key"]:
                key, mixed = "duck_key", "".join(f"[{k}]" for k in keys)
                joined = f"amix=inputs={len(keys)}:normalize=0:duration=longest," if len(keys) > 1 else ""
                parts.append(f"{mixed}{joined}apad[{key}]")
            parts.append(f"[music][{key}]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=350[bed]")
        else:
            parts.append("[music]anull[bed]")
        layers.append("bed")
    labels = "".join(f"[{label}]" for label in layers)
    parts.append(f"{labels}amix=inputs={len(layers)}:normalize=0:duration=first,atrim=0:{total:.4f}[mixed]")
    return ";".join(parts), "mixed"


def _segment_sound(
    durations: Sequence[float], joins: Sequence[Join], mix: Mix, *, ducking: bool
) -> tuple[list[str], list[str]]:
    """Each segment's audio [s{i}] at its level; a voiced one also feeds a ducking key, placed where it plays."""
    parts, keys = [], []
    starts = timeline_starts(durations, joins)
    for i, d in enumerate(durations):
        chain = f"[{i}:a]atrim=0:{d:.4f},asetpts=PTS-STARTPTS"
        level = mix.segment_volume(i)
        if level != 1:
            chain += f",volume={level:.3f}"
        if ducking and level and i in mix.voiced:
            parts.append(f"{chain},asplit=2[s{i}][k{i}]")
            parts.append(
                f"[k{i}]aresample=48000,aformat=channel_layouts=stereo,adelay={round(starts[i] * 1000)}:all=1[kd{i}]"
            )
            keys.append(f"kd{i}")
        else:
            parts.append(f"{chain}[s{i}]")
    return parts, keys


def _measure_loudness(path: Path, mix: Mix, control: Control) -> dict:
    log = control.run(
        ["-i", str(path), "-af", f"loudnorm=I={mix.target_lufs}:TP={mix.true_peak}:LRA=11:print_format=json",
         "-f", "null", "-"],
        loglevel="info",
    )  # fmt: skip
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", log)
    if not found:
        raise FFmpegError("The loudness measurement printed no result.")
    return json.loads(found.group(0))


def render_audio(
    segments: Sequence[Path],
    *,
    durations: Sequence[float],
    joins: Sequence[Join],
    mix: Mix,
    fmt: HouseFormat,
    out: Path,
    control: Control | None = None,
) -> dict:
    """Mix to WAV, measure its loudness, then normalize linearly to the target (two passes, so it lands on it)."""
    control = control or Control()
    inputs = [arg for path in segments for arg in ("-i", str(path))]
    inputs += [arg for voice in mix.voices for arg in ("-i", str(voice.path))]
    if mix.music is not None:
        inputs += ["-stream_loop", "-1", "-i", str(mix.music)]
    graph, label = mix_graph(durations, joins, mix, first_voice_input=len(segments))
    wav = out.with_suffix(".mix.wav")
    control.run(
        [*inputs, "-filter_complex", graph, "-map", f"[{label}]", "-c:a", "pcm_s16le", "-ar", str(fmt.sample_rate),
         str(wav)]
    )  # fmt: skip
    measured = _measure_loudness(wav, mix, control)
    if float(measured["input_i"]) < SILENCE_LUFS:
        # Silence (all segments mute, no voice, no music) has no loudness to normalize: keep it silent.
        control.run(["-i", str(wav), *fmt.audio_args(), str(out)])
        wav.unlink(missing_ok=True)
        return measured
    norm = (
        f"loudnorm=I={mix.target_lufs}:TP={mix.true_peak}:LRA=11:measured_I={measured['input_i']}:"
        f"measured_TP={measured['input_tp']}:measured_LRA={measured['input_lra']}:"
        f"measured_thresh={measured['input_thresh']}:offset={measured['target_offset']}:linear=true,"
        f"aresample={fmt.sample_rate}"
    )
    control.run(["-i", str(wav), "-af", norm, *fmt.audio_args(), str(out)])
    wav.unlink(missing_ok=True)
    return measured


def plan_durations(
    durations: Sequence[float], joins: Sequence[Join], grid: float = KEYFRAME_SECONDS
) -> tuple[list[float], list[float]]:
    """Per segment, where its copied middle starts and ends: on the keyframe grid, clear of the transitions."""
    heads = [0.0] + [_ceil(j.overlap, grid) for j in joins]  # copy starts after the incoming transition
    tails = [_floor(d - j.overlap, grid) if j.overlap else d for d, j in zip(durations, joins, strict=False)]
    tails.append(durations[-1])
    for i, (head, tail) in enumerate(zip(heads, tails, strict=True)):
        if head > tail:
            raise TooShortError(i)
    return heads, tails


def compile_smart(
    segments: Sequence[Path],
    joins: Sequence[Join],
    mix: Mix,
    fmt: HouseFormat,
    out: Path,
    *,
    workdir: Path,
    subtitles: Path | None = None,
    control: Control | None = None,
) -> Report:
    """Compile normalized segments: copy the middles, encode only the transition windows, mix audio beside it.

    subtitles (an SRT file) becomes a soft subtitle track (mov_text).
    """
    if not segments:
        raise ValueError("Nothing to compile: choose at least one approved segment.")
    if len(joins) != len(segments) - 1:
        raise ValueError("There must be one join between each pair of segments.")
    control = control or Control()
    durations = [duration_of(path) for path in segments]
    heads, tails = plan_durations(durations, joins, fmt.keyframe_seconds)
    futures: dict[Future, str] = {}
    windows: list[Path | None] = []
    control.note("Rendering the transitions and mixing the audio…")
    with ThreadPoolExecutor(max_workers=2) as pool:
        audio = workdir / "audio.m4a"
        audio_job = pool.submit(
            render_audio, segments, durations=durations, joins=joins, mix=mix, fmt=fmt, out=audio, control=control
        )
        futures[audio_job] = "Mixed and loudness-normalized the audio"
        for i, join in enumerate(joins):
            if not join.overlap:
                windows.append(None)
                continue
            window = workdir / f"window-{i}.mp4"
            windows.append(window)
            job = pool.submit(
                _window, segments[i], segments[i + 1], a_from=tails[i], a_len=durations[i] - tails[i],
                b_len=heads[i + 1], join=join, fmt=fmt, out=window, control=control,
            )  # fmt: skip
            futures[job] = f"Rendered the {join.kind} between segments {i + 1} and {i + 2}"
        control.wait_all(futures)
        loudness = audio_job.result()
    pieces: list[tuple[Path, float | None, float | None]] = []
    for i, path in enumerate(segments):
        if tails[i] - heads[i] > 1e-3:
            pieces.append((path, heads[i], tails[i] if tails[i] < durations[i] - 1e-3 else None))
        if i < len(windows) and windows[i] is not None:
            pieces.append((windows[i], None, None))
    control.note("Joining the pictures…")
    video = _concat_copy(pieces, workdir / "video.mp4", control)
    control.step("Joined the pictures")
    control.note("Muxing picture, sound and captions…")
    subtitle_args = []
    if subtitles is not None:
        subtitle_args = ["-i", str(subtitles), "-map", "2:s", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
                         "-metadata:s:s:0", "title=Captions"]  # fmt: skip
    control.run(
        ["-i", str(video), "-i", str(audio), *subtitle_args[:2], "-map", "0:v", "-map", "1:a", *subtitle_args[2:],
         "-c:v", "copy", "-c:a", "copy", "-movflags", "+faststart", str(out)]
    )  # fmt: skip
    control.step("Muxed picture, sound and captions")
    return Report(
        duration=duration_of(out),
        copied_pieces=sum(1 for p in pieces if p[0] in segments),
        encoded_windows=sum(1 for w in windows if w is not None),
        loudness=loudness,
    )


def _filter_path(path: Path) -> str:
    """A path as a filter-graph option value (colons, quotes and backslashes escaped)."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def burn_captions(src: Path, subtitles: Path, out: Path, fmt: HouseFormat, *, control: Control) -> Path:
    """Draw the captions into the picture (the whole video is encoded again; the audio is copied)."""
    fonts = f":fontsdir={_filter_path(Path(settings.CAPTION_FONTS_DIR))}" if settings.CAPTION_FONTS_DIR else ""
    # SRT has no styles of its own; an ASS file (the editor's titles) brings its own.
    style = "FontName=DejaVu Sans,Fontsize=15,Outline=1.5,Shadow=0,MarginV=22,BorderStyle=1"
    forced = f":force_style='{style}'" if subtitles.suffix.lower() == ".srt" else ""
    vf = f"subtitles=filename={_filter_path(subtitles)}{fonts}{forced},format=yuv420p"
    control.run(["-i", str(src), "-vf", vf, "-map", "0:v", "-map", "0:a", *fmt.video_args(), "-c:a", "copy",
                 "-movflags", "+faststart", str(out)])  # fmt: skip
    return out


@dataclass(frozen=True)
class Clip:
    path: Path
    normalized: bool  # already in the house format of this render
    # A trim. A trimmed clip is encoded again: its cut points rarely fall on the keyframe grid.
    start: float = 0.0
    end: float | None = None

    @property
    def trimmed(self) -> bool:
        return bool(self.start) or self.end is not None


def render(
    clips: Sequence[Clip],
    joins: Sequence[Join],
    mix: Mix,
    fmt: HouseFormat,
    out: Path,
    *,
    workdir: Path,
    subtitles: Path | None = None,
    burn: bool = False,
    fit: str = "crop",
    control: Control | None = None,
) -> Report:
    """The one entry point: the smart compile, after normalizing what is not yet in the house format.

    Clips not normalized (or of another aspect) and burned-in captions make the slow path: those
    segments, or the whole picture, are encoded again.
    """
    if not clips:
        raise ValueError("Nothing to compile: choose at least one approved segment.")
    control = control or Control()
    todo = [i for i, clip in enumerate(clips) if not clip.normalized or clip.trimmed]
    windows = sum(1 for j in joins if j.overlap)
    control.plan(len(todo) + 1 + windows + 2 + (1 if burn else 0))
    paths = [clip.path for clip in clips]
    if todo:
        control.note(f"Bringing {len(todo)} segment{'s' if len(todo) != 1 else ''} to the house format…")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {}
            for i in todo:
                paths[i] = workdir / f"normalized-{i}.mp4"
                job = pool.submit(normalize, clips[i].path, paths[i], fmt, fit=fit, control=control,
                                  start=clips[i].start, end=clips[i].end)  # fmt: skip
                futures[job] = f"Brought segment {i + 1} to the house format"
            control.wait_all(futures)
    target = workdir / "compiled.mp4" if burn else out
    report = compile_smart(
        paths, joins, mix, fmt, target, workdir=workdir, subtitles=None if burn else subtitles, control=control
    )
    if burn and subtitles is not None:
        control.note("Burning in the captions (the whole picture is encoded again)…")
        burn_captions(target, subtitles, out, fmt, control=control)
        control.step("Burned in the captions")
        report.burned_captions = True
    elif burn:
        target.replace(out)
        control.step("No captions to burn in")
    report.normalized_now = len(todo)
    report.duration = duration_of(out)
    return report
