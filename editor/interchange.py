"""The timeline for other editors: OpenTimelineIO, FCP XML and a CMX 3600 EDL, with the media, in a zip.

Our transitions overlap both clips by their length; an OTIO transition sits
on a cut and reaches into both neighbours. So each cut is placed in the middle
of our overlap: the outgoing clip ends, and the incoming one starts, half a
transition early or late, and the transition's in and out offsets are half
its length each. Reading that back (`ranges_of`) gives our in and out points.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from editor.timeline import Timeline

OTIO_TRANSITIONS = {
    "dissolve": otio.schema.TransitionTypes.SMPTE_Dissolve,
    "fade": otio.schema.TransitionTypes.SMPTE_Dissolve,
    "wipe": otio.schema.TransitionTypes.Custom,
    "slide": otio.schema.TransitionTypes.Custom,
}


@dataclass(frozen=True)
class Media:
    name: str  # the file's name inside the zip's media/ folder
    path: Path  # where it is now


def _time(seconds: float, fps: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(round(seconds * fps), fps)


def _range(start: float, length: float, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, fps), _time(length, fps))


def build(timeline: Timeline, *, name: str, media: dict[str, Media], fps: int = 30) -> otio.schema.Timeline:
    """The OTIO timeline: a video track, the audio tracks and the text as markers. media maps "segment:ID" etc."""
    result = otio.schema.Timeline(name=name, global_start_time=_time(0, fps))
    video = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    clips = timeline.tracks.video
    for i, clip in enumerate(clips):
        head = clip.transition.length / 2 if i else 0
        tail = clips[i + 1].transition.length / 2 if i + 1 < len(clips) else 0
        if head:
            video.append(
                otio.schema.Transition(
                    name=clip.transition.kind,
                    transition_type=OTIO_TRANSITIONS[clip.transition.kind],
                    in_offset=_time(head, fps),
                    out_offset=_time(head, fps),
                    metadata={"videopipe": {"kind": clip.transition.kind, "length": clip.transition.length}},
                )
            )
        item = media[f"segment:{clip.segment}"]
        video.append(
            otio.schema.Clip(
                name=f"{clip.id} {item.name}",
                media_reference=otio.schema.ExternalReference(
                    target_url=f"media/{item.name}", available_range=_range(0, clip.source_duration, fps)
                ),
                source_range=_range(clip.start + head, clip.length - head - tail, fps),
                metadata={"videopipe": {"id": clip.id, "segment": clip.segment, "in": clip.start, "out": clip.end}},
            )
        )
    result.tracks.append(video)
    for label, track in (("Voiceover", timeline.tracks.voiceover), ("Music", timeline.tracks.music)):
        audio = otio.schema.Track(name=label, kind=otio.schema.TrackKind.Audio)
        at = 0.0
        for clip in sorted(track, key=lambda c: c.start):
            if clip.start > at + 1e-3:
                audio.append(otio.schema.Gap(source_range=_range(0, clip.start - at, fps)))
            item = media[f"audio:{clip.asset}"]
            audio.append(
                otio.schema.Clip(
                    name=item.name,
                    media_reference=otio.schema.ExternalReference(target_url=f"media/{item.name}"),
                    source_range=_range(clip.offset, clip.length, fps),
                    metadata={
                        "videopipe": {
                            "volume": clip.volume,
                            "fade_in": clip.fade_in,
                            "fade_out": clip.fade_out,
                            "loops": clip.loops,
                        }
                    },
                )
            )
            at = clip.start + clip.length
        result.tracks.append(audio)
    for text in timeline.tracks.text:
        video.markers.append(
            otio.schema.Marker(
                name=text.text,
                marked_range=_range(text.start, text.duration, fps),
                metadata={"videopipe": text.model_dump()},
            )
        )
    return result


def ranges_of(track: otio.schema.Track) -> list[tuple[str, float, float]]:
    """(media file, in, out) of each video clip, in our terms: transitions reach back into both neighbours."""
    items = list(track)
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Clip):
            continue
        before = items[i - 1] if i and isinstance(items[i - 1], otio.schema.Transition) else None
        after = items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Transition) else None
        source = item.source_range
        start = source.start_time.to_seconds() - (before.out_offset.to_seconds() if before else 0)
        end = source.end_time_exclusive().to_seconds() + (after.in_offset.to_seconds() if after else 0)
        found.append((Path(item.media_reference.target_url).name, round(start, 3), round(end, 3)))
    return found


def write_zip(result: otio.schema.Timeline, media: dict[str, Media], out: Path, *, stem: str) -> Path:
    """timeline.otio, .xml (Final Cut Pro 7 XML, read by Premiere and Resolve), .edl, and media/."""
    work = out.parent
    files = {
        f"{stem}.otio": lambda path: otio.adapters.write_to_file(result, str(path)),
        f"{stem}.xml": lambda path: otio.adapters.write_to_file(result, str(path), adapter_name="fcp_xml"),
        f"{stem}.edl": lambda path: otio.adapters.write_to_file(
            _edl_timeline(result), str(path), adapter_name="cmx_3600"
        ),
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, write in files.items():
            path = work / name
            write(path)
            archive.write(path, name)
        for item in {m.name: m for m in media.values()}.values():
            archive.write(item.path, f"media/{item.name}", compress_type=zipfile.ZIP_STORED)
        archive.writestr("README.txt", README.format(stem=stem))
    return out


def _edl_timeline(result: otio.schema.Timeline) -> otio.schema.Timeline:
    """An EDL holds one video track, and only dissolves among transitions (wipes and slides become dissolves)."""
    copy = result.deepcopy()
    copy.tracks[:] = [copy.video_tracks()[0]]
    for item in copy.tracks[0]:
        if isinstance(item, otio.schema.Transition):
            item.transition_type = otio.schema.TransitionTypes.SMPTE_Dissolve
    return copy


README = """{stem}: a Videopipe timeline for other editors.

{stem}.otio  OpenTimelineIO: every track, transitions, and titles as markers.
{stem}.xml   Final Cut Pro 7 XML: import in Premiere Pro, DaVinci Resolve or Final Cut Pro (via XtoCC).
{stem}.edl   CMX 3600 EDL of the picture: dissolves only; wipes and slides come in as dissolves.
media/       the files the timeline uses; keep them beside the timeline files so links resolve.
"""
