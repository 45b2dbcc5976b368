from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from generation import periodic
from generation.services import sweep


class Command(BaseCommand):
    help = (
        "Recover jobs: re-enqueue lost ones, poll quiet ones, cancel those past their deadline. "
        "With --loop, run every periodic task (the sweep included) as a process of its own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running the periodic tasks until stopped")

    def handle(self, *args: object, loop: bool = False, **options: object) -> None:
        if not loop:
            self.stdout.write(f"Sweeper: {sweep()}.")
            return
        self.stdout.write(f"Running {', '.join(periodic.registered())} every {settings.PERIODIC_TICK_SECONDS} s.")
        try:
            periodic.Ticker(every=settings.PERIODIC_TICK_SECONDS).run_forever()
        except KeyboardInterrupt:
            pass
