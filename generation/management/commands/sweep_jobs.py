from django.core.management.base import BaseCommand

from generation.services import sweep


class Command(BaseCommand):
    help = "Recover jobs: re-enqueue lost ones, poll quiet ones, cancel those past their deadline."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"Sweeper: {sweep()}.")
