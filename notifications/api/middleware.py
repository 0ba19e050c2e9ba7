from django.http import JsonResponse

from notifications import logcontext
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


class RequestIdMiddleware:
    """``X-Request-ID``: the client's (at most 64 of ``A-Z a-z 0-9 . _ -``) or a new one,
    echoed on the response. While the request runs it is the trace id: the notifications it
    creates store it (``trace_id``), its messages carry it to the worker, its log lines name it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = logcontext.valid_trace_id(request.headers.get("X-Request-ID")) or logcontext.new_trace_id()
        request.request_id = request_id
        with logcontext.bound(trace_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
