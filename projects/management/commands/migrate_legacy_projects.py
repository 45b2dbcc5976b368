from django.core.management.base import BaseCommand, CommandParser

from projects import legacy


class Command(BaseCommand):
    help = (
        "Convert Quick-mode (v1) projects to the Director (v2) hierarchy: each scene a scene with one shot, its image "
        "the shot's master, its clip an approved segment. Safe to run again; --dry-run changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be converted; write nothing.")

    def handle(self, *args: object, dry_run: bool, **options: object) -> None:
        projects = legacy.legacy_projects()
        if not projects:
            self.stdout.write("No Quick-mode (v1) projects to convert.")
            return
        reports = [legacy.plan(p) if dry_run else legacy.project_convert(project=p) for p in projects]
        for report in reports:
            self.stdout.write(report.describe(dry_run=dry_run))
        converted = sum(1 for r in reports if not r.busy)
        done = "would be converted (dry run: nothing was changed)" if dry_run else "converted"
        self.stdout.write(self.style.SUCCESS(f"{converted} project(s) {done}."))
        if converted < len(reports):
            self.stdout.write(
                self.style.WARNING(f"{len(reports) - converted} project(s) still generating: left for later.")
            )
