"""The editor's timeline: its JSON schema, its checks against the project's media, and the edits made to it.

The schema is documented in docs/timeline.md. A timeline is plain JSON (an
EditorProject's revisions store it); `parse` turns it into these models and
refuses anything malformed with a message, `check_media` refuses clips whose
media is unknown or belongs to another project, and every edit below returns
a new timeline dict, so a refused edit changes nothing.
"""

import uuid
from collections.abc import Iterable
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from editor.renderer import TRANSITIONS

SCHEMA_VERSION = 1
Seconds = float


class TimelineError(ValueError):
    """The timeline is not valid; the message says what and where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class Transition(_Model):
    kind: Literal[TRANSITIONS] = "cut"  # type: ignore[valid-type]
    length: Seconds = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _length_fits_kind(self) -> "Transition":
        if self.kind == "cut":
            self.length = 0
        elif not 0.1 <= self.length <= 2.5:
            raise ValueError("a transition lasts 0.1 to 2.5 seconds")
        return self


class VideoClip(_Model):
    """A trimmed range of a segment version; clips play one after another, each entered by its transition."""

    id: str = Field(min_length=1, max_length=40)
    segment: int = Field(ge=1)
    source_duration: Seconds = Field(gt=0)
    start: Seconds = Field(ge=0, alias="in")
    end: Seconds = Field(gt=0, alias="out")
    transition: Transition = Field(default_factory=Transition)
    # The level of the clip's own sound, 0 to 2. None: what its segment's audio role says (full for a silent or
    # lip-synced version, muted for a video model's own soundtrack).
    volume: float | None = Field(default=None, ge=0, le=2)

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _range(self) -> "VideoClip":
        if self.end <= self.start:
            raise ValueError(f"clip {self.id}: its out point must come after its in point")
        if self.end > self.source_duration + 1e-3:
            raise ValueError(
                f"clip {self.id}: its out point is past the end of its video ({self.source_duration:.2f} s)"
            )
        if self.end - self.start < 0.5:
            raise ValueError(f"clip {self.id}: a clip lasts at least 0.5 seconds")
        return self

    @property
    def length(self) -> Seconds:
        return self.end - self.start


class AudioClip(_Model):
    """A range of an audio asset placed at `start` seconds into the timeline."""

    id: str = Field(min_length=1, max_length=40)
    asset: int = Field(ge=1)
    source_duration: Seconds = Field(gt=0)
    start: Seconds = Field(ge=0)
    offset: Seconds = Field(default=0, ge=0, alias="in")
    end: Seconds = Field(gt=0, alias="out")
    volume: float = Field(default=1.0, ge=0, le=2)
    fade_in: Seconds = Field(default=0, ge=0, le=10)
    fade_out: Seconds = Field(default=0, ge=0, le=10)

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    loops: bool = False  # music beds loop to fill their range

    @model_validator(mode="after")
    def _range(self) -> "AudioClip":
        if self.end <= self.offset:
            raise ValueError(f"clip {self.id}: its out point must come after its in point")
        if self.end > self.source_duration + 1e-3 and not self.loops:
            raise ValueError(f"clip {self.id}: its out point is past the end of its audio")
        if self.fade_in + self.fade_out > self.length + 1e-6:
            raise ValueError(f"clip {self.id}: its fades are longer than the clip")
        return self

    @property
    def length(self) -> Seconds:
        return self.end - self.offset


class TextClip(_Model):
    id: str = Field(min_length=1, max_length=40)
    kind: Literal["title", "caption"] = "title"
    text: str = Field(min_length=1, max_length=300)
    start: Seconds = Field(ge=0)
    duration: Seconds = Field(gt=0, le=60)
    position: Literal["top", "center", "bottom"] = "center"
    style: Literal["plain", "bold", "boxed"] = "bold"
    size: Literal["small", "medium", "large"] = "large"

    @field_validator("text")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        # One line of plain text: no control characters, nothing that reads as a cue timing in SRT or VTT.
        value = "".join(" " if ch in "\r\n\t" else ch for ch in value if ch >= " " or ch in "\r\n\t")
        value = " ".join(value.replace("-->", "→").split())
        if not value:
            raise ValueError("a title needs some text")
        return value

    @property
    def end(self) -> Seconds:
        return self.start + self.duration


class Tracks(_Model):
    video: list[VideoClip] = Field(default_factory=list)
    voiceover: list[AudioClip] = Field(default_factory=list)
    music: list[AudioClip] = Field(default_factory=list)
    text: list[TextClip] = Field(default_factory=list)


class Timeline(_Model):
    version: Literal[1] = SCHEMA_VERSION
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    duck_music: bool = True
    tracks: Tracks = Field(default_factory=Tracks)

    @model_validator(mode="after")
    def _consistent(self) -> "Timeline":
        ids = [c.id for track in (self.tracks.video, self.tracks.voiceover, self.tracks.music, self.tracks.text)
               for c in track]  # fmt: skip
        if len(ids) != len(set(ids)):
            raise ValueError("two clips share an id")
        video = self.tracks.video
        if video and video[0].transition.kind != "cut":
            video[0].transition = Transition()
        for before, clip in pairwise(video):
            overlap = clip.transition.length
            if overlap and (overlap > before.length - 0.25 or overlap > clip.length - 0.25):
                raise ValueError(f"clip {clip.id}: its {clip.transition.kind} is longer than a clip it joins")
        for i, clip in enumerate(video):
            around = clip.transition.length + (video[i + 1].transition.length if i + 1 < len(video) else 0)
            if around > clip.length - 0.25:
                raise ValueError(f"clip {clip.id} is too short for the transitions into and out of it")
        for name in ("voiceover", "music", "text"):
            _no_overlaps(name, getattr(self.tracks, name))
        if len(self.tracks.music) > 1:
            raise ValueError("the music track holds one bed")
        return self

    @property
    def duration(self) -> Seconds:
        return video_duration(self.tracks.video)

    def starts(self) -> list[Seconds]:
        """Where each video clip starts in the timeline (a transition overlaps its neighbours)."""
        starts, t = [], 0.0
        for i, clip in enumerate(self.tracks.video):
            if i:
                t -= clip.transition.length
            starts.append(t)
            t += clip.length
        return starts

    def dump(self) -> dict:
        return self.model_dump(by_alias=True)


def video_duration(clips: Iterable[VideoClip]) -> Seconds:
    clips = list(clips)
    return sum(c.length for c in clips) - sum(c.transition.length for c in clips[1:])


def _no_overlaps(name: str, clips: list[AudioClip] | list[TextClip]) -> None:
    spans = sorted((c.start, c.start + c.length if isinstance(c, AudioClip) else c.end, c.id) for c in clips)
    for (_, end, first), (start, _, second) in pairwise(spans):
        if start < end - 1e-6:
            raise ValueError(f"clips {first} and {second} overlap on the {name} track")


def parse(data: object) -> Timeline:
    try:
        return Timeline.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors()[:5]:
            loc = [str(p) for p in item["loc"] if not str(p).startswith("function-")]
            if len(loc) >= 3 and loc[0] == "tracks" and loc[2].isdigit():
                # tracks.video.1.transition.length -> "video clip 2, transition length"
                loc = [f"{loc[1]} clip {int(loc[2]) + 1}", " ".join(loc[3:])]
            where = ", ".join(part for part in loc if part)
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise TimelineError("This timeline is not valid: " + "; ".join(problems) + ".") from None


# Edits ---------------------------------------------------------------------------


def _find(timeline: Timeline, clip_id: str) -> tuple[str, int]:
    for name in ("video", "voiceover", "music", "text"):
        for index, clip in enumerate(getattr(timeline.tracks, name)):
            if clip.id == clip_id:
                return name, index
    raise TimelineError(f"There is no clip {clip_id!r} on this timeline. Reload the editor.")


def move(timeline: Timeline, *, clip_id: str, to: int) -> dict:
    name, index = _find(timeline, clip_id)
    if name != "video":
        raise TimelineError("Only video clips are reordered; audio and text clips move by their start time.")
    clips = list(timeline.tracks.video)
    clip = clips.pop(index)
    clips.insert(max(0, min(to, len(clips))), clip)
    return _with_video(timeline, clips)


def trim(timeline: Timeline, *, clip_id: str, start: float, end: float) -> dict:
    name, index = _find(timeline, clip_id)
    if name != "video":
        raise TimelineError("Trim video clips here; audio clips have their own in and out points.")
    if start < 0 or end < 0:
        raise TimelineError("In and out points cannot be negative.")
    clips = list(timeline.tracks.video)
    clips[index] = clips[index].model_copy(update={"start": start, "end": end})
    return _with_video(timeline, clips)


def split(timeline: Timeline, *, clip_id: str, at: float) -> dict:
    """Cut a video clip in two at `at` seconds into the clip (its own time, from its in point)."""
    name, index = _find(timeline, clip_id)
    if name != "video":
        raise TimelineError("Only video clips can be split.")
    clips = list(timeline.tracks.video)
    clip = clips[index]
    point = clip.start + at
    if not clip.start + 0.5 <= point <= clip.end - 0.5:
        raise TimelineError("Split at least half a second from either end of the clip.")
    first = clip.model_copy(update={"end": point})
    second = clip.model_copy(update={"id": new_id("c"), "start": point, "transition": Transition()})
    clips[index : index + 1] = [first, second]
    return _with_video(timeline, clips)


def remove(timeline: Timeline, *, clip_id: str) -> dict:
    name, index = _find(timeline, clip_id)
    track = list(getattr(timeline.tracks, name))
    track.pop(index)
    if name == "video":
        if not track:
            raise TimelineError("A timeline keeps at least one video clip.")
        return _with_video(timeline, track)
    return _with(timeline, name, track)


def swap(timeline: Timeline, *, clip_id: str, segment: int, source_duration: float) -> dict:
    """Use another version of the clip's segment, keeping the trim where it still fits."""
    name, index = _find(timeline, clip_id)
    if name != "video":
        raise TimelineError("Only video clips have other versions.")
    clips = list(timeline.tracks.video)
    clip = clips[index]
    end = min(clip.end, source_duration)
    start = min(clip.start, max(end - 0.5, 0))
    clips[index] = clip.model_copy(update={"segment": segment, "source_duration": source_duration, "start": start,
                                           "end": end})  # fmt: skip
    return _with_video(timeline, clips)


def set_transition(timeline: Timeline, *, clip_id: str, kind: str, length: float) -> dict:
    name, index = _find(timeline, clip_id)
    if name != "video" or index == 0:
        raise TimelineError("A transition goes between two video clips: into the second of them.")
    clips = [c.model_dump(by_alias=True) for c in timeline.tracks.video]
    clips[index]["transition"] = {"kind": kind, "length": length}
    return _replace(timeline, "video", clips)


def set_audio(timeline: Timeline, *, clip_id: str, **changes: float) -> dict:
    name, index = _find(timeline, clip_id)
    if name == "video":
        # A video clip's own sound has a level (a model's soundtrack kept or muted), nothing else.
        if set(k for k, v in changes.items() if v is not None) - {"volume"}:
            raise TimelineError("A video clip's sound has a volume only; fades and starts belong to audio clips.")
        clips = [c.model_dump(by_alias=True) for c in timeline.tracks.video]
        clips[index]["volume"] = changes.get("volume")
        return _replace(timeline, "video", clips)
    if name not in ("voiceover", "music"):
        raise TimelineError("Volume and fades belong to audio clips.")
    clips = [c.model_dump(by_alias=True) for c in getattr(timeline.tracks, name)]
    clips[index].update({k: v for k, v in changes.items() if v is not None})
    return _replace(timeline, name, clips)


def set_text(timeline: Timeline, *, clip_id: str | None, **fields: object) -> dict:
    """Add a text clip (clip_id None) or change one."""
    clips = [c.model_dump() for c in timeline.tracks.text]
    if clip_id is None:
        clips.append({"id": new_id("t"), **fields})
    else:
        name, index = _find(timeline, clip_id)
        if name != "text":
            raise TimelineError("That is not a text clip.")
        clips[index].update(fields)
    return _replace(timeline, "text", clips)


def set_duck(timeline: Timeline, *, on: bool) -> dict:
    data = timeline.dump()
    data["duck_music"] = on
    return data


def _with_video(timeline: Timeline, clips: list[VideoClip]) -> dict:
    dumped = [c.model_dump(by_alias=True) for c in clips]
    if dumped:
        dumped[0]["transition"] = {"kind": "cut", "length": 0}
    return _replace(timeline, "video", dumped)


def _with(timeline: Timeline, name: str, clips: list) -> dict:
    return _replace(timeline, name, [c.model_dump(by_alias=True) for c in clips])


def _replace(timeline: Timeline, name: str, clips: list[dict]) -> dict:
    data = timeline.dump()
    data["tracks"][name] = clips
    return data
