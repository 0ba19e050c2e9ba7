from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz, readyz
from notifications.api.errors import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("notifications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Last under /api/: a path without its trailing slash is served as with it; any other
    # unknown path or malformed id answers a JSON 404, not Django's HTML page.
    re_path(r"^api/", not_found),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # /metrics: notifications.scrape.MetricsMiddleware answers it, before the Host check.
]

handler500 = "notifications.api.errors.server_error"
