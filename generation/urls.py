from django.urls import path

from generation import views

urlpatterns = [
    path("webhooks/replicate/", views.replicate_webhook, name="replicate_webhook"),
    path("projects/<int:project_id>/activity/", views.project_activity, name="project_activity"),
    path("projects/<int:project_id>/jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("projects/<int:project_id>/jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
]
