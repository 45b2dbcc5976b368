from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.provider_check import providers_check


class Command(BaseCommand):
    help = (
        "Check every registered Replicate model against its stored contract (generation/contracts/). With "
        "REPLICATE_API_TOKEN set, also fetch each model's latest published schema and print what changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--offline", action="store_true", help="only the stored contracts, even with a token")

    def handle(self, *args: object, offline: bool, **options: object) -> None:
        fetch = bool(settings.REPLICATE_API_TOKEN) and not offline
        if not fetch:
            self.stdout.write("No Replicate token (or --offline): checking the registry against the stored contracts.")
        found = providers_check(fetch=fetch)
        failing = 0
        for check in found:
            source = check.contract.sources[0] if check.contract and check.contract.sources else "no stored contract"
            status = "ok" if check.ok else "CHANGED" if check.changes and not check.problems else "PROBLEM"
            self.stdout.write(f"{status:8} {check.capability:8} {check.model_id}  ({source})")
            for line in check.problems + (check.changes or []) + ([check.fetch_error] if check.fetch_error else []):
                self.stdout.write(f"         - {line}")
            failing += not check.ok
        if failing:
            raise CommandError(f"{failing} of {len(found)} models need attention.")
        self.stdout.write(self.style.SUCCESS(f"All {len(found)} Replicate models fit their contracts."))
