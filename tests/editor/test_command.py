import av
import pytest
from django.core.management import CommandError, call_command

from editor.models import FinalVideo

pytestmark = pytest.mark.django_db


def test_it_compiles_from_the_command_line(project, segments, tmp_path, capsys):
    out = tmp_path / "film.mp4"
    call_command("compile_video", str(project.pk), "--out", str(out), "--transition", "cut", "--aspect", "1:1")
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 1080
        assert container.streams.video[0].codec_context.height == 1080
        assert container.duration / av.time_base == pytest.approx(6.0, abs=0.1)
    assert out.with_suffix(".srt").read_text().startswith("1\n")
    printed = capsys.readouterr().out
    assert "100%" in printed and f"Wrote {out}" in printed
    assert FinalVideo.objects.get().project == project, "kept as a final video of the project too"


def test_it_says_why_it_cannot_compile(project, tmp_path):
    with pytest.raises(CommandError, match="Choose at least one approved segment"):
        call_command("compile_video", str(project.pk), "--out", str(tmp_path / "x.mp4"))
    with pytest.raises(CommandError, match="There is no project 999"):
        call_command("compile_video", "999", "--out", str(tmp_path / "x.mp4"))
