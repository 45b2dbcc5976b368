from django.apps import AppConfig
from django.conf import settings


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation engine"

    def ready(self) -> None:
        from generation import handlers, orphans, periodic, services, tasks  # noqa: F401, PLC0415

        periodic.register("sweep_jobs", interval=lambda: settings.SWEEP_INTERVAL_SECONDS, run=services.sweep)
        # Hourly is plenty: an orphan costs storage, not correctness, and each run lists the media folders.
        periodic.register("orphan_files", interval=lambda: 60 * 60, run=orphans.sweep_orphan_files)
