from django.urls import include, path
from rest_framework.routers import DefaultRouter

from notifications.api.broadcasts import BroadcastViewSet
from notifications.api.callbacks import TwilioStatusCallbackView
from notifications.api.endpoints import EndpointViewSet
from notifications.api.recipient_views import RecipientViewSet
from notifications.api.schedules import ScheduleViewSet
from notifications.api.templates import TemplateViewSet
from notifications.api.topics import TopicViewSet
from notifications.api.views import NotificationViewSet, WebhookSecretRotateView, WebhookSecretView

router = DefaultRouter()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("templates", TemplateViewSet, basename="template")
router.register("recipients", RecipientViewSet, basename="recipient")
router.register("topics", TopicViewSet, basename="topic")
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("endpoints", EndpointViewSet, basename="endpoint")

urlpatterns = [
    path("webhook-secret/", WebhookSecretView.as_view(), name="webhook-secret"),
    path("webhook-secret/rotate/", WebhookSecretRotateView.as_view(), name="webhook-secret-rotate"),
    path("callbacks/email/", include("notifications.api.email_tracking")),
    path("callbacks/twilio/", TwilioStatusCallbackView.as_view(), name="twilio-callback"),
    *router.urls,
]
