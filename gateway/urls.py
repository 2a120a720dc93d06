from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import IsAdminUser

from chat import admin_usage as chat_admin_usage
from chat import metrics as chat_metrics
from chat import views as chat_views
from chat.inbound import embeddings as embeddings_views
from chat.inbound import messages as messages_views
from chat.inbound import responses as responses_views
from gateway.api_docs import SchemaView

urlpatterns = [
    path("v1/chat/completions", chat_views.chat_completions, name="v1-chat-completions"),
    path("v1/models", chat_views.models, name="v1-models"),
    path("v1/models/<path:model>", chat_views.model_detail, name="v1-model-detail"),
    path("v1/messages", messages_views.messages, name="v1-messages"),
    path("v1/messages/count_tokens", messages_views.count_tokens, name="v1-messages-count-tokens"),
    path("v1/responses", responses_views.responses, name="v1-responses"),
    path("v1/embeddings", embeddings_views.embeddings, name="v1-embeddings"),
    path("v1/<path:rest>", chat_views.unknown_endpoint, name="v1-unknown"),
    path("healthz", chat_views.healthz, name="healthz"),
    path("metrics", chat_metrics.metrics_view, name="metrics"),
    path("api/", include("providers.api_urls")),
    path("api/", include("chat.api_urls")),
    # Staff only, like the rest of /api/ (the schema names every operation and field).
    path("api/schema/", SchemaView.as_view(permission_classes=[IsAdminUser]), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAdminUser]),
         name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own URLs; admin_view: staff login, like every admin page (chat/admin_usage.py).
    path("admin/usage/", admin.site.admin_view(chat_admin_usage.usage_view), name="admin-usage"),
    path("admin/", admin.site.urls),
]

# JSON, not HTML, for paths under /api/ that route nowhere (gateway/error_views.py).
handler404 = "gateway.error_views.not_found"
