from django.http import JsonResponse

from notifications.api.errors import DATABASE_DOWN


class DatabaseUnavailableMiddleware:
    """Outside DRF (admin, sessions), a database outage answers 503 JSON, not a 500 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN):
            return JsonResponse(
                {"detail": "The database is unavailable; try again shortly."}, status=503, headers={"Retry-After": "5"}
            )
        return None
