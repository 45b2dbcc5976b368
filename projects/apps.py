from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects and teams"

    def ready(self) -> None:
        # Declares the actors so services can enqueue them.
        from projects import live_fragments, plan_handlers, tasks  # noqa: F401, PLC0415
