from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from editor import services
from editor.models import (
    AudioAsset,
    CompileJob,
    EditorProject,
    FinalVideo,
    MusicPart,
    SoundSettings,
    TimelineRevision,
    VoiceSample,
)


@admin.register(SoundSettings)
class SoundSettingsAdmin(admin.ModelAdmin):
    list_display = ["project", "voices", "music_mood", "music_volume", "duck_music", "updated_at"]
    raw_id_fields = ["project"]


@admin.register(VoiceSample)
class VoiceSampleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "ai_model", "voice", "status", "duration", "created_at"]
    list_filter = ["status", "ai_model"]
    search_fields = ["voice", "error"]
    raw_id_fields = ["job"]


@admin.register(MusicPart)
class MusicPartAdmin(admin.ModelAdmin):
    list_display = ["__str__", "bed", "index", "requested_duration", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["error"]
    raw_id_fields = ["bed", "job"]


@admin.register(AudioAsset)
class AudioAssetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "kind", "source", "version", "is_current", "status", "duration", "created_at"]
    list_filter = ["kind", "source", "status", "is_current"]
    search_fields = ["project__title", "text", "prompt", "original_name", "error"]
    list_select_related = ["project"]
    raw_id_fields = ["project", "scene", "job", "created_by"]
    readonly_fields = ["metadata", "created_at", "updated_at"]


@admin.register(CompileJob)
class CompileJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "status", "render_path", "aspect_ratio", "captions", "progress",
                    "created_at", "completed_at"]  # fmt: skip
    list_filter = ["status", "render_path", "aspect_ratio", "captions"]
    search_fields = ["project__title", "error"]
    list_select_related = ["project"]
    raw_id_fields = ["project", "created_by"]
    readonly_fields = ["segment_ids", "transitions", "audio_config", "report", "created_at", "started_at",
                       "completed_at"]  # fmt: skip
    actions = ["cancel"]

    @admin.action(description="Cancel the selected queued or running compiles")
    def cancel(self, request: HttpRequest, queryset: QuerySet[CompileJob]) -> None:
        done = 0
        for job in queryset.filter(status__in=["pending", "running"]):
            try:
                services.compile_cancel(job=job)
                done += 1
            except ValidationError as error:
                self.message_user(request, f"{job}: {' '.join(error.messages)}", messages.WARNING)
        self.message_user(request, f"Asked {done} compile(s) to stop.")


@admin.register(FinalVideo)
class FinalVideoAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "duration", "clip_count", "total_cost", "aspect_ratio", "file_size",
                    "created_at", "app_link"]  # fmt: skip
    list_filter = ["aspect_ratio"]
    search_fields = ["title", "project__title"]
    list_select_related = ["project"]
    raw_id_fields = ["project", "compile_job", "created_by"]
    readonly_fields = ["loudness", "created_at"]

    @admin.display(description="App")
    def app_link(self, obj: FinalVideo) -> str:
        return format_html('<a href="{}" target="_blank" rel="noopener">Open</a>', obj.get_absolute_url())


class TimelineRevisionInline(admin.TabularInline):
    model = TimelineRevision
    fk_name = "editor"
    extra = 0
    can_delete = False
    fields = ["number", "note", "created_by", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EditorProject)
class EditorProjectAdmin(admin.ModelAdmin):
    list_display = ["project", "current", "updated_at"]
    search_fields = ["project__title"]
    raw_id_fields = ["project", "current"]
    inlines = [TimelineRevisionInline]


@admin.register(TimelineRevision)
class TimelineRevisionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "editor", "number", "note", "created_by", "created_at"]
    search_fields = ["note", "editor__project__title"]
    raw_id_fields = ["editor", "parent", "created_by"]
    readonly_fields = ["timeline", "created_at"]
