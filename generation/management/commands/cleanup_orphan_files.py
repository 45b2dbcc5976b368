from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.orphans import files_sweep_orphans


class Command(BaseCommand):
    help = (
        "Delete stored media files that no row refers to (left by a crash between writing a file and committing "
        "its row), once older than --older-than-minutes. Only the directories model file fields upload into are "
        "looked at."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=settings.ORPHAN_FILE_GRACE_MINUTES,
            help="grace period; a younger file may belong to a write about to be committed (default %(default)s)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would be deleted; delete nothing.")

    def handle(self, *args: object, older_than_minutes: int, dry_run: bool, **options: object) -> None:
        if older_than_minutes < 0:
            raise CommandError("--older-than-minutes cannot be negative.")
        report = files_sweep_orphans(older_than=timedelta(minutes=older_than_minutes), dry_run=dry_run)
        self.stdout.write(f"Orphan files: {report}.")
