"""Who may see the notifications in the admin, and who may act on them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.admin.conftest import CHANGELIST, change_url, html, messages_of, run_action, shown

pytestmark = pytest.mark.django_db


def test_non_staff_user_is_sent_to_the_login_page(client, owner, make_notification):
    make_notification()
    client.force_login(owner)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert f"next={CHANGELIST}" in response["Location"]


def test_anonymous_user_is_sent_to_the_login_page(client):
    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_non_staff_user_cannot_run_an_action(client, owner, make_notification):
    scheduled = make_notification()
    client.force_login(owner)

    response = client.post(CHANGELIST, {"action": "cancel", "_selected_action": [str(scheduled.pk)], "index": 0})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled"


def staff_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_staff_with_view_permission_sees_rows_but_not_the_actions(client, make_notification, django_user_model):
    client.force_login(staff_with(django_user_model, "viewer", "view_notification"))
    scheduled = make_notification()

    response = client.get(CHANGELIST)
    assert shown(response, scheduled) == {scheduled}
    assert 'value="cancel"' not in html(response)
    assert "View notification" in html(client.get(change_url(scheduled)))

    client.post(CHANGELIST, {"action": "cancel", "_selected_action": [str(scheduled.pk)], "index": 0})
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled"


def test_staff_with_change_permission_can_cancel(client, make_notification, django_user_model):
    client.force_login(staff_with(django_user_model, "operator", "view_notification", "change_notification"))
    scheduled = make_notification()

    assert 'value="cancel"' in html(client.get(CHANGELIST))
    response = run_action(client, "cancel", scheduled)

    scheduled.refresh_from_db()
    assert scheduled.status == "cancelled"
    assert messages_of(response) == ["1 notification(s) cancelled."]
