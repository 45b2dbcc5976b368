from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from storyboard import services
from storyboard.models import ReviewSettings, SegmentReview, ShotAnimation, VideoSegment


class SegmentReviewInline(admin.TabularInline):
    model = SegmentReview
    extra = 0
    can_delete = False
    readonly_fields = ["action", "user", "rating", "feedback", "suggested_changes", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(VideoSegment)
class VideoSegmentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "version", "is_current", "status", "approval_status", "quality_score",
                    "consistency_score", "created_at", "app_link"]  # fmt: skip
    list_filter = ["status", "approval_status", "is_current"]
    search_fields = ["project__title", "rejection_reason", "user_notes"]
    list_select_related = ["project", "shot"]
    raw_id_fields = ["project", "scene", "shot", "parent", "source_image", "job", "created_by"]
    readonly_fields = ["scores", "generation_params", "files_removed_at", "created_at", "updated_at"]
    inlines = [SegmentReviewInline]
    actions = ["retry_failed"]

    @admin.display(description="App")
    def app_link(self, obj: VideoSegment) -> str:
        return format_html('<a href="{}" target="_blank" rel="noopener">Review</a>', obj.get_review_url())

    @admin.action(description="Retry the selected failed current segments")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[VideoSegment]) -> None:
        done = 0
        for segment in queryset.filter(status="failed", is_current=True):
            try:
                services.segment_retry(segment=segment, user=request.user)
                done += 1
            except Exception as error:
                self.message_user(request, f"{segment}: {error}", messages.ERROR)
        self.message_user(request, f"Retried {done} segment(s).")


@admin.register(ReviewSettings)
class ReviewSettingsAdmin(admin.ModelAdmin):
    list_display = ["project", "mode", "batch_size", "auto_approve", "updated_at"]
    raw_id_fields = ["project"]


@admin.register(ShotAnimation)
class ShotAnimationAdmin(admin.ModelAdmin):
    list_display = ["shot", "ai_model", "duration", "seed", "updated_at"]
    raw_id_fields = ["shot"]
