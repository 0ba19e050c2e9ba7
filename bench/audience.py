"""Recipient figures: a create sent to a profile with a template against a plain create, and the
CPU of the preference check and of rendering, per notification."""

from __future__ import annotations

import time
from typing import Any

from bench.harness import API, Bench, cpu_per_unit, iso, require_ok
from bench.report import Row

TEMPLATE = {
    "subject": "Your order {{ order }} has shipped",
    "body": (
        "Hello {{ name }},\n\nOrder {{ order }} ({{ items|length }} items) left our warehouse and should reach "
        "you {{ when }}.{% if coupon %} Use {{ coupon }} on your next order.{% endif %}\n\n"
        "Sent to {{ recipient.id }} in {{ recipient.locale }}."
    ),
    "html": (
        "<p>Hello {{ name }},</p><p>Order <b>{{ order }}</b> ({{ items|length }} items) ships {{ when }}.</p>"
        "<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>"
    ),
}
DATA = {"name": "Ada", "order": 42, "when": "on Tuesday", "items": ["book", "lamp", "pen"], "coupon": "THANKS10"}
PREFERENCES = {
    "channels": {"sms": False},
    "categories": {"marketing": False, "billing": {"channels": {"email": True, "sms": False}}},
}
QUIET_HOURS = {"start": "22:00", "end": "07:00"}
CALLS = 20_000


def _profile_and_template(b: Bench, usernames: list[str]) -> None:
    """Each client's profile ``bench-user`` and template ``bench-order`` (console, French)."""
    from django.contrib.auth import get_user_model

    from notifications.models import Recipient, Template

    for user in get_user_model().objects.filter(username__in=usernames):
        Recipient.objects.update_or_create(
            owner=user,
            external_id="bench-user",
            defaults={"timezone": "Europe/Paris", "locale": "fr", "preferences": PREFERENCES},
        )
        Template.objects.update_or_create(
            owner=user, name="bench-order", defaults={**TEMPLATE, "translations": {"fr": TEMPLATE}}
        )


CONCURRENCY = 4


def _create_requests(b: Bench) -> tuple[list[bytes], list[bytes]]:
    """Plain creates and creates to the profile with the template, one per client in turn."""
    usernames = [f"bench-create-to-{i}" for i in range(b.sizes.create_clients)]
    tokens = [b.token(name) for name in usernames]
    _profile_and_template(b, usernames)
    day = iso(time.time() + 86400)
    plain = {"channel": "console", "recipient": "bench-user", "body": "hello", "send_at": day}
    to = {"channel": "console", "to": "bench-user", "template": "bench-order", "data": DATA, "send_at": day}
    to["category"] = "billing"
    return [b.request("POST", API, plain, t) for t in tokens], [b.request("POST", API, to, t) for t in tokens]


def _create_to_once(b: Bench, run: int, plain: list[bytes], to: list[bytes]) -> tuple[float, float, str]:
    """One run: the plain creates, then those to the profile; (to req/s, plain req/s, note line)."""
    s = b.sizes
    results = {}
    for name, requests in (("plain", plain), ("to", to)):
        r, cores = b.load(
            requests, concurrency=CONCURRENCY, duration=s.create_sustain_s, warmup=s.create_warmup_s, meter=("web",)
        )
        require_ok(r, f"creates ({name})")
        results[name] = (r, cores)
    (p, pcores), (t, tcores) = results["plain"], results["to"]
    line = (
        f"- run {run + 1}: with to + template {t['rps']:,.0f} req/s (p99 {t['latency']['p99']:.1f} ms, "
        f"statuses {t['statuses']}), plain {p['rps']:,.0f} req/s (p99 {p['latency']['p99']:.1f} ms); "
        f"{t['rps'] / p['rps']:.2f}×. Per request: with to + template "
        f"{cpu_per_unit(tcores, t['elapsed'], t['ok'], ('web', 'postgres'))}; plain "
        f"{cpu_per_unit(pcores, p['elapsed'], p['ok'], ('web', 'postgres'))}."
    )
    b.log(f"create with to run {run + 1}: {t['rps']:.0f} vs plain {p['rps']:.0f} req/s")
    return t["rps"], p["rps"], line


def fig_create_to(b: Bench) -> list[Row]:
    s = b.sizes
    b.stack.start_web()
    plain, to = _create_requests(b)
    b.load(plain + to, concurrency=2, duration=s.create_warmup_s * 2)  # warm both workers
    values, floors, lines = b.repeat("create with to", lambda run: _create_to_once(b, run, plain, to))
    b.note(
        "create to a recipient with a template",
        f"POST {API} with `to` (a profile with preferences, in Europe/Paris, locale fr), `category` and "
        "`template` (subject, body and html with a loop, a filter and a condition, its French translation "
        "picked by the profile's locale), against the plain console create of the single-create figure, "
        f"each for {s.create_sustain_s:g} s at concurrency {CONCURRENCY}, one after the other in each run, "
        f"{s.create_clients} clients in turn:",
        *lines,
    )
    return [
        Row(
            "create with to + template",
            "req/s",
            "≥ 0.85× a plain create",
            values,
            floors,
            "plain create",
            "req/s",
            check=lambda row: row.ratio >= 0.85,
        )
    ]


def _cpu_per_call(call: Any, calls: int = CALLS) -> float:
    """Milliseconds of this process's CPU per call, over ``calls`` calls."""
    call()
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) * 1000 / calls


def _profile() -> Any:
    """A profile as the rules read it: an email address, preferences, quiet hours in Paris."""
    from types import SimpleNamespace

    return SimpleNamespace(
        external_id="bench-user",
        email="ada@example.com",
        phone="+14155550100",
        telegram_chat_id=None,
        slack_id=None,
        webhook_url=None,
        push_tokens=[],
        timezone="Europe/Paris",
        locale="fr",
        preferences=PREFERENCES,
        quiet_hours=QUIET_HOURS,
    )


def fig_audience_cpu(b: Bench) -> list[Row]:
    """In this process, no server involved: what the rules cost, as the create and the send run them."""
    b.django()
    from datetime import UTC, datetime

    from notifications import audience, rendering

    profile = _profile()
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def check() -> None:
        audience.allows(profile.preferences, category="billing", channel="email")
        audience.addresses_for(profile, "email")
        audience.quiet_until(profile.quiet_hours, timezone_name=profile.timezone, now=now)

    scope = {**DATA, "recipient": audience.template_context(profile)}

    def render() -> None:
        for part in ("subject", "body", "html"):
            rendering.render(TEMPLATE[part], scope, html=part == "html")

    def measure(run: int) -> tuple[float, float, str]:
        check_ms, render_ms = _cpu_per_call(check), _cpu_per_call(render, CALLS // 4)
        b.log(f"audience run {run + 1}: check {check_ms:.4f} ms, render {render_ms:.4f} ms")
        return check_ms, render_ms, f"- run {run + 1}: check {check_ms:.4f} ms, render {render_ms:.4f} ms of CPU"

    checks, renders, lines = b.repeat("audience cpu", measure)
    b.note(
        "preference check and render, CPU per notification",
        "In one process, `time.process_time()` over "
        f"{CALLS:,} preference checks (preferences with a channel and a category rule, the email address, "
        f"quiet hours 22:00–07:00 in Europe/Paris) and {CALLS // 4:,} renders (subject, body and html of the "
        "template of the create figure, with the profile as `recipient`; the compiled template is kept "
        "between renders, as the web process keeps it):",
        *lines,
    )
    rows = []
    for name, values in (("preference check", checks), ("template render", renders)):
        rows.append(
            Row(
                f"{name}: CPU per notification",
                "ms",
                "≤ 0.2 ms",
                values,
                better="lower",
                check=lambda row: row.median <= 0.2,
                fmt="{:,.4f}",
            )
        )
    return rows
