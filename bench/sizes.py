"""How big each figure's runs are: the full sizes of docs/benchmarks.md, and ``--quick``'s
tiny ones, which check the harness in minutes and mean nothing as figures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    create_levels: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    create_step_s: float = 10.0
    create_sustain_s: float = 30.0
    create_floor_s: float = 10.0
    create_warmup_s: float = 1.0
    create_clients: int = 64
    create_p99_ms: float = 50.0
    bulk_items: int = 1000
    bulk_requests: int = 20
    bulk_concurrency: int = 4
    e2e_count: int = 20_000
    light_count: int = 200
    light_span_s: float = 60.0
    light_lead_s: float = 5.0
    burst_count: int = 5_000
    burst_lead_s: float = 15.0
    scale_rows: int = 1_000_000
    sweep_passes: int = 5
    list_page: int = 100
    list_repeats: int = 10
    admin_repeats: int = 10
    memory_count: int = 100_000
    memory_settle_s: float = 5.0
    sink_capacity_s: float = 5.0
    profile_s: float = 10.0
    concurrency_levels: tuple[int, ...] = (2, 4, 8, 16)
    concurrency_latency_ms: float = 50.0
    concurrency_seconds: float = 10.0
    fair_backlog: int = 1000  # client A's webhooks to its slow receiver, one POST each
    fair_slow_ms: float = 9000.0  # how long A's receiver takes to answer
    fair_settle_s: float = 5.0  # A's backlog alone (CPU per deferral) before B starts
    fair_count: int = 200  # client B's webhooks to a fast receiver
    fair_span_s: float = 10.0  # over how long B creates them
    fair_lead_s: float = 2.0  # each due this long after it is created
    broadcast_members: int = 100_000  # a topic's recipients, each with a console address
    schedules: int = 100_000  # enabled schedules, none due
    schedules_due: int = 10_000  # of them made due at once
    digest_members: int = 10_000  # members created, over all clients
    digest_clients: int = 2  # processes creating them at once: one per core of the 2-core bench machine
    digest_windows: int = 300  # open windows they join
    footprint_rate: float = 50.0  # webhooks created (one POST each) and delivered per second
    footprint_load_s: float = 30.0  # for this long


FULL = Sizes()
QUICK = Sizes(
    create_levels=(1, 4),
    create_step_s=1.0,
    create_sustain_s=1.5,
    create_floor_s=1.0,
    create_warmup_s=0.3,
    create_clients=8,
    bulk_items=100,
    bulk_requests=3,
    bulk_concurrency=2,
    e2e_count=200,
    light_count=20,
    light_span_s=2.0,
    light_lead_s=2.0,
    burst_count=200,
    burst_lead_s=3.0,
    scale_rows=20_000,
    sweep_passes=2,
    list_page=100,
    list_repeats=3,
    admin_repeats=3,
    memory_count=1_000,
    memory_settle_s=1.0,
    sink_capacity_s=1.0,
    profile_s=2.0,
    concurrency_levels=(2, 4),
    concurrency_seconds=1.0,
    fair_backlog=20,
    fair_settle_s=1.0,
    fair_count=10,
    fair_span_s=1.0,
    broadcast_members=2_000,
    schedules=2_000,
    schedules_due=500,
    digest_members=400,
    digest_clients=4,
    digest_windows=60,
    footprint_rate=20.0,
    footprint_load_s=2.0,
)
