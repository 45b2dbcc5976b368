"""Real, small media for the fake Replicate's outputs: what each model's Output schema promises, decodable.

Everything is made with the imageio-ffmpeg wheel's ffmpeg (or Pillow for stills)
and cached per shape, so a test suite encodes each kind of clip once.
"""

import io
import tempfile
import threading
from functools import cache
from pathlib import Path

import av
from PIL import Image, ImageDraw

from generation import ffmpeg

# Small and quick: ingest only needs something that decodes, with the right length.
SIZE = (320, 180)
FPS = 6
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
ASPECTS = {"1:1": (1, 1), "16:9": (16, 9), "21:9": (21, 9), "3:2": (3, 2), "2:3": (2, 3), "4:5": (4, 5),
           "5:4": (5, 4), "3:4": (3, 4), "4:3": (4, 3), "9:16": (9, 16), "9:21": (9, 21)}  # fmt: skip
IMAGE_FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
AUDIO_FORMATS = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "64k"], "mp3", "audio/mpeg"),
    "wav": (["-c:a", "pcm_s16le"], "wav", "audio/wav"),
    "flac": (["-c:a", "flac"], "flac", "audio/flac"),
}
_lock = threading.Lock()


def _ffmpeg(args: list[str], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out.{suffix}"
        ffmpeg.run([*args, str(out)])
        return out.read_bytes()


def image(*, aspect_ratio: str, output_format: str, index: int = 0) -> tuple[bytes, str, str]:
    """A still of the asked aspect ratio, 320 px on its long side, in the asked format: (bytes, extension, type)."""
    w, h = ASPECTS.get(aspect_ratio, (1, 1))
    size = (320, max(1, round(320 * h / w))) if w >= h else (max(1, round(320 * w / h)), 320)
    fmt, content_type = IMAGE_FORMATS.get(output_format, IMAGE_FORMATS["webp"])
    picture = Image.new("RGB", size, (40 + 50 * index, 90, 160))
    ImageDraw.Draw(picture).ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill="orange")
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue(), output_format if output_format in IMAGE_FORMATS else "webp", content_type


@cache
def _video(seconds: float, with_audio: bool) -> bytes:
    sound = ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=22050:duration={seconds}"] if with_audio else []
    audio_codec = ["-c:a", "aac", "-b:a", "48k"] if with_audio else []
    return _ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate={FPS}:duration={seconds}", *sound,
         "-t", str(seconds), *H264, *audio_codec, "-movflags", "+faststart"],
        "mp4",
    )  # fmt: skip


def video(*, seconds: float, with_audio: bool) -> bytes:
    with _lock:  # one encode per shape, even when predictions finish together
        return _video(float(seconds), with_audio)


@cache
def _tone(seconds: float, audio_format: str, channels: int) -> bytes:
    codec, suffix, _ = AUDIO_FORMATS[audio_format]
    return _ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=32000:duration={seconds}", "-ac", str(channels),
         *codec],
        suffix,
    )  # fmt: skip


def audio(*, seconds: float, audio_format: str, channels: int = 1) -> tuple[bytes, str, str]:
    """A tone of seconds in audio_format (mp3, wav or flac): (bytes, extension, type)."""
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"the fake cannot make {audio_format!r} audio")
    with _lock:
        data = _tone(round(float(seconds), 2), audio_format, channels)
    _, suffix, content_type = AUDIO_FORMATS[audio_format]
    return data, suffix, content_type


def duration_of(data: bytes) -> float:
    """How long a clip or a sound is, as a decoder sees it."""
    with av.open(io.BytesIO(data)) as container:
        if container.duration:
            return container.duration / av.time_base
        stream = (container.streams.video or container.streams.audio)[0]
        return float(stream.duration * stream.time_base) if stream.duration else 0.0


def lipsynced(*, video_bytes: bytes, audio_bytes: bytes, sync_mode: str = "loop") -> bytes:
    """The input video's picture with the input audio, as long as sync_mode makes it.

    loop and bounce repeat the picture while the voice runs longer; cut_off ends with the shorter; silence
    and remap keep the video's length (the voice padded or cut): our reading of sync's mode descriptions
    ("Lipsync mode when audio and video durations are out of sync").
    """
    video, audio = duration_of(video_bytes), duration_of(audio_bytes)
    lengths = {"loop": max(video, audio), "bounce": max(video, audio), "cut_off": min(video, audio)}
    seconds = round(lengths.get(sync_mode, video), 2)
    with tempfile.TemporaryDirectory() as tmp:
        src_video, src_audio = Path(tmp) / "in-video", Path(tmp) / "in-audio"
        src_video.write_bytes(video_bytes)
        src_audio.write_bytes(audio_bytes)
        return _ffmpeg(
            ["-stream_loop", "-1", "-i", str(src_video), "-i", str(src_audio), "-map", "0:v:0", "-map", "1:a:0",
             "-vf", f"scale={SIZE[0]}:-2,fps={FPS}", "-af", "apad", "-t", str(seconds), *H264,
             "-c:a", "aac", "-b:a", "48k"],
            "mp4",
        )  # fmt: skip


def decodes(data: bytes) -> bool:
    try:
        with av.open(io.BytesIO(data)) as container:
            return bool(container.streams.video or container.streams.audio)
    except (av.FFmpegError, OSError, ValueError):
        return False
