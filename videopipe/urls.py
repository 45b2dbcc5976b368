from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("projects.account_urls")),
    path("", include("generation.urls")),
    path("", include("projects.urls")),
    path("", include("storyboard.urls")),
    path("", include("editor.urls")),
]

handler403 = "projects.views.error_403"
handler404 = "projects.views.error_404"
handler500 = "projects.views.error_500"
