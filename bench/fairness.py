"""Fairness (issue 12): one client's slow receiver must not hold another client's notifications back.

Client A queues a backlog of webhooks (one POST each, so one message each) to a receiver
that answers after ``fair_slow_ms``. While the Procfile worker works through it, client B
creates webhooks, each due ``fair_lead_s`` after it is created, to a fast receiver. The
figure is B's lateness: the fast receiver's receive time − ``send_at``. The per-host cap
(``WEBHOOK_HOST_CONCURRENCY``) holds A's receiver to that many sends at once; A's other
sends are deferred ("not now" in the worker's log) and come back later, spending no attempt.
After each run A's backlog is cancelled (the ORM update ``notification_cancel`` makes), so
runs do not pile up.
"""

from __future__ import annotations

import re
import time

from bench.harness import API, Bench, cpu_per_unit, iso, parse_ts
from bench.httpclient import Connection
from bench.report import Row
from bench.stats import median, percentile
from bench.timeliness import lateness_row

SLOW = "sink-slow"  # client A's receiver, beside the fast "sink" (client B's)
NOT_NOW = re.compile(r": not now \(([^)]*)\); again in")
MISSING = " (**counted as late as the wait for them**)"
PER_DEFERRAL = ("worker main", "worker pool", "postgres", "rabbitmq", "redis")


def fig_fairness(b: Bench) -> list[Row]:
    p50s, p99s, maxes, early, lines = b.repeat("fairness", lambda run: fairness_once(b, run))
    b.stack.stop(SLOW)
    b.note(
        "fairness, slow receiver",
        describe(b),
        f"- median of the runs: p50 {median(p50s):.2f} s, p99 {median(p99s):.2f} s, max {median(maxes):.2f} s",
        *lines,
    )
    return [lateness_row("fairness, slow receiver: other client's p99", p99s, early, limit=2, unit="s", fmt="{:,.2f}")]


def describe(b: Bench) -> str:
    s, st = b.sizes, b.stack
    b.django()
    from django.conf import settings

    from notifications import conf

    return (
        f"Client A queues {s.fair_backlog:,} webhooks due now, one POST each (paced under NOTIFY_API_RATE "
        f"{settings.NOTIFY_API_RATE or 'off'}), to a receiver that answers each after {s.fair_slow_ms / 1000:g} s; "
        f"{s.fair_settle_s:g} s later, while the worker works through that backlog, client B creates "
        f"{s.fair_count:,} webhooks over {s.fair_span_s:g} s, one POST each, each due {s.fair_lead_s:g} s after it "
        "is created, to a fast receiver (the sink). Figure: B's lateness = the fast receiver's receive time − "
        f"send_at. Settings: the Procfile worker with WORKER_CONCURRENCY={st.worker_concurrency}, "
        f"WEBHOOK_HOST_CONCURRENCY={settings.WEBHOOK_HOST_CONCURRENCY}, WEBHOOK_TIMEOUT="
        f"{settings.WEBHOOK_TIMEOUT:g} s (a deferred send comes back in about {conf.gate_settings().host_wait:g} s), "
        "the stack's Redis for the gates. In flight at A's receiver = the most of its receives within one answer "
        "time of each other; deferrals = the worker's 'not now' log lines for A's receiver; CPU per deferral = "
        f"CPU of the worker, PostgreSQL, RabbitMQ and Redis over the {s.fair_settle_s:g} s of A's backlog alone ÷ "
        "the deferrals in them."
    )


def fairness_once(b: Bench, run: int) -> tuple[float, float, float, int, str]:
    """One run; (B's p50, p99 and max lateness in s, how many of B's arrived early, note line)."""
    st, s = b.stack, b.sizes
    start_stack(b)
    m: dict = {"slow_host": f"127.0.0.1:{st.sink_ports[SLOW]}", "fast_host": f"127.0.0.1:{st.sink_ports['sink']}"}
    owner = f"bench-fair-a-{run}"
    offset = b.log_size("worker")
    m["queued"] = queue_backlog(b, owner)
    m["alone"], m["alone_cores"], m["alone_s"] = backlog_alone(b, m["slow_host"])
    b_offset = b.log_size("worker")
    meter = st.meter("web", "sink", SLOW, extra=b.split("worker")).start()
    send_at = create_paced(b, b.token("bench-fair-b"))
    m["duplicates"] = b.wait_sink(len(send_at), timeout=s.fair_lead_s + 60)["duplicates"]
    m["cores"] = meter.stop()
    lateness, m["missing"] = lateness_of(b, send_at)
    slow = sorted(b.sink("GET", "/_dump", SLOW)["first"].values())
    m["in_b"], m["in_run"] = deferrals(b.log_since("worker", b_offset)), deferrals(b.log_since("worker", offset))
    m["cancelled"] = cancel_backlog(b, b.user_id(owner))
    m["slow"], m["most"] = len(slow), most_in_flight(slow, s.fair_slow_ms / 1000)
    p50, p99, worst = (percentile(lateness, p) for p in (50, 99, 100))
    early = sum(1 for x in lateness if x < 0)
    line = (
        f"- run {run + 1}: B's lateness p50 {p50:.2f} s, p99 {p99:.2f} s, max {worst:.2f} s, "
        f"min {min(lateness):.2f} s; early {early}. {details(b, m)}"
    )
    b.log(f"fairness run {run + 1}: B p50 {p50:.2f} s p99 {p99:.2f} s max {worst:.2f} s; A in flight ≤ {m['most']}")
    return p50, p99, worst, early, line


def details(b: Bench, m: dict) -> str:
    """The rest of a run's note line: what A's backlog did meanwhile, deferrals, CPU."""
    s, cap, slow_host = b.sizes, host_cap(b), m["slow_host"]
    return (
        f"B's missing {m['missing']}{MISSING if m['missing'] else ''}, deferred {m['in_run'].get(m['fast_host'], 0)}, "
        f"{m['duplicates']} duplicate POSTs. A: {s.fair_backlog:,} queued in {m['queued']:.1f} s; {m['slow']} reached "
        f"its receiver during the run, at most {m['most']} in flight at once (cap {cap}"
        f"{', **exceeded**' if m['most'] > cap else ''}); deferred {m['in_b'].get(slow_host, 0):,} times while B's "
        f"were created and delivered, {m['in_run'].get(slow_host, 0):,} in the whole run; {m['cancelled']:,} left "
        f"and cancelled after it. A's backlog alone: {m['alone']:,} deferrals in {m['alone_s']:.1f} s "
        f"({m['alone'] / m['alone_s']:,.0f}/s), CPU per deferral: "
        f"{cpu_per_unit(m['alone_cores'], m['alone_s'], m['alone'], PER_DEFERRAL)}. "
        f"CPU while B's were created and delivered: {b.fmt_cores(m['cores'])}."
    )


def start_stack(b: Bench) -> None:
    """Web, the Procfile worker at its default concurrency, beat, the fast sink and the slow one, both reset."""
    st = b.stack
    st.start_web()
    st.start_sink()
    st.start_sink(b.sizes.fair_slow_ms, name=SLOW)
    st.start_worker()
    if b.beat:
        st.start_beat()
    b.sink("POST", "/_reset")
    b.sink("POST", "/_reset", SLOW)


def host_cap(b: Bench) -> int:
    b.django()
    from django.conf import settings

    return settings.WEBHOOK_HOST_CONCURRENCY


def rate_interval(b: Bench) -> float:
    """Seconds between one client's requests that stay under NOTIFY_API_RATE (with a margin)."""
    b.django()
    from notifications import conf

    rate = conf.api_rate()
    return rate[1] / rate[0] * 1.25 if rate else 0.0


def queue_backlog(b: Bench, owner: str) -> float:
    """Client A's backlog to the slow receiver, one POST each; seconds it took."""
    body = {"channel": "webhook", "recipient": b.url_of(SLOW), "payload": {"client": "A"}}
    raw = b.request("POST", API, body, b.token(owner))
    t0 = time.monotonic()
    b.timed_requests(raw, b.sizes.fair_backlog, min_interval=rate_interval(b))
    return time.monotonic() - t0


def backlog_alone(b: Bench, slow_host: str) -> tuple[int, dict[str, float], float]:
    """A's backlog with nothing else: (deferrals of A's sends, cores per role, seconds) over ``fair_settle_s``."""
    offset = b.log_size("worker")
    meter = b.stack.meter(extra=b.split("worker")).start()
    t0 = time.monotonic()
    time.sleep(b.sizes.fair_settle_s)
    cores = meter.stop()
    elapsed = time.monotonic() - t0
    b.fmt_cores(cores)  # records the window's "other" load
    return deferrals(b.log_since("worker", offset)).get(slow_host, 0), cores, elapsed


def create_paced(b: Bench, token: str) -> dict[str, float]:
    """Client B's webhooks, spread over ``fair_span_s``, each due ``fair_lead_s`` after it is created: send_at by id."""
    s = b.sizes
    interval = max(s.fair_span_s / s.fair_count, rate_interval(b))
    conn = Connection("127.0.0.1", b.stack.web_port)
    send_at = {}
    try:
        for n in range(s.fair_count):
            t0 = time.monotonic()
            body = {
                "channel": "webhook",
                "recipient": b.sink_url,
                "payload": {"client": "B", "n": n},
                "send_at": iso(time.time() + s.fair_lead_s),
            }
            response = b.loop.run_until_complete(conn.request(b.request("POST", API, body, token)))
            if response.status != 201:
                raise RuntimeError(f"creating B's webhook: HTTP {response.status}: {response.body[:300]!r}")
            data = response.json()
            send_at[data["id"]] = parse_ts(data["send_at"])
            time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    finally:
        conn.close()
    return send_at


def lateness_of(b: Bench, send_at: dict[str, float]) -> tuple[list[float], int]:
    """B's lateness (s) by the fast sink's first receive; one that never came counts as late as the wait."""
    first = b.sink("GET", "/_dump")["first"]
    now = time.time()
    lateness = [first.get(i, now) - at for i, at in send_at.items()]
    return lateness, sum(1 for i in send_at if i not in first)


def deferrals(log: str) -> dict[str, int]:
    """The worker's "not now" lines by the host (``host:port``) their reason names."""
    counts: dict[str, int] = {}
    for reason in NOT_NOW.findall(log):
        match = re.search(r"\b(\d+\.\d+\.\d+\.\d+:\d+)\b", reason)
        host = match.group(1) if match else reason
        counts[host] = counts.get(host, 0) + 1
    return counts


def most_in_flight(arrivals: list[float], answer_s: float) -> int:
    """The most sends at the receiver at once: receives (sorted) within one answer time of each other."""
    most, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= answer_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def cancel_backlog(b: Bench, owner_id: int, timeout: float = 60.0) -> int:
    """Cancel client A's rows still to send, again until none is left or being sent (a send in flight ends
    within the slow answer; one deferred meanwhile goes back to wait); how many were cancelled."""
    b.django()
    from django.utils import timezone

    from notifications.models import LIVE_STATUSES, Notification, Status

    rows = Notification.objects.filter(owner_id=owner_id)
    deadline = time.monotonic() + timeout
    cancelled = 0
    while True:
        now = timezone.now()
        cancelled += rows.filter(status__in=LIVE_STATUSES).update(
            status=Status.CANCELLED, cancelled_at=now, next_attempt_at=None, updated_at=now
        )
        if not rows.filter(status__in=(*LIVE_STATUSES, Status.SENDING)).exists():
            return cancelled
        if time.monotonic() > deadline:
            raise RuntimeError(f"client A's backlog still sending {timeout:g} s after it was cancelled")
        time.sleep(0.5)
