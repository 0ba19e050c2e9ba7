"""Reads of the shared Redis state for the operator's metrics and dashboard: which breakers are
open, and how long ago a named heartbeat was stamped. Read at scrape time, bounded, never raising:
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


def open_breakers() -> dict[str, float] | None:
    """Each open breaker's target and seconds to its probe (at most ``OPEN_BREAKERS_MAX``), found
    by an incremental SCAN (never ``KEYS``); ``None`` when Redis cannot be read (unknown, not
    "none"); empty without Redis (the embedded default has no breakers)."""
    settings = gates._settings_source()
    if not settings.redis_url:
        return {}
    head, tail = gates._keys(settings, "breaker", "")[:-1], "}:open"  # …:gate:breaker:{target}:open
    pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in head) + "*" + tail
    try:
        client = gates._client(settings.redis_url)
        keys: list[str] = []
        for key in client.scan_iter(match=pattern, count=500):
            keys.append(key.decode())
            if len(keys) >= OPEN_BREAKERS_MAX:
                break
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pttl(key)
            ttls = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("breakers unreadable (%s)", type(exc).__name__)
        return None
    return {key[len(head) : -len(tail)]: ttl / 1000 for key, ttl in zip(keys, ttls, strict=True) if ttl > 0}


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
