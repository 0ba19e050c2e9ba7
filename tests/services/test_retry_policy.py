"""The retry policy as the settings define it: growing, jittered, never immediate, and long
enough by default that a receiver down for a day still gets every notification."""

from __future__ import annotations

from datetime import timedelta

from notifications import conf, services


def test_the_default_policy_retries_for_at_least_a_day_before_failing():
    shortest, longest = services.retry_horizon(conf.max_attempts())
    assert shortest >= timedelta(hours=24).total_seconds()
    assert longest <= timedelta(hours=72).total_seconds()  # and gives up within three days


def test_a_receiver_down_for_an_hour_is_retried_after_it_recovers():
    # The latest the attempts can have got to one hour in: there are attempts left after it.
    elapsed, attempts = 0, 1
    while elapsed < 3600:
        elapsed += services.retry_window(attempts)[0]
        attempts += 1
    assert attempts < conf.max_attempts()


def test_each_wait_is_drawn_between_half_and_all_of_the_backoff_never_zero(settings):
    settings.NOTIFY_RETRY_BACKOFF = 10
    settings.NOTIFY_RETRY_BACKOFF_MAX = 100
    assert [services.retry_window(n) for n in (1, 2, 3, 4, 5, 6)] == [
        (5, 10),
        (10, 20),
        (20, 40),
        (40, 80),
        (50, 100),
        (50, 100),
    ]
    for attempts in (1, 3, 6):
        low, high = services.retry_window(attempts)
        samples = [services.retry_countdown(attempts=attempts) for _ in range(300)]
        assert low <= min(samples) and max(samples) <= high
        assert len(set(samples)) > 5  # jittered


def test_the_smallest_backoff_still_waits_a_second(settings):
    settings.NOTIFY_RETRY_BACKOFF = 1
    assert {services.retry_countdown(attempts=1) for _ in range(50)} == {1}
