from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Sound, compile and edit"

    def ready(self) -> None:
        # Registers the audio job handler, the live fragments, the approval receiver and the actors.
        from django.conf import settings  # noqa: PLC0415

        from editor import handlers, live_fragments, services, tasks  # noqa: F401, PLC0415
        from generation import periodic  # noqa: PLC0415

        periodic.register(
            "requeue_compiles", interval=lambda: settings.SWEEP_INTERVAL_SECONDS, run=services.compiles_requeue_pending
        )
