from django.urls import path

from projects import team_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/brief/", views.project_edit, name="project_edit"),
    path("projects/<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:project_id>/stage/<slug:stage>/", views.project_stage, name="project_stage"),
    path("projects/<int:project_id>/images/<int:image_id>/", views.shot_image_file, name="shot_image_file"),
    path(
        "projects/<int:project_id>/v1-scenes/<int:scene_id>/image/",
        views.v1_scene_image_file,
        name="v1_scene_image_file",
    ),
    path("teams/", team_views.team_list, name="team_list"),
    path("teams/switch/", team_views.team_switch, name="team_switch"),
    path("teams/<int:team_id>/", team_views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/rename/", team_views.team_rename, name="team_rename"),
    path("teams/<int:team_id>/budget/", team_views.team_budget, name="team_budget"),
    path("teams/<int:team_id>/members/", team_views.member_add, name="member_add"),
    path("teams/<int:team_id>/members/<int:membership_id>/role/", team_views.member_role, name="member_role"),
    path("teams/<int:team_id>/members/<int:membership_id>/remove/", team_views.member_remove, name="member_remove"),
]
