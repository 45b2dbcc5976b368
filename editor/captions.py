"""Captions from narration: timed cues, written as SRT and WebVTT.

A scene's narration is shown while its voiceover plays (or across the
scene's part of the timeline when it has none), split into readable cues:
at most two lines of about 42 characters, each on screen for a time in
proportion to its length.
"""

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

LINE = 42
MIN_CUE_SECONDS = 1.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _chunks(text: str) -> list[str]:
    """Sentences, with long ones broken at word boundaries into pieces of two lines at most."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?…])\s+", " ".join(text.split())) if s.strip()]
    chunks = []
    for sentence in sentences:
        lines = textwrap.wrap(sentence, LINE)
        chunks += ["\n".join(lines[i : i + 2]) for i in range(0, len(lines), 2)]
    return chunks


def cues_for(text: str, *, start: float, span: float) -> list[Cue]:
    """Cues for one narration, spread over [start, start + span]."""
    chunks = _chunks(text)
    if not chunks or span <= 0:
        return []
    weights = [max(len(chunk), 12) for chunk in chunks]
    total = sum(weights)
    cues, t = [], start
    for chunk, weight in zip(chunks, weights, strict=True):
        length = max(span * weight / total, min(MIN_CUE_SECONDS, span / len(chunks)))
        end = min(t + length, start + span)
        cues.append(Cue(round(t, 3), round(end, 3), chunk))
        t = end
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = round(max(seconds, 0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02}:{minutes:02}:{secs:02}{separator}{millis:03}"


def to_srt(cues: Sequence[Cue]) -> str:
    blocks = [f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for n, c in enumerate(cues, start=1)]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


# Titles and captions drawn into the picture (the editor's text track), as an ASS script for libass.

ALIGN = {"bottom": 2, "center": 5, "top": 8}
SIZES = {"small": 0.045, "medium": 0.065, "large": 0.09}


@dataclass(frozen=True)
class Overlay:
    start: float
    end: float
    text: str
    position: str = "center"
    style: str = "bold"
    size: str = "large"


def _ass_time(seconds: float) -> str:
    centis = round(max(seconds, 0) * 100)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02}:{secs:02}.{centis:02}"


def _ass_text(text: str) -> str:
    # libass has no escape for a backslash: a word joiner after it keeps \N, \h and \n from being read as codes.
    text = text.replace("\\", "\\\u2060").replace("{", "(").replace("}", ")")
    return text.replace("\r", "").replace("\n", "\\N")


def to_ass(overlays: Sequence[Overlay], *, width: int, height: int) -> str:
    styles, events = {}, []
    for item in overlays:
        name = f"{item.position}-{item.style}-{item.size}"
        if name not in styles:
            size = round(height * SIZES[item.size])
            bold = 0 if item.style == "plain" else -1
            border, outline, box = (
                (3, max(size // 5, 4), "&H00101010") if item.style == "boxed" else (1, 2, "&H00000000")
            )
            styles[name] = (
                f"Style: {name},DejaVu Sans,{size},&H00FFFFFF,&H00FFFFFF,{box},&H80000000,{bold},0,0,0,100,100,0,0,"
                f"{border},{outline},0,{ALIGN[item.position]},{width // 20},{width // 20},{height // 14},1"
            )
        events.append(
            f"Dialogue: 0,{_ass_time(item.start)},{_ass_time(item.end)},{name},,0,0,0,,{_ass_text(item.text)}"
        )
    head = (
        f"[Script Info]\nScriptType: v4.00+\nPlayResX: {width}\nPlayResY: {height}\nWrapStyle: 0\n"
        "ScaledBorderAndShadow: yes\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding\n"
    )
    body = "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    return head + "\n".join(styles.values()) + "\n" + body + "\n".join(events) + "\n"
