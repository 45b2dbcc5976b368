from django.urls import path

from projects import iterate_views, plan_views, scene_views, team_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:project_id>/stage/<slug:stage>/", views.project_stage, name="project_stage"),
    path("projects/<int:project_id>/images/<int:image_id>/", views.shot_image_file, name="shot_image_file"),
    path(
        "projects/<int:project_id>/v1-scenes/<int:v1_scene_id>/image/",
        views.v1_scene_image_file,
        name="v1_scene_image_file",
    ),
    path("projects/<int:project_id>/plan/", plan_views.plan, name="project_plan"),
    path("projects/<int:project_id>/plan/autosave/", plan_views.plan_autosave, name="plan_autosave"),
    path("projects/<int:project_id>/plan/section/<slug:section>/", plan_views.plan_section, name="plan_section"),
    path("projects/<int:project_id>/plan/questions/", plan_views.questions_generate, name="questions_generate"),
    path(
        "projects/<int:project_id>/plan/questions/<int:question_id>/",
        plan_views.question_answer,
        name="question_answer",
    ),
    path("projects/<int:project_id>/plan/brief/draft/", plan_views.brief_generate, name="brief_generate"),
    path("projects/<int:project_id>/plan/brief/", plan_views.brief_save, name="brief_save"),
    path("projects/<int:project_id>/plan/script/", plan_views.script_generate, name="script_generate"),
    path("projects/<int:project_id>/scenes/", scene_views.scenes, name="project_scenes"),
    path("projects/<int:project_id>/scenes/list/", scene_views.scene_list, name="scene_list"),
    path("projects/<int:project_id>/scenes/add/", scene_views.scene_add, name="scene_add"),
    path("projects/<int:project_id>/scenes/order/", scene_views.scenes_reorder, name="scenes_reorder"),
    path("projects/<int:project_id>/scenes/next/", scene_views.start_iteration, name="start_iteration"),
    path("projects/<int:project_id>/scenes/<int:scene_id>/", scene_views.scene_update, name="scene_update"),
    path("projects/<int:project_id>/scenes/<int:scene_id>/delete/", scene_views.scene_delete, name="scene_delete"),
    path("projects/<int:project_id>/scenes/<int:scene_id>/move/", scene_views.scene_move, name="scene_move"),
    path("projects/<int:project_id>/scenes/<int:scene_id>/shots/", scene_views.shot_add, name="shot_add"),
    path(
        "projects/<int:project_id>/scenes/<int:scene_id>/shots/order/",
        scene_views.shots_reorder,
        name="shots_reorder",
    ),
    path(
        "projects/<int:project_id>/scenes/<int:scene_id>/shots/redraft/",
        scene_views.shots_redraft,
        name="shots_redraft",
    ),
    path("projects/<int:project_id>/shots/<int:shot_id>/", scene_views.shot_update, name="shot_update"),
    path("projects/<int:project_id>/shots/<int:shot_id>/delete/", scene_views.shot_delete, name="shot_delete"),
    path("projects/<int:project_id>/shots/<int:shot_id>/move/", scene_views.shot_move, name="shot_move"),
    path("projects/<int:project_id>/iterate/", iterate_views.iterate, name="project_iterate"),
    path("projects/<int:project_id>/iterate/<int:shot_id>/", iterate_views.iterate_shot, name="iterate_shot"),
    path(
        "projects/<int:project_id>/iterate/<int:shot_id>/generate/", iterate_views.shot_generate, name="shot_generate"
    ),
    path("projects/<int:project_id>/iterate/<int:shot_id>/refine/", iterate_views.shot_refine, name="shot_refine"),
    path("projects/<int:project_id>/iterate/<int:shot_id>/upload/", iterate_views.shot_upload, name="shot_upload"),
    path("projects/<int:project_id>/iterate/<int:shot_id>/compare/", iterate_views.image_compare, name="image_compare"),
    path("projects/<int:project_id>/images/<int:image_id>/thumb/", iterate_views.image_thumb, name="shot_image_thumb"),
    path(
        "projects/<int:project_id>/images/<int:image_id>/favorite/", iterate_views.image_favorite, name="image_favorite"
    ),
    path("projects/<int:project_id>/images/<int:image_id>/master/", iterate_views.image_master, name="image_master"),
    path("projects/<int:project_id>/images/<int:image_id>/retry/", iterate_views.image_retry, name="image_retry"),
    path("teams/", team_views.team_list, name="team_list"),
    path("teams/switch/", team_views.team_switch, name="team_switch"),
    path("teams/<int:team_id>/", team_views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/rename/", team_views.team_rename, name="team_rename"),
    path("teams/<int:team_id>/budget/", team_views.team_budget, name="team_budget"),
    path("teams/<int:team_id>/members/", team_views.member_add, name="member_add"),
    path("teams/<int:team_id>/members/<int:membership_id>/role/", team_views.member_role, name="member_role"),
    path("teams/<int:team_id>/members/<int:membership_id>/remove/", team_views.member_remove, name="member_remove"),
]
