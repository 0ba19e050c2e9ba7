"""Per-client rate limits, counted in Redis."""

from __future__ import annotations

URL = "/api/v1/notifications/"


def test_over_the_rate_is_429_with_retry_after_and_per_client(alice, bob, settings):
    settings.NOTIFY_API_RATE = "3/h"  # a window long enough that the test never straddles two
    codes = [alice.get(URL).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = alice.get(URL)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "detail" in limited.json()
    assert bob.get(URL).status_code == 200  # another client has its own budget


def test_empty_rate_turns_limiting_off(alice, settings):
    settings.NOTIFY_API_RATE = ""
    assert {alice.get(URL).status_code for _ in range(10)} == {200}


def test_redis_down_lets_requests_through(alice, settings, redis_down, caplog):
    settings.NOTIFY_API_RATE = "1/h"
    assert [alice.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    assert "rate limit cache unavailable" in caplog.text
