"""Cheap, deterministic measurements of a segment, read from the decoded video itself.

Quality: sharpness (variance of the Laplacian), exposure (mean brightness and
clipped pixels) and motion (frozen or near-static frames). Consistency:
distance to the shot's master image and to the neighbouring shots' current
segments, by perceptual hash and colour histogram. The same file always gives
the same numbers: frames are sampled at fixed positions and nothing is random.
"""

import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from PIL import Image

SAMPLES = 16  # frames sampled evenly over the clip
WORK_WIDTH = 256  # frames are measured at this width: cheap, and blind to encoder noise
# Laplacian variance at which a frame counts as fully sharp (measured at WORK_WIDTH on 8-bit luma).
SHARP_AT = 120.0
FROZEN_BELOW = 0.35  # mean absolute difference (0-255) under which two samples are the same picture
STATIC_BELOW = 1.5  # mean difference under which the whole clip barely moves


@dataclass
class Probe:
    duration: float
    width: int
    height: int
    codec: str
    fps: float
    format: str
    frames: list[np.ndarray] = field(repr=False)  # RGB uint8, WORK_WIDTH wide
    middle: Image.Image = field(repr=False)  # full-resolution middle frame, for the thumbnail


def _frame_count(path: Path) -> int:
    """Frames in the video stream: from the header, or by demuxing when it does not say (WebM, fragmented MP4)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return stream.frames
        return sum(1 for packet in container.demux(stream) if packet.size)


def probe(path: Path) -> Probe:
    """Read the stream facts and SAMPLES evenly spaced frames; raises av.FFmpegError or ValueError on a broken file."""
    total = _frame_count(path)
    if total < 1:
        raise ValueError("The video has no frames.")
    wanted = {round(i * (total - 1) / (SAMPLES - 1)) for i in range(SAMPLES)} if total > 1 else {0}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        rate = float(stream.average_rate) if stream.average_rate else (total / duration if duration else 0.0)
        frames: list[np.ndarray] = []
        middle: Image.Image | None = None
        last: av.VideoFrame | None = None
        size: tuple[int, int] | None = None
        # Decoding every frame keeps positions exact for any codec; clips are seconds long.
        for index, frame in enumerate(container.decode(stream)):
            last = frame
            if index in wanted:
                # One working size for the whole clip, even if the stream changes resolution midway.
                size = size or (WORK_WIDTH, max(2, round(frame.height * WORK_WIDTH / frame.width)))
                frames.append(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]))
            if index == total // 2:
                middle = frame.to_image()
        if last is None or not frames:
            raise ValueError("The video has no decodable frames.")
        return Probe(
            duration=round(duration, 3),
            width=ctx.width,
            height=ctx.height,
            codec=ctx.name,
            fps=round(rate, 3),
            format=container.format.name.split(",")[0],
            frames=frames,
            middle=middle or last.to_image(),
        )


def thumbnail_bytes(picture: Image.Image, width: int = 480) -> bytes:
    image = picture.convert("RGB")
    image.thumbnail((width, width))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=80)
    return buffer.getvalue()


# Signatures: what neighbours and masters are compared by -----------------------


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash: robust to scaling and compression, sensitive to composition."""
    small = Image.fromarray(rgb).convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def histogram(rgb: np.ndarray) -> list[float]:
    """Normalised 4x4x4 RGB histogram (64 bins)."""
    q = (rgb // 64).astype(np.int32).reshape(-1, 3)
    bins = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(np.float64)
    return [round(float(v), 5) for v in bins / bins.sum()]


def signature(rgb: np.ndarray) -> dict:
    return {"dhash": f"{dhash(rgb):016x}", "hist": histogram(rgb)}


def image_signature(picture: Image.Image) -> dict:
    image = picture.convert("RGB")
    height = max(2, round(image.height * WORK_WIDTH / image.width))
    return signature(np.asarray(image.resize((WORK_WIDTH, height), Image.Resampling.BILINEAR)))


def similarity(a: dict, b: dict) -> float:
    """0 (unrelated) to 1 (the same picture): mean of hash agreement and histogram intersection."""
    distance = bin(int(a["dhash"], 16) ^ int(b["dhash"], 16)).count("1")
    hash_similarity = 1 - distance / 64
    intersection = float(np.minimum(np.array(a["hist"]), np.array(b["hist"])).sum())
    return round((hash_similarity + intersection) / 2, 4)


# Metrics -----------------------------------------------------------------------


def _laplacian_variance(gray: np.ndarray) -> float:
    lap = -4 * gray[1:-1, 1:-1] + gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:]
    return float(lap.var())


def _metric(key: str, label: str, score: float, value: str, explanation: str) -> dict:
    return {"key": key, "label": label, "score": round(max(0.0, min(1.0, score)), 3), "value": value,
            "explanation": explanation}  # fmt: skip


def quality_metrics(frames: list[np.ndarray]) -> list[dict]:
    grays = [_luma(f.astype(np.float64)) for f in frames]
    sharpness = float(np.median([_laplacian_variance(g) for g in grays]))
    brightness = float(np.mean([g.mean() for g in grays])) / 255
    clipped = float(np.mean([((g < 4) | (g > 251)).mean() for g in grays]))
    diffs = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(grays)]
    frozen = sum(d < FROZEN_BELOW for d in diffs) / len(diffs) if diffs else 1.0
    motion = float(np.mean(diffs)) if diffs else 0.0
    exposure = (1 - min(1.0, abs(brightness - 0.45) / 0.45)) * (1 - min(1.0, clipped * 4))
    motion_score = (1 - frozen) * min(1.0, motion / STATIC_BELOW)
    return [
        _metric("sharpness", "Sharpness", sharpness / SHARP_AT, f"{sharpness:.0f}",
                "Variance of the Laplacian of each sampled frame (median). Soft or smeared frames score low; "
                f"{SHARP_AT:.0f} or more counts as fully sharp."),
        _metric("exposure", "Exposure", exposure, f"{brightness:.0%} bright, {clipped:.1%} clipped",
                "Mean brightness against a mid-tone target, with a penalty for pure black or white pixels."),
        _metric("motion", "Motion", motion_score, f"{motion:.1f} mean change, {frozen:.0%} frozen",
                f"Average change between {len(frames)} evenly sampled frames. A clip that barely moves or has "
                "frozen stretches scores low."),
    ]  # fmt: skip


def consistency_metrics(frames: list[np.ndarray], master: dict | None, neighbours: list[dict]) -> list[dict]:
    first, middle = signature(frames[0]), signature(frames[len(frames) // 2])
    metrics = []
    if master:
        score = similarity(first, master)
        metrics.append(_metric("master", "Matches the master image", score, f"{score:.0%}",
                               "The first frame against the shot's master image, by perceptual hash and "
                               "colour histogram. Low means the animation drifted from the chosen still."))  # fmt: skip
    if neighbours:
        score = float(np.mean([similarity(middle, n) for n in neighbours]))
        metrics.append(_metric("neighbours", "Fits the neighbouring shots", score, f"{score:.0%}",
                               f"The middle frame against the current segments of the {len(neighbours)} "
                               "neighbouring shot(s): a sudden change of palette or look scores low."))  # fmt: skip
    return metrics


WEIGHTS = {"sharpness": 0.4, "exposure": 0.3, "motion": 0.3, "master": 0.7, "neighbours": 0.3}


def combined(metrics: list[dict]) -> float | None:
    if not metrics:
        return None
    total = sum(WEIGHTS[m["key"]] for m in metrics)
    return round(sum(m["score"] * WEIGHTS[m["key"]] for m in metrics) / total, 3)


def middle_frame(path: Path) -> Image.Image:
    """The frame at the middle of the clip: a seek, then one decode, for the thumbnail."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration:
            container.seek(stream.duration // 2, stream=stream)
        for frame in container.decode(stream):
            return frame.to_image()
    raise ValueError("The video has no frames.")


def score(path: Path, *, master: "object | None", neighbours: list[dict]) -> dict:
    """Both scores and their metrics for the clip at path; master is the shot's ShotImage (or None)."""
    facts = probe(path)
    master_signature = None
    if master is not None and getattr(master, "image", None):
        with master.image.open("rb") as handle, Image.open(handle) as picture:
            master_signature = image_signature(picture)
    quality = quality_metrics(facts.frames)
    consistency = consistency_metrics(facts.frames, master_signature, neighbours)
    return {
        "quality": combined(quality),
        "consistency": combined(consistency),
        "scores": {
            "quality": quality,
            "consistency": consistency,
            "signature": signature(facts.frames[len(facts.frames) // 2]),
            "probe": {"duration": facts.duration, "fps": facts.fps, "codec": facts.codec, "frames": len(facts.frames)},
        },
    }
