"""How each segment's own sound joins a mix, by its audio role.

A lip-synced shot's sound IS its scene's voice (the lipsync call was made with
that voiceover), so the scene's voiceover is not laid again: that would play
the voice twice, out of step. The voiceover is left out for the whole scene,
not cut around the shot: the narration would otherwise restart mid-scene when
the lip-synced shot begins. A video model's own soundtrack (Wan 2.5) is muted
unless the user keeps it. Silent segments mix as they always did.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from editor import renderer
from storyboard.models import AudioRole, VideoSegment


def segment_volume(segment: VideoSegment, *, keep_own_sound: bool) -> float:
    return 0.0 if segment.audio_role == AudioRole.OWN_SOUND and not keep_own_sound else 1.0


def clip_volume(volume: float | None, segment: VideoSegment) -> float:
    """A timeline clip's level: its own if set, else what its role says (a model's soundtrack starts muted)."""
    return segment_volume(segment, keep_own_sound=False) if volume is None else volume


def initial_clip_volume(segment: VideoSegment, *, keep_own_sound: bool) -> float | None:
    """A new timeline clip's level: None lets the role decide; a kept soundtrack is set to full."""
    return 1.0 if keep_own_sound and segment.audio_role == AudioRole.OWN_SOUND else None


def voiced_scenes(segments: Sequence[VideoSegment]) -> set[int]:
    """Scenes whose voice a lip-synced shot in the cut already carries: their voiceover is not laid again."""
    return {s.scene_id for s in segments if s.audio_role == AudioRole.LIPSYNC}


def apply(mix: renderer.Mix, levels: Sequence[float], segments: Sequence[VideoSegment]) -> renderer.Mix:
    """Set each segment's level on the mix; lip-synced shots duck the music as a voiceover does."""
    mix.segment_volumes = list(levels)
    mix.voiced = [i for i, s in enumerate(segments) if s.audio_role == AudioRole.LIPSYNC]
    return mix


def lipsync_spans(
    segments: Sequence[VideoSegment | None], starts: Sequence[float], lengths: Sequence[float]
) -> list[tuple[float, float]]:
    """Where the lip-synced shots play in the cut, as (start, end) seconds (None: a clip that does not count)."""
    return sorted(
        (start, start + length)
        for segment, start, length in zip(segments, starts, lengths, strict=True)
        if segment is not None and segment.audio_role == AudioRole.LIPSYNC
    )


def place_voice(start: float, length: float, spans: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Where a voiceover plays clear of the lip-synced shots, as (start, length), or None if no room is left.

    Another scene's voice waits for a lip-synced shot playing when it would start, and ends where the next begins.
    """
    for span_start, span_end in spans:
        if span_start - 1e-3 <= start < span_end - 1e-3:
            start = span_end
    end = start + length
    for span_start, _ in spans:
        if start < span_start < end:
            end = span_start
    return (start, end - start) if end - start >= 0.25 else None


def voice_pieces(
    start: float, offset: float, length: float, spans: Sequence[tuple[float, float]]
) -> list[tuple[float, float, float]]:
    """A voice clip as it plays in an edited timeline: silent wherever a lip-synced clip carries the voice.

    The editor keeps the user's timing (the voice is not moved, as a compile would): the parts that would
    play over a lip-synced clip are left out, as (start, offset, length) pieces in the voice's own time.
    """
    pieces = [(start, start + length)]
    for span_start, span_end in spans:
        cut = []
        for a, b in pieces:
            if span_end <= a or span_start >= b:
                cut.append((a, b))
                continue
            cut += [(a, span_start)] if span_start > a else []
            cut += [(span_end, b)] if span_end < b else []
        pieces = cut
    return [(a, offset + (a - start), b - a) for a, b in pieces if b - a >= 0.05]


@dataclass(frozen=True)
class CompileSound:
    """What the compile page says about the segments' own sound before anything is rendered."""

    own_sound: list[VideoSegment]
    lipsynced: list[VideoSegment]

    @property
    def voiced_scene_numbers(self) -> list[int]:
        return sorted({s.scene.scene_number for s in self.lipsynced})


def compile_sound(segments: Sequence[VideoSegment]) -> CompileSound:
    return CompileSound(
        own_sound=[s for s in segments if s.audio_role == AudioRole.OWN_SOUND],
        lipsynced=[s for s in segments if s.audio_role == AudioRole.LIPSYNC],
    )
