from django.urls import URLPattern

# Each app appends its consumers' routes here as it gains live status.
websocket_urlpatterns: list[URLPattern] = []
