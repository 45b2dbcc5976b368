"""Interchange: the timeline as OTIO, FCP XML and EDL with its media, read back with opentimelineio."""

import contextlib
import zipfile

import opentimelineio as otio
import pytest

from editor import interchange, services
from editor import timeline as tl

pytestmark = pytest.mark.django_db


def test_it_exports_a_timeline_that_reads_back_the_same(project, owner, segments, tmp_path):
    editor = services.editor_open(project=project, user=owner)
    clips = tl.parse(editor.current.timeline).tracks.video
    services.timeline_edit(
        editor=editor,
        user=owner,
        base=None,
        note="trim",
        change=lambda t: tl.trim(t, clip_id=clips[1].id, start=0.3, end=1.8),
    )
    services.timeline_edit(
        editor=editor, user=owner, base=None, note="move", change=lambda t: tl.move(t, clip_id=clips[2].id, to=0)
    )
    services.timeline_edit(
        editor=editor,
        user=owner,
        base=None,
        note="title",
        change=lambda t: tl.set_text(t, clip_id=None, text="Tokyo", start=0, duration=1.5),
    )
    editor.refresh_from_db()
    ours = tl.parse(editor.current.timeline)
    with contextlib.ExitStack() as stack:
        path = services.timeline_interchange(editor=editor, workdir=tmp_path, stack=stack)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "out")
    stem = path.stem
    assert {f"{stem}.otio", f"{stem}.xml", f"{stem}.edl", "README.txt"} <= names
    assert sum(1 for n in names if n.startswith("media/")) == 3

    read = otio.adapters.read_from_file(str(tmp_path / "out" / f"{stem}.otio"))
    track = read.video_tracks()[0]
    expected = [
        (f"scene{s.scene.scene_number}-shot1-v1.mp4", c.start, c.end)
        for c in ours.tracks.video
        for s in segments
        if s.pk == c.segment
    ]
    assert interchange.ranges_of(track) == [
        (n, pytest.approx(a, abs=0.04), pytest.approx(b, abs=0.04)) for n, a, b in expected
    ]
    assert track.duration().to_seconds() == pytest.approx(ours.duration, abs=0.04)
    assert [m.name for m in track.markers] == ["Tokyo"]
    for item in interchange.ranges_of(track):
        assert (tmp_path / "out" / "media" / item[0]).exists()

    xml = otio.adapters.read_from_file(str(tmp_path / "out" / f"{stem}.xml"), adapter_name="fcp_xml")
    assert len([c for c in xml.video_tracks()[0] if isinstance(c, otio.schema.Clip)]) == 3
    edl = (tmp_path / "out" / f"{stem}.edl").read_text()
    assert edl.startswith("TITLE: Tokyo Dreams") and "\n003  " in edl and " D " in edl, edl
