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
        for project in projects:
            report = legacy.plan(project) if dry_run else legacy.project_convert(project=project)
            self.stdout.write(report.describe(dry_run=dry_run))
        done = "would be converted (dry run: nothing was changed)" if dry_run else "converted"
        self.stdout.write(self.style.SUCCESS(f"{len(projects)} project(s) {done}."))
