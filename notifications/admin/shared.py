"""What every admin page over a large table shares: a count that stops counting."""

from __future__ import annotations

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connection


class EstimatedCountPaginator(Paginator):
    """Counts the rows of a list exactly up to ``exact_up_to``; beyond that, PostgreSQL's estimate.

    The admin counts the rows of every list it shows (for "N notifications" and the page links):
    over a million rows that COUNT(*) reads a million index entries on each page view. Past
    ``exact_up_to`` nobody needs the exact number, so counting stops there and the planner's
    estimate for the query (from the table's statistics, ``pg_class.reltuples``) stands in; the
    last page links are then approximate. Elsewhere than on PostgreSQL the count is exact.
    """

    exact_up_to = 10_000

    @cached_property
    def count(self) -> int:
        counted = self.object_list.order_by()[: self.exact_up_to + 1].count()
        if counted <= self.exact_up_to:
            return counted
        if connection.vendor != "postgresql":
            return self.object_list.count()
        plan = json.loads(self.object_list.order_by().values("pk").explain(format="json"))
        return max(int(plan[0]["Plan"]["Plan Rows"]), counted)
