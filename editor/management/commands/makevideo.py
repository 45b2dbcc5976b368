import json
import shutil
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from editor import pipeline
from editor.renderer import PRESETS
from generation.models import Capability
from projects.models import Membership


class Command(BaseCommand):
    help = (
        "Make a video from a prompt with the whole pipeline, headless and auto-approved: plan, images, animation, "
        "voiceovers and music, compile. Writes the MP4 and a JSON report beside it (film.json for film.mp4); the "
        "project stays in the app."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prompt")
        parser.add_argument("--out", type=Path, required=True, help="the MP4 to write")
        parser.add_argument("--aspect", choices=list(PRESETS), default="16:9")
        parser.add_argument("--scenes", type=int, default=3, help="how many scenes (1-12, default 3)")
        parser.add_argument("--duration", type=int, default=30, help="target length in seconds (5-600, default 30)")
        parser.add_argument(
            "--provider",
            choices=["offline", "api"],
            default="offline",
            help="offline (default) makes everything here; api uses Replicate and OpenAI when their keys are set",
        )
        parser.add_argument("--user", help="whose project it is (default: the demo account)")
        parser.add_argument("--team", help="which of the user's teams pays (default: their first team)")
        parser.add_argument(
            "--budget", help="stop before a stage would take the project's spend past this many dollars"
        )

    def handle(self, *args: object, prompt: str, out: Path, **options: object) -> None:
        if not prompt.strip():
            raise CommandError('Give a prompt, e.g. makevideo "A cinematic journey through Tokyo" --out tokyo.mp4')
        if not 1 <= options["scenes"] <= 12 or not 5 <= options["duration"] <= 600:
            raise CommandError("--scenes is 1 to 12 and --duration 5 to 600 seconds.")
        budget = self._budget(options["budget"])
        membership = self._membership(options["user"], options["team"])
        if options["provider"] == "offline":
            settings.PROVIDERS = dict.fromkeys(Capability.values, "offline")
        run = pipeline.Options(
            prompt=prompt.strip(),
            aspect_ratio=options["aspect"],
            scenes=options["scenes"],
            duration=options["duration"],
            budget=budget,
        )
        self._stage = ""
        try:
            project, final = pipeline.make_video(
                team=membership.team, user=membership.user, options=run, progress=self._progress
            )
        except pipeline.PipelineError as error:
            self.stdout.write("")
            raise CommandError(str(error)) from None
        self.stdout.write("")
        out.parent.mkdir(parents=True, exist_ok=True)
        with final.video.open("rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        data = pipeline.report(project=project, final=final, options=run)
        out.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {out} ({final.duration:.1f} s, {final.clip_count} segments, ${data['total_cost']}) and "
                f"{out.with_suffix('.json')}. The project is #{project.pk} “{project.title}” in the app."
            )
        )

    def _budget(self, raw: str | None) -> Decimal | None:
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise CommandError(f"--budget must be a number of dollars, not {raw!r}.") from None
        if value < 0:
            raise CommandError("--budget cannot be negative.")
        return value

    def _membership(self, username: str | None, team: str | None) -> Membership:
        name = username or settings.DEMO_USERNAME
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(
                f"There is no user {name!r}. Run `make run` once (it creates the demo account) or pass --user."
            )
        memberships = Membership.objects.select_related("team", "user").filter(user=user).order_by("pk")
        if team:
            memberships = (
                memberships.filter(team__name=team) if not team.isdigit() else memberships.filter(team_id=team)
            )
        membership = memberships.first()
        if membership is None:
            raise CommandError(f"{name} is not in a team{f' called {team!r}' if team else ''}.")
        return membership

    def _progress(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            if self._stage:
                self.stdout.write("")
            self._stage = stage
        filled = round(24 * done / max(total, 1))
        self.stdout.write(f"\r{stage:8} [{'#' * filled}{'.' * (24 - filled)}] {done}/{total}", ending="")
        sys.stdout.flush()
