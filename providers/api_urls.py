"""URLs of the staff REST API under /api/.

One route per line; onboarding views (``providers/{id}/models/``, ``providers/{id}/test/``)
live in their own modules and are listed in the marked section below.
"""
from django.urls import path

from . import api, api_models
from .onboarding import api_views
from .routes import api as route_api

urlpatterns = [
    path("providers/", api.ProviderListCreateView.as_view(), name="api-provider-list"),
    path("providers/<int:pk>/", api.ProviderDetailView.as_view(), name="api-provider-detail"),
    path("provider-types/", api.ProviderTypeListView.as_view(), name="api-provider-type-list"),
    path("gateway-keys/", api.GatewayKeyListCreateView.as_view(), name="api-gateway-key-list"),
    path("gateway-keys/<int:pk>/", api.GatewayKeyDetailView.as_view(), name="api-gateway-key-detail"),
    path("gateway-keys/<int:pk>/revoke/", api.GatewayKeyRevokeView.as_view(), name="api-gateway-key-revoke"),
    path("routes/", route_api.RouteListCreateView.as_view(), name="api-route-list"),
    path("routes/<int:pk>/", route_api.RouteDetailView.as_view(), name="api-route-detail"),
]

# Onboarding (connection checks, model lists): add their routes here.
urlpatterns += [
    path("providers/<int:pk>/models/", api_models.ProviderModelsView.as_view(), name="api-provider-models"),
    path("providers/<int:pk>/test/", api_views.ProviderTestView.as_view(), name="api-provider-test"),
]
