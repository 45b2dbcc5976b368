from django.apps import AppConfig
from django.conf import settings


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation engine"

    def ready(self) -> None:
        from generation import handlers, periodic, services, tasks  # noqa: F401, PLC0415

        periodic.register("sweep_jobs", interval=lambda: settings.SWEEP_INTERVAL_SECONDS, run=services.sweep)
