"""A message with ``html`` arrives as multipart/alternative: the text body and the HTML beside it."""

from __future__ import annotations

from notifications import services
from tests.notifier.test_email import message, provider, smtp  # noqa: F401 -- the fixtures


def test_html_is_sent_as_the_alternative_to_the_text(smtp, provider):  # noqa: F811
    provider.send(message(subject="Hi", body="Hello, Ana.", html="<p>Hello, <b>Ana</b>.</p>"))

    [received] = smtp.messages
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip() == "Hello, Ana."
    assert received.get_body(("html",)).get_content().strip() == "<p>Hello, <b>Ana</b>.</p>"


def test_without_html_the_message_stays_plain_text(smtp, provider):  # noqa: F811
    provider.send(message(body="Just text."))

    [received] = smtp.messages
    assert received.get_content_type() == "text/plain"


def test_a_delivered_notification_carries_its_html_to_the_provider(smtp, make_notification):  # noqa: F811
    row = make_notification(channel="email", recipient="ana@example.com", body="Text.", html="<p>HTML.</p>")

    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)

    [received] = smtp.messages
    assert received.get_body(("html",)).get_content().strip() == "<p>HTML.</p>"
