"""What the admin pages share: a count that stops counting (for large tables), and the
permissions of the models only the service writes."""

from __future__ import annotations

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest


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


class ServiceWrittenAdmin:
    """For the models only the service writes: view-only pages (no add, no change form), an
    "operate" permission for the actions that go through the services, and ``deletable``.

    A saved form would write every field back and could undo a worker's concurrent update, and
    each of these rows changes under a rule (a conditional UPDATE, a lock) that only its service
    keeps. So staff read them here and change them through actions. Operate is the model's change
    permission: view-only staff see the rows, not the actions. Put it before ``ModelAdmin``.
    """

    # Whether Django's delete (with the model's delete permission) may remove a row.
    deletable = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may run the actions: holders of the model's change permission."""
        return super().has_change_permission(request)
