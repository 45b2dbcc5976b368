"""Offline image-to-video: a motion clip made from the still with ffmpeg.

Three motions, chosen from the motion prompt (or by seed): a slow push-in
("zoom"), a lateral "pan", and "parallax", where the lower half of the frame
(the foreground) slides faster than the sky behind it.
"""

import random
import re
import tempfile
from pathlib import Path

from generation import ffmpeg

FPS = 24
RESOLUTIONS = {
    "16:9": {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)},
    "9:16": {"480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920)},
    "1:1": {"480p": (480, 480), "720p": (720, 720), "1080p": (1080, 1080)},
}
MOTIONS = ("zoom", "pan", "parallax")


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(word)}\b", text) for word in words)


def motion_for(prompt: str, seed: int) -> str:
    lowered = prompt.lower()
    if _mentions(lowered, ("pan", "panning", "track", "tracking", "slide", "truck", "dolly left", "dolly right")):
        return "pan"
    if _mentions(lowered, ("parallax", "depth", "layers", "orbit")):
        return "parallax"
    if _mentions(lowered, ("zoom", "push in", "push-in", "dolly in", "close in")):
        return "zoom"
    return MOTIONS[random.Random(seed).randrange(len(MOTIONS))]


def _filter(motion: str, w: int, h: int, frames: int, seed: int) -> str:
    direction = 1 if random.Random(seed).random() < 0.5 else -1
    # Work on a 1.25x canvas so every motion has room and no edge is ever exposed.
    big_w, big_h = int(w * 1.25) // 2 * 2, int(h * 1.25) // 2 * 2
    scale = f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase,crop={big_w}:{big_h}"
    t = f"(n/{frames - 1})"  # 0 to 1 over the clip; zoompan counts output frames as "on"
    if motion == "zoom":
        return (
            f"[0:v]{scale},zoompan=z='1+0.18*(on/{frames - 1})':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
            f":d={frames}:s={w}x{h}:fps={FPS},setsar=1[v]"
        )
    if motion == "pan":
        start = "0" if direction > 0 else f"(iw-{w})"
        end = f"(iw-{w})" if direction > 0 else "0"
        return f"[0:v]{scale},crop={w}:{h}:x='{start}+({end}-{start})*{t}':y='(ih-{h})/2',setsar=1[v]"
    # parallax: background drifts slowly, the lower half faster, both from the same still
    half = h // 2
    return (
        f"[0:v]{scale},split[a][b];"
        f"[a]crop={w}:{h}:x='(iw-{w})/2+{direction}*(iw-{w})/6*{t}':y='(ih-{h})/2'[bg];"
        f"[b]crop={w}:{half}:x='(iw-{w})/2+{direction}*(iw-{w})/2*{t}':y='ih-{half}-(ih-{h})/4'[fg];"
        f"[bg][fg]overlay=0:{h - half},setsar=1[v]"
    )


def animate(*, image_path: Path, duration: int, aspect_ratio: str, resolution: str, prompt: str, seed: int) -> bytes:
    w, h = RESOLUTIONS.get(aspect_ratio, RESOLUTIONS["16:9"]).get(resolution, RESOLUTIONS["16:9"]["720p"])
    frames = duration * FPS
    motion = motion_for(prompt, seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        loop = ["-loop", "1", "-framerate", str(FPS), "-t", str(duration), "-i", str(image_path)]
        if motion == "zoom":
            loop = ["-i", str(image_path)]
        ffmpeg.run(
            [
                *loop,
                "-f", "lavfi", "-t", str(duration), "-i", "anullsrc=channel_layout=stereo:sample_rate=48000",
                "-filter_complex", _filter(motion, w, h, frames, seed),
                "-map", "[v]", "-map", "1:a",
                "-frames:v", str(frames), "-r", str(FPS),
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "128k", "-shortest",
                "-movflags", "+faststart",
                str(out),
            ]
        )  # fmt: skip
        return out.read_bytes()
