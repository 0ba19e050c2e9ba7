"""The admin at scale, on the scale figures' table (a million rows in full runs): the notification
changelist's first page, each list filter, and a search by id and by idempotency key, as an
operator's browser asks gunicorn for them (floor: the admin's index page), each with its plan."""

from __future__ import annotations

import re

from bench.harness import Bench
from bench.httpclient import build_request
from bench.report import Row
from bench.scale import seed
from bench.stats import median

CHANGELIST = "/admin/notifications/notification/"
TABLE = '"notifications_notification"'
OPERATOR = "bench-admin"
# One row in KEYED carries an idempotency key, as clients that send one do.
KEYED = 10


def pages(row_id: str, key: str) -> dict[str, dict[str, str]]:
    """Each page the figure times: its name in the report and its query string."""
    return {
        "changelist": {},
        "filter status=failed": {"status__exact": "failed"},
        "filter channel=webhook": {"channel": "webhook"},
        "filter priority=high": {"priority__exact": "high"},
        "filter failure reason=permanent": {"failure_reason__exact": "permanent"},
        "search by id": {"q": row_id},
        "search by idempotency key": {"q": key},
    }


def fig_admin(b: Bench) -> list[Row]:
    seed(b)
    row_id, key = with_keys(b)
    st, s = b.stack, b.sizes
    st.start_web()
    cookie = session_cookie()
    requests = {name: admin_get(b, query, cookie) for name, query in pages(row_id, key).items()}
    index = admin_get(b, None, cookie)
    for name, raw in requests.items():  # each page answers (a login page would be a 302), and warms
        status = b.http(raw).status
        if status != 200:
            raise RuntimeError(f"admin {name}: HTTP {status}")
    *values, floors, lines = b.repeat("admin", lambda run: admin_once(b, run, requests, index))
    b.note(
        "admin at scale",
        f"GET {CHANGELIST} as a logged-in superuser, through gunicorn: the first page (100 rows) of every "
        f"client's notifications, then filtered, then searched, on the table of {s.scale_rows:,} rows (1 in "
        f"{KEYED} with an idempotency key); sequential requests, raw HTTP client in the harness; floor: GET "
        "/admin/ (the index page: session, user, template) the same way.",
        *lines,
        "",
        *admin_plans(b, pages(row_id, key)),
    )
    return [
        Row(
            f"admin at scale: {name}",
            "ms",
            "≤ 200 ms, through indexes",
            column,
            floors,
            "GET /admin/",
            "ms",
            better="lower",
            check=lambda row, name=name: row.median <= 200 and not b.facts["admin_seq_scan"].get(name, True),
            fmt="{:,.1f}",
        )
        for name, column in zip(requests, values, strict=True)
    ]


def with_keys(b: Bench) -> tuple[str, str]:
    """Give 1 in ``KEYED`` rows an idempotency key (the seed gives none); an id and a key to search for."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE notifications_notification SET idempotency_key = 'order-' || id "
            "WHERE idempotency_key IS NULL AND get_byte(uuid_send(id), 0) %% %s = 0",
            [KEYED],
        )
        if cur.rowcount:
            b.log(f"gave {cur.rowcount:,} rows an idempotency key")
            cur.execute("VACUUM ANALYZE notifications_notification")
        # From the middle of the table: neither the newest nor the oldest row.
        cur.execute(
            "SELECT id, idempotency_key FROM notifications_notification WHERE idempotency_key IS NOT NULL "
            "ORDER BY created_at DESC OFFSET %s LIMIT 1",
            [b.sizes.scale_rows // KEYED // 2],
        )
        row_id, key = cur.fetchone()
    return str(row_id), key


def session_cookie() -> str:
    """A logged-in superuser's session cookie, made as the admin's login makes it."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.filter(username=OPERATOR).first()
    if user is None:
        user = get_user_model().objects.create_superuser(OPERATOR, email="", password=None)
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def admin_get(b: Bench, query: dict[str, str] | None, cookie: str) -> bytes:
    from urllib.parse import urlencode

    path = "/admin/" if query is None else CHANGELIST + (f"?{urlencode(query)}" if query else "")
    return build_request("GET", path, "127.0.0.1", b.stack.web_port, {"Cookie": cookie})


def admin_once(b: Bench, run: int, requests: dict[str, bytes], index: bytes) -> tuple:
    """One run: each page's median ms, the floor's, and a note line."""
    n = b.sizes.admin_repeats
    b.stack.start_web()
    medians = [median(b.timed_requests(raw, n)[0]) * 1000 for raw in requests.values()]
    floor = median(b.timed_requests(index, n)[0]) * 1000
    line = (
        f"- run {run + 1}: "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in zip(requests, medians, strict=True))
        + f"; GET /admin/ {floor:.1f} ms (medians of {n} sequential requests each)."
    )
    return (*medians, floor, line)


def admin_plans(b: Bench, queries: dict[str, dict[str, str]]) -> list[str]:
    """For the notes, how PostgreSQL reads each page's rows (the admin's own query, caught through
    Django's test client in this process); records in ``b.facts`` whether any reads the whole table."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=OPERATOR))
    lines = ["How each page's rows are read (`EXPLAIN ANALYZE` of the query that reads them):", ""]
    for name, query in queries.items():
        plan = page_plan(client, query)
        scans = sorted(set(re.findall(r"((?:Bitmap Index|Index Only|Index|Seq) Scan(?: using| on) \w+)", plan)))
        took = re.search(r"Execution Time: ([\d.]+) ms", plan)
        lines.append(f"- {name}: {'; '.join(scans) or plan} ({took.group(1) if took else '?'} ms in PostgreSQL)")
        b.facts.setdefault("admin_seq_scan", {})[name] = "Seq Scan on notifications_notification" in plan
    return lines


def page_plan(client, query: dict[str, str]) -> str:
    """The plan of the query that reads the page's rows; a failure is noted, not raised: it is not the figure."""
    try:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            client.get(CHANGELIST, query)
        [sql] = [q["sql"] for q in captured if q["sql"].startswith(f"SELECT {TABLE}.") and "ORDER BY" in q["sql"]]
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
            return "\n".join(row[0] for row in cur.fetchall())
    except Exception as exc:  # the plan is a note, not the figure
        return f"(EXPLAIN failed: {exc})"
