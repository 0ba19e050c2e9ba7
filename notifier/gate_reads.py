"""Reads of the shared Redis state for the operator's metrics: which breakers are open, and
how long ago a named heartbeat was stamped. Read at scrape time, bounded, never raising:
a scrape must answer even with Redis away (the answer then leaves the value out).

Apart from ``gates`` (whose keys and client it shares) so the send path's module stays small.
"""

from __future__ import annotations

import logging

import redis

from notifier import gates

logger = logging.getLogger(__name__)

# A scrape reads at most this many open breakers (each a metric series).
OPEN_BREAKERS_MAX = 1000

# Stamps and ages on Redis's clock (TIME), like the gates: hosts whose clocks differ agree.
_STAMP = "local t = redis.call('TIME') redis.call('SET', KEYS[1], t[1] .. '.' .. string.format('%06d', t[2]))"
_AGE = """
local at = redis.call('GET', KEYS[1])
if not at then return false end
local t = redis.call('TIME')
return tostring(t[1] + t[2] / 1000000 - tonumber(at))
"""


def open_breakers() -> list[str] | None:
    """The targets whose breaker is open now (at most ``OPEN_BREAKERS_MAX``); ``None`` when
    Redis cannot say (or there is none configured)."""
    settings = gates._settings_source()
    if not settings.redis_url:
        return None
    prefix, suffix = gates._keys(settings, "breaker", ""), ":open"
    head = prefix[:-1]  # without the closing brace of the hash tag: "<prefix>:gate:breaker:{"
    found: list[str] = []
    try:
        client = gates._client(settings.redis_url)
        for key in client.scan_iter(match=f"{head}*}}{suffix}", count=500):
            found.append(key.decode()[len(head) : -len(suffix) - 1])
            if len(found) >= OPEN_BREAKERS_MAX:
                break
    except redis.RedisError as exc:
        logger.warning("breakers unreadable (%s)", type(exc).__name__)
        return None
    return found


def stamp(name: str) -> None:
    """Note that ``name`` happened now (a heartbeat); Redis away: logged, not raised."""
    settings = gates._settings_source()
    if not settings.redis_url:
        return
    try:
        gates._client(settings.redis_url).eval(_STAMP, 1, _stamp_key(settings, name))
    except redis.RedisError as exc:
        logger.warning("heartbeat %s not stamped (%s)", name, type(exc).__name__)


def stamp_age(name: str) -> float | None:
    """Seconds since ``name`` was last stamped; ``None`` if never, or Redis cannot say."""
    settings = gates._settings_source()
    if not settings.redis_url:
        return None
    try:
        age = gates._client(settings.redis_url).eval(_AGE, 1, _stamp_key(settings, name))
    except redis.RedisError as exc:
        logger.warning("heartbeat %s unreadable (%s)", name, type(exc).__name__)
        return None
    return None if age is None else max(float(age), 0.0)


def _stamp_key(settings: gates.GateSettings, name: str) -> str:
    return f"{settings.key_prefix}:heartbeat:{name}"
