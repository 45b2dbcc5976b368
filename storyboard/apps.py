from django.apps import AppConfig


class StoryboardConfig(AppConfig):
    name = "storyboard"
    verbose_name = "Storyboard and segment review"

    def ready(self) -> None:
        # Registers the segment job handler, its live fragments and the actors.
        from storyboard import handlers, live_fragments, tasks  # noqa: F401, PLC0415
