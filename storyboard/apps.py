from django.apps import AppConfig
from django.conf import settings


class StoryboardConfig(AppConfig):
    name = "storyboard"
    verbose_name = "Storyboard and segment review"

    def ready(self) -> None:
        # Registers the segment job handler, its live fragments, the actors and the daily storage policy.
        from generation import periodic  # noqa: PLC0415
        from storyboard import handlers, live_fragments, services, tasks  # noqa: F401, PLC0415

        periodic.register(
            "cleanup_segments", interval=lambda: tasks.CLEANUP_INTERVAL_SECONDS, run=services.segments_cleanup
        )
        periodic.register(
            "redispatch_segments",
            interval=lambda: settings.SWEEP_INTERVAL_SECONDS,
            run=services.segments_redispatch_waiting,
        )
