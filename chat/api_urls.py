"""URLs of the chat app's part of the staff REST API under /api/."""
from django.urls import path

from . import api, api_usage

urlpatterns = [
    path("requests/", api.RequestLogListView.as_view(), name="api-request-list"),
    path("requests/<int:pk>/", api.RequestLogDetailView.as_view(), name="api-request-detail"),
    path("usage/", api_usage.UsageView.as_view(), name="api-usage"),
]
