"""Password logins are rate-limited (django-axes): five failures for one username from one address
lock that pair out for 15 minutes, even with the right password; API tokens are not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.test_settings import start

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Every login hashes a password: Django's default hasher would make each take a fifth of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)


def admin_login(client, password: str, username: str = "ops", address: str = "203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail(client, times: int, **who: str) -> list[int]:
    """Log in with a wrong password ``times`` times; the status of each answer."""
    return [admin_login(client, "wrong", **who).status_code for _ in range(times)]


def test_a_good_login_after_four_failures_works(client, operator):
    assert fail(client, 4) == [200] * 4  # the form again, with its error

    assert logged_in(admin_login(client, PASSWORD))


def test_after_five_failures_the_right_password_is_refused(client, operator):
    assert fail(client, 5) == [200] * 4 + [429]  # the fifth failure locks the pair out

    response = admin_login(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_good_login_clears_the_count(client, operator):
    fail(client, 4)
    assert logged_in(admin_login(client, PASSWORD))
    client.logout()

    fail(client, 4)
    assert logged_in(admin_login(client, PASSWORD))


def test_the_lockout_is_for_that_username_from_that_address(client, operator, django_user_model):
    django_user_model.objects.create_user(username="other", password=PASSWORD, is_staff=True)
    fail(client, 5)

    assert logged_in(admin_login(client, PASSWORD, address="198.51.100.9"))
    client.logout()
    assert logged_in(admin_login(client, PASSWORD, username="other"))


def test_the_lockout_ends_after_fifteen_minutes(client, operator):
    fail(client, 5)

    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert admin_login(client, PASSWORD).status_code == 429
    # A failure during the lockout starts its 15 minutes again: this is 14 + 16 minutes on.
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        assert logged_in(admin_login(client, PASSWORD))


def test_the_browsable_api_login_is_rate_limited_too(client, operator):
    for _ in range(5):
        client.post("/api-auth/login/", {"username": "ops", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")

    response = client.post(
        "/api-auth/login/", {"username": "ops", "password": PASSWORD, "next": "/api/v1/"}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_out_user_keeps_its_api_token(client, operator):
    token = Token.objects.create(user=operator)
    fail(client, 5)

    response = client.get(
        "/api/v1/notifications/", headers={"Authorization": f"Token {token.key}"}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("name", "value"), [("AXES_COOLOFF_TIME", "15"), ("AXES_COOLOFF_TIME", "soon"), ("AXES_FAILURE_LIMIT", "0")]
)
def test_a_malformed_lockout_setting_stops_the_process_naming_it(name, value):
    done = start(["manage.py", "check"], **{name: value})

    assert done.returncode != 0
    assert f"{name}: " in done.stderr.splitlines()[-1], done.stderr[-2000:]
