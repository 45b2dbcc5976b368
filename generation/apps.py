from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation engine"

    def ready(self) -> None:
        from generation import handlers, tasks  # noqa: F401, PLC0415
