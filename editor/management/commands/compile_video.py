import shutil
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from editor import selectors, services
from editor.models import Captions, CompileJob, CompileStatus
from editor.renderer import PRESETS, TRANSITIONS
from projects.models import VideoProject


class Command(BaseCommand):
    help = (
        "Compile a project's approved segments (storyboard order) into an MP4 with the same renderer as the app, "
        "in this process. The result is also kept as a final video of the project."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--out", type=Path, required=True, help="where to write the MP4 (captions go beside it)")
        parser.add_argument("--aspect", choices=list(PRESETS), help="default: the project's")
        parser.add_argument("--transition", choices=TRANSITIONS, default="dissolve")
        parser.add_argument("--length", type=float, default=0.5, help="transition length in seconds")
        parser.add_argument("--captions", choices=Captions.values, default=Captions.SOFT)
        parser.add_argument("--lufs", type=float, choices=[-14.0, -23.0], default=-14.0)
        parser.add_argument("--no-music", action="store_true")
        parser.add_argument("--no-voice", action="store_true")

    def handle(self, *args: object, project_id: int, out: Path, **options: object) -> None:
        project = VideoProject.objects.select_related("created_by").filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"There is no project {project_id}.")
        segments = selectors.approved_segments(project=project)
        join = {"kind": options["transition"], "length": options["length"]}
        try:
            job = services.compile_request(
                project=project,
                user=project.created_by,
                segment_ids=[s.pk for s in segments],
                transitions=[join] * max(len(segments) - 1, 0),
                aspect_ratio=options["aspect"] or project.aspect_ratio,
                captions_mode=options["captions"],
                target_lufs=options["lufs"],
                voice=not options["no_voice"],
                music=not options["no_music"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Compiling {len(segments)} segments ({job.render_path} path)…")
        job = services.compile_run(job_id=job.pk, on_change=self._progress)
        self.stdout.write("")
        if job is None or job.status != CompileStatus.SUCCEEDED:
            raise CommandError(job.error if job else "The compile was taken by another worker.")
        self._write(job, out)

    def _progress(self, job: CompileJob) -> None:
        job = CompileJob.objects.get(pk=job.pk)
        filled = round(job.progress * 30)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {job.percent:3d}% {job.stage[:60]:60}", ending="")
        self.stdout.flush()

    def _write(self, job: CompileJob, out: Path) -> None:
        final = job.final_video
        out.parent.mkdir(parents=True, exist_ok=True)
        for field, path in (
            (final.video, out),
            (final.captions_srt, out.with_suffix(".srt")),
            (final.captions_vtt, out.with_suffix(".vtt")),
        ):
            if field:
                with field.open("rb") as src, path.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
        self.stdout.write(self.style.SUCCESS(f"Wrote {out} ({final.duration:.2f} s, {final.file_size:,} bytes)."))
