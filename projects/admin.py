from decimal import Decimal

from django.contrib import admin
from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from projects.models import (
    AuthAttempt,
    ClarifyingQuestion,
    Membership,
    ProjectScene,
    Scene,
    SceneShot,
    ShotImage,
    StoryboardSelection,
    StoryElement,
    Team,
    VideoClip,
    VideoProject,
)

admin.site.site_header = "Videopipe operations"
admin.site.site_title = "Videopipe operations"
admin.site.index_title = "Operations console"


def _app_link(url: str, label: str = "Open in app") -> str:
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


def _spend(**filters: object) -> Coalesce:
    from generation.models import Job  # noqa: PLC0415
    from generation.services import COST  # noqa: PLC0415

    total = Job.objects.filter(**filters).order_by().values(next(iter(filters))).annotate(s=Sum(COST)).values("s")
    return Coalesce(Subquery(total), Value(Decimal("0")), output_field=DecimalField(max_digits=12, decimal_places=2))


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "monthly_budget", "spend_this_month", "member_count", "created_at"]
    search_fields = ["name", "members__username", "members__email"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        from generation.services import month_start  # noqa: PLC0415

        return (
            super()
            .get_queryset(request)
            .annotate(
                month_spend=_spend(team=OuterRef("pk"), created_at__gte=month_start()),
                members_count=Count("memberships", distinct=True),
            )
        )

    @admin.display(description="spent this month", ordering="month_spend")
    def spend_this_month(self, team: Team) -> str:
        return f"${team.month_spend:.2f}"

    @admin.display(description="members", ordering="members_count")
    def member_count(self, team: Team) -> int:
        return team.members_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "team"]


class StoryElementInline(admin.TabularInline):
    model = StoryElement
    extra = 0
    fields = ["kind", "name", "description", "order"]


@admin.register(StoryElement)
class StoryElementAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "order"]
    list_filter = ["kind"]
    search_fields = ["name", "description", "project__title"]
    autocomplete_fields = ["project"]
    list_select_related = ["project"]


class QuestionInline(admin.TabularInline):
    model = ClarifyingQuestion
    extra = 0
    fields = ["order", "question", "answer"]


class ProjectSceneInline(admin.TabularInline):
    model = ProjectScene
    extra = 0
    fields = ["scene_number", "title", "description"]
    show_change_link = True


class V1SceneInline(admin.TabularInline):
    model = Scene
    extra = 0
    fields = ["scene_number", "description", "duration", "image"]
    show_change_link = True


@admin.register(VideoProject)
class VideoProjectAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "team",
        "workflow_version",
        "status",
        "aspect_ratio",
        "total_cost",
        "created_by",
        "updated_at",
        "app_link",
    ]
    list_filter = ["workflow_version", "status", "aspect_ratio"]
    search_fields = ["title", "prompt", "team__name", "created_by__username"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["team", "created_by"]
    list_select_related = ["team", "created_by"]
    readonly_fields = ["created_at", "updated_at", "app_link"]
    inlines = [QuestionInline, StoryElementInline, ProjectSceneInline, V1SceneInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VideoProject]:
        return super().get_queryset(request).annotate(spend=_spend(project=OuterRef("pk")))

    @admin.display(description="total cost", ordering="spend")
    def total_cost(self, project: VideoProject) -> str:
        return f"${project.spend:.2f}"

    @admin.display(description="app")
    def app_link(self, project: VideoProject) -> str:
        return _app_link(project.get_absolute_url()) if project.pk else "-"


class SceneShotInline(admin.TabularInline):
    model = SceneShot
    extra = 0
    fields = ["shot_number", "description", "initial_prompt", "selected_image"]
    raw_id_fields = ["selected_image"]
    show_change_link = True


@admin.register(ProjectScene)
class ProjectSceneAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "scene_number", "updated_at", "app_link"]
    search_fields = ["title", "description", "project__title"]
    autocomplete_fields = ["project"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]
    inlines = [SceneShotInline]

    @admin.display(description="app")
    def app_link(self, scene: ProjectScene) -> str:
        return _app_link(reverse("project_detail", args=[scene.project_id]))


class ShotImageInline(admin.TabularInline):
    model = ShotImage
    extra = 0
    fields = ["iteration_number", "variant_number", "status", "is_favorite", "image", "parent_image"]
    raw_id_fields = ["parent_image"]
    show_change_link = True


@admin.register(SceneShot)
class SceneShotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scene", "project", "shot_number", "selected_image", "app_link"]
    search_fields = ["description", "initial_prompt", "project__title", "scene__title"]
    autocomplete_fields = ["project", "scene"]
    raw_id_fields = ["selected_image"]
    date_hierarchy = "created_at"
    list_select_related = ["scene", "project", "selected_image"]
    inlines = [ShotImageInline]

    @admin.display(description="app")
    def app_link(self, shot: SceneShot) -> str:
        return _app_link(reverse("project_detail", args=[shot.project_id]))


@admin.register(ShotImage)
class ShotImageAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "project",
        "iteration_number",
        "variant_number",
        "status",
        "is_favorite",
        "created_at",
        "app_link",
    ]
    list_filter = ["status", "is_favorite", "iteration_number"]
    search_fields = ["iteration_prompt", "prediction_id", "project__title"]
    autocomplete_fields = ["project", "scene", "shot"]
    raw_id_fields = ["parent_image"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]

    @admin.display(description="app")
    def app_link(self, image: ShotImage) -> str:
        return _app_link(image.get_file_url(), "View image") if image.image else "-"


@admin.register(StoryboardSelection)
class StoryboardSelectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "scene", "animation_status", "updated_at", "app_link"]
    list_filter = ["animation_status"]
    search_fields = ["project__title", "prediction_id"]
    autocomplete_fields = ["project", "scene", "shot"]
    raw_id_fields = ["selected_image"]
    date_hierarchy = "created_at"
    list_select_related = ["project", "scene"]

    @admin.display(description="app")
    def app_link(self, selection: StoryboardSelection) -> str:
        return _app_link(reverse("project_detail", args=[selection.project_id]))


class VideoClipInline(admin.TabularInline):
    model = VideoClip
    extra = 0
    fields = ["status", "video", "duration", "prediction_id"]


@admin.register(Scene)
class V1SceneAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "scene_number", "duration", "app_link"]
    search_fields = ["description", "project__title"]
    autocomplete_fields = ["project"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]
    inlines = [VideoClipInline]

    @admin.display(description="app")
    def app_link(self, scene: Scene) -> str:
        return _app_link(reverse("project_detail", args=[scene.project_id]))


@admin.register(VideoClip)
class VideoClipAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "status", "duration", "created_at", "app_link"]
    list_filter = ["status"]
    search_fields = ["project__title", "prediction_id"]
    autocomplete_fields = ["project", "scene"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]

    @admin.display(description="app")
    def app_link(self, clip: VideoClip) -> str:
        return _app_link(reverse("project_detail", args=[clip.project_id]))


@admin.register(ClarifyingQuestion)
class ClarifyingQuestionAdmin(admin.ModelAdmin):
    list_display = ["question", "project", "order", "updated_at"]
    search_fields = ["question", "answer", "project__title"]
    autocomplete_fields = ["project"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]


@admin.register(AuthAttempt)
class AuthAttemptAdmin(admin.ModelAdmin):
    """Who is failing to log in or signing up, from where: what the throttle counts (kept a day)."""

    list_display = ["created_at", "kind", "username", "address"]
    list_filter = ["kind"]
    search_fields = ["username", "address"]
    date_hierarchy = "created_at"
    readonly_fields = ["kind", "username", "address", "created_at"]
