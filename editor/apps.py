from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Sound, compile and edit"

    def ready(self) -> None:
        # Registers the audio job handler, the live fragments, the approval receiver and the actors.
        from editor import handlers, live_fragments, services, tasks  # noqa: F401, PLC0415
