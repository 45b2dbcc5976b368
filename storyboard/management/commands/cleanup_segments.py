from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from storyboard.services import segments_cleanup


class Command(BaseCommand):
    help = (
        "Remove the files of rejected segment versions older than --days, beyond each shot's last --keep versions. "
        "Approved and current versions are never touched; rows stay as the record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.SEGMENT_CLEANUP_DAYS, help="default %(default)s")
        parser.add_argument("--keep", type=int, default=settings.SEGMENT_KEEP_VERSIONS, help="default %(default)s")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be removed; change nothing.")

    def handle(self, *args: object, days: int, keep: int, dry_run: bool, **options: object) -> None:
        report = segments_cleanup(older_than_days=days, keep_last=keep, dry_run=dry_run)
        self.stdout.write(str(report).capitalize() + ".")
