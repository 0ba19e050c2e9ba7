"""The gates before a send: a circuit breaker per provider and per webhook host, a cap on
sends in flight to one webhook host, and a rate per provider, all shared by every worker
through Redis.

A closed gate is "not now": :class:`NotNow` says how long to wait, and the caller puts
the notification back without spending an attempt. The state lives in Redis so every
worker process on every host sees the same breaker and the same counts; each decision
is one Lua script, atomic, on Redis's own clock (``TIME``), so workers whose clocks
differ still agree. Every key has a TTL: a worker that dies holding a slot frees it
when its lease would have ended. Redis unreachable: every gate opens (the claim still
guards against duplicates), and a warning is logged.

Hand-written because the libraries that exist keep their state in one process
(pybreaker's Redis storage is per-breaker and not atomic across workers; limits and
redis-py offer rates but not concurrency leases or a half-open probe shared by all).

- Breaker: calls and transient failures are counted in ``BUCKETS`` sub-windows of
  ``window`` seconds. With at least ``min_calls`` calls and a failure share of at least
  ``threshold``, it opens for ``cooldown`` seconds; then exactly one call (the probe)
  goes through: its success closes the breaker, its failure opens it again.
- Host concurrency: a sorted set of leases (score = expiry) per host, at most ``limit``.
- Provider rate: a counter per fixed window of the rate's period.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import redis

logger = logging.getLogger(__name__)

BUCKETS = 6


class NotNow(Exception):
    """A gate is closed: try again in ``retry_in`` seconds, spending no attempt."""

    def __init__(self, reason: str, *, retry_in: float, until: datetime | None = None, kind: str = "") -> None:
        super().__init__(reason)
        self.retry_in = retry_in
        # Which gate, in a word (``breaker``, ``host``, ``rate``, ``quiet_hours``): a metric's label.
        self.kind = kind
        # An exact time to wait for (the end of quiet hours), when the gate knows one.
        self.until = until


@dataclass(frozen=True)
class GateKeys:
    """Which gates a send passes: its breaker, its webhook host (for the concurrency cap),
    and its provider (for ``NOTIFY_RATE_<PROVIDER>``)."""

    breaker: str
    host: str = ""
    rate: str = ""


@dataclass(frozen=True)
class GateSettings:
    redis_url: str = ""
    key_prefix: str = "notifier"
    breaker_min_calls: int = 20
    breaker_window: float = 60.0
    breaker_threshold: float = 0.5
    breaker_cooldown: float = 30.0
    host_concurrency: int = 4
    host_lease: float = 60.0
    # How long a send refused a host slot waits: about half a slow call, so a backlog for one
    # host comes back as slots free rather than all at once.
    host_wait: float = 5.0
    # provider name (upper case) → (sends, period in seconds)
    rates: dict[str, tuple[int, int]] = field(default_factory=dict)


_settings_source: Callable[[], GateSettings] = GateSettings


def configure(source: Callable[[], GateSettings]) -> None:
    """Where the gates read their settings from, at each use (the app passes its accessor)."""
    global _settings_source
    _settings_source = source


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


_BREAKER_ALLOW = """
-- KEYS: open, tripped, probe. ARGV: probe lease ms. Returns ms to wait, or 0 to go.
local open_ttl = redis.call('PTTL', KEYS[1])
if open_ttl > 0 then return open_ttl end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return -1 end
local probe_ttl = redis.call('PTTL', KEYS[3])
if probe_ttl > 0 then return probe_ttl end
return 1000
"""

_BREAKER_RECORD = """
-- KEYS: open, tripped, probe, bucket prefix. ARGV: failed (0/1), bucket ms, buckets,
-- min calls, threshold, cooldown ms, was probe (0/1, or 'auto': a probe if tripped). Returns 1 when it opened.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local width = tonumber(ARGV[2])
local current = math.floor(now / width)
local failed = tonumber(ARGV[1])
if ARGV[7] == '1' or (ARGV[7] == 'auto' and redis.call('EXISTS', KEYS[2]) == 1) then
  redis.call('DEL', KEYS[3])
  if failed == 1 then
    redis.call('SET', KEYS[1], '1', 'PX', ARGV[6])
    return 1
  end
  redis.call('DEL', KEYS[2])
  for i = 0, tonumber(ARGV[3]) - 1 do
    redis.call('DEL', KEYS[4] .. ':c:' .. (current - i), KEYS[4] .. ':f:' .. (current - i))
  end
  return 0
end
-- Tripped: only the probe decides (a call let through before the breaker opened does not).
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = width * (tonumber(ARGV[3]) + 1)
redis.call('INCR', KEYS[4] .. ':c:' .. current)
redis.call('PEXPIRE', KEYS[4] .. ':c:' .. current, ttl)
if failed == 1 then
  redis.call('INCR', KEYS[4] .. ':f:' .. current)
  redis.call('PEXPIRE', KEYS[4] .. ':f:' .. current, ttl)
end
local calls, failures = 0, 0
for i = 0, tonumber(ARGV[3]) - 1 do
  calls = calls + tonumber(redis.call('GET', KEYS[4] .. ':c:' .. (current - i)) or '0')
  failures = failures + tonumber(redis.call('GET', KEYS[4] .. ':f:' .. (current - i)) or '0')
end
if failed == 1 and calls >= tonumber(ARGV[4]) and failures >= tonumber(ARGV[5]) * calls then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[6])
  redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[6]) * 100)
  return 1
end
return 0
"""

_LEASE_ACQUIRE = """
-- KEYS: leases, line prefix. ARGV: limit, lease ms, lease id, line window ms.
-- Returns 0 when a slot is taken, else the send's place in line among those refused in
-- this window: the caller spaces the waiting sends out by it instead of all coming back at once.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local window = tonumber(ARGV[4])
local line = KEYS[2] .. ':' .. math.floor(now / window)
local place = redis.call('INCR', line)
if place == 1 then redis.call('PEXPIRE', line, window * 2) end
return place
"""

_RATE_TAKE = """
-- KEYS: counter prefix. ARGV: limit, period ms. Returns 0 when taken, else ms to the next window.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local period = tonumber(ARGV[2])
local window = math.floor(now / period)
local key = KEYS[1] .. ':' .. window
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, period * 2) end
if count <= tonumber(ARGV[1]) then return 0 end
return (window + 1) * period - now
"""


@dataclass
class Admission:
    """A send let through: ``failed()`` or ``succeeded()`` tells the breaker how it went."""

    keys: GateKeys
    settings: GateSettings
    probe: bool = False
    lease_id: str = ""
    slot_taken_at: float = 0.0
    outcome_failed: bool | None = None

    def failed(self) -> None:
        self.outcome_failed = True

    def succeeded(self) -> None:
        self.outcome_failed = False


def _keys(settings: GateSettings, kind: str, name: str) -> str:
    return f"{settings.key_prefix}:gate:{kind}:{{{name}}}"


@contextlib.contextmanager
def admit(keys: GateKeys) -> Iterator[Admission]:
    """Pass the gates of ``keys`` or raise :class:`NotNow`; inside the block the send runs,
    and the caller marks the admission ``failed()`` (a transient failure) or ``succeeded()``.
    Leaving the block records the outcome with the breaker and frees the host slot."""
    settings = _settings_source()
    admission = Admission(keys, settings)
    if settings.redis_url:
        _pass(admission)
    try:
        yield admission
    finally:
        if settings.redis_url:
            _leave(admission)


def _pass(admission: Admission) -> None:
    settings, keys = admission.settings, admission.keys
    base = _keys(settings, "breaker", keys.breaker)
    try:
        client = _client(settings.redis_url)
        if keys.breaker:
            wait = client.eval(
                _BREAKER_ALLOW, 3, f"{base}:open", f"{base}:tripped", f"{base}:probe", int(settings.host_lease * 1000)
            )
            if wait > 0:
                raise NotNow(f"circuit breaker open for {keys.breaker}", retry_in=_spread(wait / 1000), kind="breaker")
            admission.probe = wait == -1
        rate = settings.rates.get(keys.rate.upper()) if keys.rate else None
        if rate:
            _take_rate(client, settings, keys.rate.upper(), limit=rate[0], period=rate[1], what=keys.rate)
        if keys.host and settings.host_concurrency > 0:
            _take_host_slot(client, admission)
    except NotNow:
        if admission.probe:
            _forget_probe(admission)
        raise
    except redis.RedisError as exc:
        logger.warning("gates unavailable (%s): sending without them", type(exc).__name__)


def _take_rate(client: redis.Redis, settings: GateSettings, name: str, *, limit: int, period: int, what: str) -> None:
    wait = client.eval(_RATE_TAKE, 1, _keys(settings, "rate", name), limit, period * 1000)
    if wait > 0:
        raise NotNow(f"rate limit of {what} reached", retry_in=_spread(wait / 1000), kind="rate")


def take_rate(name: str, *, limit: int, period: int, what: str) -> None:
    """Count one send against the rate ``name`` (``limit`` per ``period`` seconds, a fixed window
    shared by every worker), or raise ``NotNow`` until the next window. For rates that are not a
    provider's (a recipient's): ``what`` names it in the reason. Redis down: allowed."""
    settings = _settings_source()
    if not settings.redis_url:
        return
    try:
        _take_rate(_client(settings.redis_url), settings, name, limit=limit, period=period, what=what)
    except redis.RedisError as exc:
        logger.warning("gates unavailable (%s): sending without the rate of %s", type(exc).__name__, what)


# A host whose sends take about this long or less frees a slot soon: wait for it here, up
# to IN_PROCESS_WAIT, rather than send the notification round the broker again.
FAST_HOLD = 0.25
IN_PROCESS_WAIT = 1.0

_HOLD_RECORD = """
-- KEYS: hold estimate. ARGV: seconds this send held its slot. A moving average, kept an hour.
local old = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
redis.call('SET', KEYS[1], tostring(old * 0.8 + tonumber(ARGV[1]) * 0.2), 'EX', 3600)
"""


def _take_host_slot(client: redis.Redis, admission: Admission) -> None:
    """A slot among ``host_concurrency`` for the send's host, or ``NotNow``.

    How long a slot is held is measured per host (a moving average of its sends). For a
    fast host a refused send waits here for the slot, briefly (a deferral costs more than
    the send). Otherwise it is deferred by its place in line: the n-th send refused in a
    window comes back after about ``n / host_concurrency`` holds, so a backlog for a slow
    host returns at the pace its slots free up rather than churning through the workers.
    """
    settings, keys = admission.settings, admission.keys
    lease_id = uuid.uuid4().hex
    held = client.get(_keys(settings, "hold", keys.host))
    hold = float(held) if held is not None else None
    give_up_at = time.monotonic() + IN_PROCESS_WAIT
    while True:
        place = client.eval(
            _LEASE_ACQUIRE,
            2,
            _keys(settings, "host", keys.host),
            _keys(settings, "line", keys.host),
            settings.host_concurrency,
            int(settings.host_lease * 1000),
            lease_id,
            int(settings.host_wait * 1000),
        )
        if place == 0:
            admission.lease_id, admission.slot_taken_at = lease_id, time.monotonic()
            return
        if hold is None or hold > FAST_HOLD or time.monotonic() > give_up_at:
            break
        time.sleep(min(max(hold, 0.002), 0.05))
    turns = max(1.0, place / settings.host_concurrency)
    wait = max(hold if hold is not None else settings.host_wait, 0.5) * turns
    raise NotNow(f"{settings.host_concurrency} sends to {keys.host} in flight", retry_in=_spread(wait), kind="host")


def _leave(admission: Admission) -> None:
    settings, keys = admission.settings, admission.keys
    try:
        client = _client(settings.redis_url)
        if admission.lease_id:
            client.zrem(_keys(settings, "host", keys.host), admission.lease_id)
            held_for = time.monotonic() - admission.slot_taken_at
            client.eval(_HOLD_RECORD, 1, _keys(settings, "hold", keys.host), f"{held_for:.6f}")
        if admission.outcome_failed is None or not keys.breaker:
            if admission.probe:
                _forget_probe(admission)
            return
        _record(client, settings, keys.breaker, failed=admission.outcome_failed, probe=str(int(admission.probe)))
    except redis.RedisError as exc:
        logger.warning("gates unavailable (%s): outcome not counted", type(exc).__name__)


def record_outcome(breaker: str, *, failed: bool) -> None:
    """Count a call's outcome against ``breaker`` outside :func:`admit`: for a provider that
    routes around its own open breaker (email to its fallback) and so never waits on it. While
    the breaker is tripped, the call is its probe."""
    settings = _settings_source()
    if not settings.redis_url:
        return
    try:
        _record(_client(settings.redis_url), settings, breaker, failed=failed, probe="auto")
    except redis.RedisError as exc:
        logger.warning("gates unavailable (%s): outcome not counted", type(exc).__name__)


def _record(client: redis.Redis, settings: GateSettings, breaker: str, *, failed: bool, probe: str) -> None:
    base = _keys(settings, "breaker", breaker)
    client.eval(
        _BREAKER_RECORD,
        4,
        f"{base}:open",
        f"{base}:tripped",
        f"{base}:probe",
        f"{base}:calls",
        int(failed),
        int(settings.breaker_window * 1000 / BUCKETS),
        BUCKETS,
        settings.breaker_min_calls,
        settings.breaker_threshold,
        int(settings.breaker_cooldown * 1000),
        probe,
    )


def _forget_probe(admission: Admission) -> None:
    base = _keys(admission.settings, "breaker", admission.keys.breaker)
    with contextlib.suppress(redis.RedisError):
        _client(admission.settings.redis_url).delete(f"{base}:probe")


def is_open(breaker: str) -> bool:
    """Whether ``breaker`` is open now (for a provider with a fallback); False when unknown."""
    settings = _settings_source()
    if not settings.redis_url:
        return False
    try:
        return bool(_client(settings.redis_url).exists(f"{_keys(settings, 'breaker', breaker)}:open"))
    except redis.RedisError:
        return False


def _spread(seconds: float) -> float:
    """A wait with jitter, so many deferred sends do not all come back at the same instant."""
    return max(seconds, 0.5) * random.uniform(1.0, 1.5)
