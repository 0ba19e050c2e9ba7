import django_filters

from notifications.models import Notification, Priority, Status


class NotificationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    channel = django_filters.CharFilter()
    recipient = django_filters.CharFilter()
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    send_at_after = django_filters.IsoDateTimeFilter(field_name="send_at", lookup_expr="gte")
    send_at_before = django_filters.IsoDateTimeFilter(field_name="send_at", lookup_expr="lte")

    class Meta:
        model = Notification
        fields = ("status", "channel", "recipient", "priority", "send_at_after", "send_at_before")
