from django.urls import path

from storyboard import views

P = "projects/<int:project_id>"
urlpatterns = [
    path(f"{P}/storyboard/", views.storyboard, name="project_storyboard"),
    path(f"{P}/storyboard/settings/", views.review_settings, name="review_settings"),
    path(f"{P}/storyboard/estimate/", views.animate_estimate, name="animate_estimate"),
    path(f"{P}/storyboard/animate/", views.animate, name="animate"),
    path(f"{P}/storyboard/shots/<int:shot_id>/", views.shot_animation, name="shot_animation"),
    path(f"{P}/review/", views.review, name="project_review"),
    path(f"{P}/review/<int:shot_id>/", views.review_shot, name="review_shot"),
    path(f"{P}/review/<int:shot_id>/compare/", views.segment_compare, name="segment_compare"),
    path(f"{P}/segments/<int:segment_id>/approve/", views.segment_approve, name="segment_approve"),
    path(f"{P}/segments/<int:segment_id>/reject/", views.segment_reject, name="segment_reject"),
    path(f"{P}/segments/<int:segment_id>/regenerate/", views.segment_regenerate, name="segment_regenerate"),
    path(f"{P}/segments/<int:segment_id>/restore/", views.segment_restore, name="segment_restore"),
    path(f"{P}/segments/<int:segment_id>/retry/", views.segment_retry, name="segment_retry"),
    path(f"{P}/segments/<int:segment_id>/notes/", views.segment_notes, name="segment_notes"),
    path(f"{P}/segments/<int:segment_id>/video/", views.segment_video, name="segment_video"),
    path(f"{P}/segments/<int:segment_id>/thumb/", views.segment_thumb, name="segment_thumb"),
]
