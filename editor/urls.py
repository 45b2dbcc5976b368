from django.urls import path

from editor import edit_views, views

P = "projects/<int:project_id>"
urlpatterns = [
    path(f"{P}/sound/", views.sound, name="project_sound"),
    path(f"{P}/sound/settings/", views.sound_settings, name="sound_settings"),
    path(f"{P}/sound/voiceovers/", views.voiceovers, name="voiceovers"),
    path(f"{P}/sound/music/", views.music_generate, name="music_generate"),
    path(f"{P}/sound/music/upload/", views.music_upload, name="music_upload"),
    path(f"{P}/sound/music/remove/", views.music_remove, name="music_remove"),
    path(f"{P}/audio/<int:asset_id>/restore/", views.audio_restore, name="audio_restore"),
    path(f"{P}/audio/<int:asset_id>/file/", views.audio_file, name="audio_file"),
    path(f"{P}/segments/<int:segment_id>/lipsync/", views.segment_lipsync, name="segment_lipsync"),
    path(f"{P}/compile/", views.compile_page, name="project_compile"),
    path(f"{P}/compile/start/", views.compile_start, name="compile_start"),
    path(f"{P}/compile/<int:compile_id>/", views.compile_status, name="compile_status"),
    path(f"{P}/compile/<int:compile_id>/cancel/", views.compile_cancel, name="compile_cancel"),
    path(f"{P}/videos/<int:video_id>/", views.final_video, name="final_video"),
    path(f"{P}/videos/<int:video_id>/<str:kind>/", views.final_file, name="final_file"),
    path(f"{P}/edit/", edit_views.edit, name="project_edit"),
    path(f"{P}/edit/open/", edit_views.edit_open, name="edit_open"),
    path(f"{P}/edit/op/", edit_views.edit_op, name="edit_op"),
    path(f"{P}/edit/undo/", edit_views.edit_history, {"action": "undo"}, name="edit_undo"),
    path(f"{P}/edit/redo/", edit_views.edit_history, {"action": "redo"}, name="edit_redo"),
    path(f"{P}/edit/revisions/<int:revision_id>/restore/", edit_views.revision_restore, name="revision_restore"),
    path(f"{P}/edit/render/", edit_views.edit_render, name="edit_render"),
    path(f"{P}/edit/render/<int:compile_id>/", edit_views.render_status, name="render_status"),
    path(f"{P}/edit/render/<int:compile_id>/preview.mp4", edit_views.preview_file, name="preview_file"),
    path(f"{P}/edit/interchange.zip", edit_views.interchange_zip, name="interchange_zip"),
]
