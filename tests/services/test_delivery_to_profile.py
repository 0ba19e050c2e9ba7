"""A notification to a recipient profile (``to``) at send time: the profile is read again after
the claim. A changed address wins, preferences turned off since suppress, quiet hours and
``NOTIFY_RECIPIENT_RATE`` defer without an attempt, a push goes to every token of the profile.

Rows are made by ``services.notification_create`` (``to`` resolved as in production) and sent
by ``services.notification_deliver`` through the real providers, against local fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications import audience, services
from notifications.models import DeadPushToken, DeliveryAttempt, FailureReason, Notification, Recipient, Status
from tests import factories
from tests.fakes.push import EXPO_SEND, FCM, expo_ticket_error, fcm_error

EXPO_A = "ExponentPushToken[aaaaaaaaaaaaaaaaaaaaaa]"
EXPO_B = "ExponentPushToken[bbbbbbbbbbbbbbbbbbbbbb]"
FCM_TOKEN = "fcm-" + "c" * 140
DEVICE_GONE = expo_ticket_error("DeviceNotRegistered", "not a registered recipient")
FCM_GONE = fcm_error(404, "UNREGISTERED", "Requested entity was not found.")


@pytest.fixture
def owner(db):
    return factories.user()


@pytest.fixture
def ada(owner):
    return Recipient.objects.create(owner=owner, external_id="ada", email="ada@example.com", timezone="UTC")


def create(owner, **data) -> Notification:
    data = {"channel": "console", "to": "ada", "body": "hello", **data}
    row, created = services.notification_create(owner=owner, data=data)
    assert created
    return row


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def attempts_of(row: Notification) -> int:
    return DeliveryAttempt.objects.filter(notification_id=row.id).count()


# --- the address at send ---------------------------------------------------------


def test_a_webhook_address_changed_since_create_wins(owner, sink, allow_private):
    profile = Recipient.objects.create(owner=owner, external_id="ada", webhook_url=sink.url + "/old")
    row = create(owner, channel="webhook", payload={"order": 7})
    assert row.recipient == sink.url + "/old"
    profile.webhook_url = sink.url + "/new"
    profile.save()

    result = deliver(row)

    assert result.status == Status.SENT
    [received] = sink.wait_for(1)
    assert received.path == "/hook/new"
    assert b'"order"' in received.body
    row.refresh_from_db()
    assert (row.status, row.recipient, row.attempts) == (Status.SENT, sink.url + "/new", 1)
    assert attempts_of(row) == 1


def test_an_unchanged_webhook_address_is_sent_to(owner, sink, allow_private):
    Recipient.objects.create(owner=owner, external_id="ada", webhook_url=sink.url)
    row = create(owner, channel="webhook", payload={"a": 1})

    assert deliver(row).status == Status.SENT

    assert [r.path for r in sink.wait_for(1)] == ["/hook"]
    row.refresh_from_db()
    assert row.recipient == sink.url


def test_a_profile_deleted_since_create_fails_for_good(owner, ada):
    row = create(owner)
    ada.delete()

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.PERMANENT)
    assert "ada" in row.last_error


def test_a_profile_that_lost_the_channels_address_since_create_fails_for_good(owner, sink, allow_private):
    profile = Recipient.objects.create(owner=owner, external_id="ada", webhook_url=sink.url)
    row = create(owner, channel="webhook", payload={"a": 1})
    profile.webhook_url = None
    profile.save()

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.PERMANENT)
    assert sink.requests == []


# --- preferences at send ---------------------------------------------------------


@pytest.mark.parametrize(
    "preferences",
    [
        {"channels": {"webhook": False}},
        {"categories": {"marketing": False}},
        {"categories": {"marketing": {"channels": {"webhook": False}}}},
    ],
)
def test_preferences_turned_off_since_create_suppress_without_an_attempt(owner, sink, allow_private, preferences):
    profile = Recipient.objects.create(owner=owner, external_id="ada", webhook_url=sink.url)
    row = create(owner, channel="webhook", payload={"a": 1}, category="marketing")
    assert row.status == Status.SCHEDULED
    profile.preferences = preferences
    profile.save()

    result = deliver(row)

    assert result.status == Status.SUPPRESSED
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (Status.SUPPRESSED, FailureReason.OPTED_OUT)
    assert (row.attempts, row.attempts_total, row.next_attempt_at, row.sent_at) == (0, 0, None, None)
    assert attempts_of(row) == 0
    assert sink.requests == []
    assert deliver(row) is None  # nothing left to send


def test_preferences_that_still_allow_it_at_send_let_it_go(owner, sink, allow_private):
    profile = Recipient.objects.create(owner=owner, external_id="ada", webhook_url=sink.url)
    row = create(owner, channel="webhook", payload={"a": 1}, category="billing")
    profile.preferences = {"channels": {"sms": False}, "categories": {"marketing": False}}
    profile.save()

    assert deliver(row).status == Status.SENT
    assert len(sink.wait_for(1)) == 1


# --- quiet hours -------------------------------------------------------------------


def quiet_around_now(zone: str, *, starts_in: timedelta = -timedelta(hours=1), lasts: timedelta = timedelta(hours=2)):
    """Quiet hours on ``zone``'s wall clock from now + ``starts_in``, for ``lasts``, whole minutes.

    The start is rounded down and the end up, so now stays inside (or outside) whatever the
    seconds of the current minute."""
    local = timezone.now().astimezone(ZoneInfo(zone))
    start = (local + starts_in).replace(second=0, microsecond=0)
    end = (start + lasts + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "Pacific/Chatham"])
def test_quiet_hours_defer_to_their_end_in_the_recipients_timezone_without_an_attempt(owner, zone):
    quiet = quiet_around_now(zone)
    Recipient.objects.create(owner=owner, external_id="ada", timezone=zone, quiet_hours=quiet)
    row = create(owner)
    ends = audience.quiet_until(quiet, timezone_name=zone, now=timezone.now())
    assert ends is not None and ends > timezone.now() + timedelta(minutes=55)

    result = deliver(row)

    assert result.status == "deferred"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.attempts_total, row.sent_at) == (Status.SCHEDULED, 0, 0, None)
    assert attempts_of(row) == 0
    # The end of the quiet hours, on the recipient's wall clock.
    assert row.next_attempt_at.astimezone(ZoneInfo(zone)).strftime("%H:%M") == quiet["end"]
    assert ends <= row.next_attempt_at < ends + timedelta(seconds=1)


def test_a_deferred_row_is_held_again_while_the_quiet_hours_last(owner):
    Recipient.objects.create(owner=owner, external_id="ada", quiet_hours=quiet_around_now("UTC"))
    row = create(owner)
    deliver(row)
    row.refresh_from_db()
    first_due = row.next_attempt_at
    Notification.objects.filter(id=row.id).update(next_attempt_at=timezone.now())  # as if due again now
    row.refresh_from_db()

    assert deliver(row).status == "deferred"

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 0)
    assert abs(row.next_attempt_at - first_due) < timedelta(seconds=1)


def test_a_high_priority_notification_is_sent_inside_quiet_hours(owner):
    Recipient.objects.create(
        owner=owner, external_id="ada", timezone="Asia/Tokyo", quiet_hours=quiet_around_now("Asia/Tokyo")
    )
    row = create(owner, priority="high")

    assert deliver(row).status == Status.SENT

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert attempts_of(row) == 1


def test_outside_quiet_hours_it_is_sent(owner):
    zone = "America/Sao_Paulo"
    quiet = quiet_around_now(zone, starts_in=timedelta(hours=2), lasts=timedelta(hours=2))
    Recipient.objects.create(owner=owner, external_id="ada", timezone=zone, quiet_hours=quiet)
    row = create(owner)

    assert deliver(row).status == Status.SENT


# --- NOTIFY_RECIPIENT_RATE ------------------------------------------------------------


@pytest.fixture
def recipient_rate(settings):
    settings.CACHE_KEY_PREFIX = f"test-{uuid.uuid4().hex}"  # this test's own keys in the shared Redis
    settings.NOTIFY_RECIPIENT_RATE = "1/h"


def next_hour(now: datetime) -> datetime:
    """The start of the rate's next window: fixed windows of an hour from the epoch."""
    return datetime.fromtimestamp((int(now.timestamp()) // 3600 + 1) * 3600, tz=UTC)


def test_over_the_recipient_rate_it_waits_for_the_next_window_without_an_attempt(owner, ada, recipient_rate):
    first, second = create(owner), create(owner)
    now = timezone.now()

    assert deliver(first).status == Status.SENT
    assert deliver(second).status == "deferred"

    second.refresh_from_db()
    assert (second.status, second.attempts, second.attempts_total) == (Status.SCHEDULED, 0, 0)
    assert attempts_of(second) == 0
    window = next_hour(now)
    # At the next window, or a little after it (spread so held sends do not all come back at once).
    assert window - timedelta(seconds=1) <= second.next_attempt_at <= now + (window - now) * 1.5 + timedelta(seconds=2)


def test_the_recipient_rate_is_per_recipient_and_per_channel(owner, ada, recipient_rate, sink, allow_private):
    Recipient.objects.create(owner=owner, external_id="bea")
    ada.webhook_url = sink.url
    ada.save()

    assert deliver(create(owner)).status == Status.SENT
    assert deliver(create(owner, to="bea")).status == Status.SENT  # another recipient
    assert deliver(create(owner, channel="webhook", payload={"a": 1})).status == Status.SENT  # another channel
    assert deliver(create(owner)).status == "deferred"


def test_another_clients_recipient_of_the_same_id_has_its_own_rate(owner, ada, recipient_rate):
    other = factories.user("client-2")
    Recipient.objects.create(owner=other, external_id="ada")

    assert deliver(create(owner)).status == Status.SENT
    assert deliver(create(other)).status == Status.SENT


def test_without_a_recipient_rate_every_send_goes(owner, ada, settings):
    settings.NOTIFY_RECIPIENT_RATE = ""
    assert [deliver(create(owner)).status for _ in range(3)] == [Status.SENT] * 3


# --- push to every token of the profile --------------------------------------------------


def push_profile(owner, *tokens: str) -> Recipient:
    return Recipient.objects.create(owner=owner, external_id="ada", push_tokens=list(tokens))


def push_row(owner) -> Notification:
    return create(owner, channel="push", subject="Hi", body="Shipped.")


def tokens_sent_to(push) -> list[str]:
    """The tokens the push services were asked to deliver to (Expo takes a list of messages)."""
    expo = [item["to"] for request in push.received(EXPO_SEND) for item in request.json()]
    fcm = [request.json()["message"]["token"] for request in push.received(FCM)]
    return sorted(expo + fcm)


def test_a_push_goes_to_every_token_of_the_profile(owner, push):
    push_profile(owner, EXPO_A, FCM_TOKEN, EXPO_B)
    row = push_row(owner)
    assert row.recipient == EXPO_A  # the first token, at create

    assert deliver(row).status == Status.SENT

    assert tokens_sent_to(push) == sorted([EXPO_A, EXPO_B, FCM_TOKEN])
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert attempts_of(row) == 1
    assert Recipient.objects.get(external_id="ada").push_tokens == [EXPO_A, FCM_TOKEN, EXPO_B]
    assert not DeadPushToken.objects.exists()


@pytest.mark.parametrize(
    ("tokens", "route", "reply", "dead", "provider"),
    [
        ([EXPO_A, FCM_TOKEN], EXPO_SEND, DEVICE_GONE, EXPO_A, "expo"),
        ([EXPO_A, FCM_TOKEN], FCM, FCM_GONE, FCM_TOKEN, "fcm"),
    ],
)
def test_a_dead_token_leaves_the_profile_and_is_kept_while_another_takes_the_push(
    owner, push, tokens, route, reply, dead, provider
):
    push_profile(owner, *tokens)
    row = push_row(owner)
    push.then(route, reply)

    assert deliver(row).status == Status.SENT

    row.refresh_from_db()
    assert row.status == Status.SENT
    [alive] = [token for token in tokens if token != dead]
    assert Recipient.objects.get(external_id="ada").push_tokens == [alive]
    kept = DeadPushToken.objects.get()
    assert (kept.token, kept.provider, kept.owner_id, kept.notification_id) == (dead, provider, owner.id, row.id)


def test_when_every_token_is_dead_the_push_fails_for_good_and_the_profile_has_none_left(owner, push):
    push_profile(owner, EXPO_A, FCM_TOKEN)
    row = push_row(owner)
    push.then(EXPO_SEND, DEVICE_GONE).then(FCM, FCM_GONE)

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.PERMANENT)
    assert Recipient.objects.get(external_id="ada").push_tokens == []
    assert sorted(DeadPushToken.objects.values_list("token", "provider")) == sorted(
        [(EXPO_A, "expo"), (FCM_TOKEN, "fcm")]
    )
    assert attempts_of(row) == 1


def test_a_single_dead_token_of_a_profile_fails_and_leaves_it(owner, push):
    push_profile(owner, EXPO_A)
    row = push_row(owner)
    push.then(EXPO_SEND, DEVICE_GONE)

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.PERMANENT)
    assert Recipient.objects.get(external_id="ada").push_tokens == []
    assert DeadPushToken.objects.get().token == EXPO_A


def test_a_dead_token_and_a_transient_answer_retry_without_the_dead_one(owner, push):
    push_profile(owner, EXPO_A, FCM_TOKEN)
    row = push_row(owner)
    push.then(EXPO_SEND, DEVICE_GONE).then(FCM, fcm_error(503, "UNAVAILABLE", "The service is unavailable."))

    with pytest.raises(services.DeliveryDeferred):
        deliver(row)

    row.refresh_from_db()
    assert row.status == Status.RETRYING
    assert Recipient.objects.get(external_id="ada").push_tokens == [FCM_TOKEN]
    assert DeadPushToken.objects.get().token == EXPO_A


def test_a_token_added_to_the_profile_since_create_is_sent_to(owner, push):
    profile = push_profile(owner, EXPO_A)
    row = push_row(owner)
    profile.push_tokens = [EXPO_A, EXPO_B]
    profile.save()

    assert deliver(row).status == Status.SENT

    assert tokens_sent_to(push) == sorted([EXPO_A, EXPO_B])


# --- a batch of rows to profiles ----------------------------------------------------------


def test_a_batch_sends_defers_suppresses_and_fails_each_row_by_its_own_profile(owner, ada):
    Recipient.objects.create(owner=owner, external_id="bea", quiet_hours=quiet_around_now("UTC"))
    cat = Recipient.objects.create(owner=owner, external_id="cat")
    dan = Recipient.objects.create(owner=owner, external_id="dan")
    items = [
        {"channel": "console", "to": name, "body": "hello", "max_attempts": 3} for name in ("ada", "bea", "cat", "dan")
    ]
    rows = services.notification_bulk_create(owner=owner, items=items)
    cat.preferences = {"channels": {"console": False}}
    cat.save()
    dan.delete()

    result = services.notification_deliver_batch(
        notification_ids=[str(row.id) for row in rows],
        dispatch_token=rows[0].dispatch_token,
        budget=timedelta(seconds=30),
    )

    assert (result.sent, result.deferred, result.suppressed, result.failed) == (1, 1, 1, 1)
    statuses = {row.to: row.status for row in Notification.objects.filter(owner=owner)}
    assert statuses == {"ada": "sent", "bea": "scheduled", "cat": "suppressed", "dan": "failed"}
    assert DeliveryAttempt.objects.count() == 2  # ada's and dan's: a deferral or a suppression is no attempt


def test_quiet_hours_defer_to_exactly_their_end(owner):
    zone = "Asia/Kolkata"
    quiet = quiet_around_now(zone)
    Recipient.objects.create(owner=owner, external_id="ada", timezone=zone, quiet_hours=quiet)
    row = create(owner)
    ends = audience.quiet_until(quiet, timezone_name=zone, now=timezone.now())

    assert deliver(row).status == "deferred"

    row.refresh_from_db()
    assert row.next_attempt_at == ends


def test_a_receipt_of_the_token_that_took_a_profiles_push_names_that_token(owner, push):
    push_profile(owner, EXPO_A, EXPO_B)
    row = push_row(owner)
    push.then(EXPO_SEND, DEVICE_GONE)  # A is dead at send; B takes the push
    assert deliver(row).status == "sent"
    row.refresh_from_db()
    assert row.recipient == EXPO_B  # the row names the token whose ticket it keeps
    assert Recipient.objects.get(external_id="ada").push_tokens == [EXPO_B]
    push.receipts = {
        row.provider_message_id: {
            "status": "error",
            "message": "not a registered recipient",
            "details": {"error": "DeviceNotRegistered"},
        }
    }

    assert services.expo_receipts_collect(now=timezone.now() + timedelta(minutes=20)) == 1

    # B's ticket said B is gone: B leaves the profile and is kept as dead.
    assert Recipient.objects.get(external_id="ada").push_tokens == []
    assert set(DeadPushToken.objects.values_list("token", flat=True)) == {EXPO_A, EXPO_B}
