"""What a new client's first requests meet: a path without its slash, a wrong path or id, a body
without a Content-Type, a Bearer key or a malformed Authorization header. Each answer is JSON
that says what is wrong; none is a redirect, an HTML page or "This field is required"."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Notification
from tests.api.conftest import URL, console

NO_SLASH = URL.rstrip("/")

# --- paths ---------------------------------------------------------------------------


def test_a_post_without_the_trailing_slash_creates(alice):
    response = alice.post(NO_SLASH, console(), format="json")

    assert response.status_code == 201, response.content
    assert Notification.objects.count() == 1


def test_every_route_takes_its_path_without_the_slash(alice, created):
    one = f"{URL}{created['id']}"

    assert alice.get(NO_SLASH).status_code == 200
    assert alice.get(one).status_code == 200
    assert alice.patch(one, {"body": "new"}, format="json").status_code == 200
    assert alice.get(f"{one}/attempts").status_code == 200
    assert alice.post(f"{one}/cancel").status_code == 200
    assert alice.post(f"{URL}bulk", {"notifications": [console()]}, format="json").status_code == 201
    assert alice.get("/api/v1/webhook-secret").status_code == 200
    assert alice.get("/api/docs").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/nope/",
        "/api/v1/notification/",
        "/api/v2/notifications/",
        f"{URL}not-a-uuid/",
        f"{URL}not-a-uuid",
        f"{URL}not-a-uuid/cancel/",
        f"{URL}12345/attempts/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_paths_and_malformed_ids_are_json_404(alice, path, method):
    response = getattr(alice, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert path.split("?")[0] in response.json()["detail"]


def test_an_unknown_path_is_json_404_without_credentials_or_csrf_token(db):
    client = APIClient(enforce_csrf_checks=True)

    for response in (client.get("/api/v1/nope"), client.post("/api/v1/nope", {"a": 1}, format="json")):
        assert response.status_code == 404
        assert "detail" in response.json()


def test_an_unknown_id_is_json_404(alice):
    response = alice.get(f"{URL}00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_unexpected_error_is_json_500_under_api(alice, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "notification_create", fail)
    alice.raise_request_exception = False

    response = alice.post(URL, console(), format="json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# --- Content-Type ----------------------------------------------------------------------

ACCEPTED = "application/json, application/x-www-form-urlencoded, multipart/form-data"


@pytest.mark.parametrize("body", ["", json.dumps(console())], ids=["no body", "a JSON body"])
def test_a_post_without_a_content_type_is_415_naming_the_accepted_types(alice, body):
    response = alice.generic("POST", URL, body, content_type=None if not body else "")

    assert response.status_code == 415
    assert "No Content-Type" in response.json()["detail"]
    assert ACCEPTED in response.json()["detail"]
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("body", ["", json.dumps(console())], ids=["no body", "a JSON body"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_an_unsupported_content_type_is_415_naming_the_accepted_types(alice, content_type, body):
    response = alice.generic("POST", URL, body, content_type=content_type)

    assert response.status_code == 415
    assert ACCEPTED in response.json()["detail"]
    assert Notification.objects.count() == 0


def test_json_sent_as_a_form_like_curl_d_does_is_415_saying_to_send_json(alice):
    body = json.dumps(console(recipient="https://example.com/?a=b&c=d"))

    response = alice.generic("POST", URL, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["detail"]
    assert Notification.objects.count() == 0


def test_patch_and_bulk_without_a_content_type_are_415(alice, created):
    assert alice.generic("PATCH", f"{URL}{created['id']}/", content_type=None).status_code == 415
    assert alice.generic("POST", f"{URL}bulk/", content_type=None).status_code == 415


def test_actions_without_a_body_need_no_content_type(alice, created):
    assert alice.generic("POST", f"{URL}{created['id']}/cancel/", content_type=None).status_code == 200


# --- Authorization -----------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "bearer", "TOKEN"])
def test_the_key_is_accepted_as_token_or_bearer(alice, keyword):
    key = Token.objects.get(user=alice.user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")

    response = client.post(URL, console(), format="json")

    assert response.status_code == 201
    assert Notification.objects.get().owner == alice.user


@pytest.mark.parametrize(
    "header",
    ["{key}", "Basic dXNlcjpwYXNz", "Token", "Bearer", "Bearer {key} extra", "Key {key}", "Token: {key}"],
)
def test_a_malformed_authorization_header_is_401_saying_what_is_expected(alice, header):
    key = Token.objects.get(user=alice.user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(key=key))

    response = client.post(URL, console(), format="json")

    assert response.status_code == 401
    assert "Token <key>" in response.json()["detail"]
    assert "Bearer <key>" in response.json()["detail"]
    assert response["WWW-Authenticate"]
    assert Notification.objects.count() == 0


def test_a_wrong_key_is_still_401_invalid_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-key")

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
