"""The OpenAPI schema view behind ``/api/schema/``.

drf-spectacular's default answers YAML as ``application/vnd.oai.openapi``, which a
browser downloads instead of showing. JSON as ``application/json`` comes first here,
so a browser (``Accept: */*``) displays it and Swagger UI reads it; the YAML stays
available with ``?format=yaml`` or ``Accept: application/yaml``.
"""
from __future__ import annotations

from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView


class SchemaView(SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer2, OpenApiYamlRenderer]
