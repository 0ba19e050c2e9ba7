"""Bad input to create, bulk and PATCH: a 400 naming the field, no row written, never a 500."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DataError, IntegrityError

from notifications import conf, services
from notifications.api.fields import MAX_PAYLOAD_DEPTH, payload_problem
from notifications.models import Notification
from tests.api.conftest import URL, console, hook

ENCODINGS = ("json", "urlencoded", "multipart")


def post_with_payload(client, payload_text: str, encoding: str):
    """A console notification whose ``payload`` is this JSON text, as a JSON body or, as a JSON
    string, in a form: the way each media type carries it."""
    if encoding == "json":
        raw = '{"channel": "console", "recipient": "x", "payload": ' + payload_text + "}"
        return client.generic("POST", URL, raw, content_type="application/json")
    form = {"channel": "console", "recipient": "x", "payload": payload_text}
    if encoding == "urlencoded":
        return client.generic("POST", URL, urlencode(form), content_type="application/x-www-form-urlencoded")
    return client.post(URL, form, format="multipart")


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


# --- content size: NOTIFY_MAX_CONTENT_BYTES ----------------------------------------


@pytest.fixture
def limit_100(settings):
    settings.NOTIFY_MAX_CONTENT_BYTES = 100


def sized(payload_chars: int) -> dict:
    """Subject 2 bytes, body 20 (ten "é", 2 bytes each in UTF-8), payload 8 + n as compact JSON."""
    return console(subject="ab", body="é" * 10, payload={"k": "x" * payload_chars})


def test_content_up_to_the_limit_is_accepted_and_a_byte_over_is_400_naming_the_fields(alice, limit_100):
    assert alice.post(URL, sized(70), format="json").status_code == 201

    over = alice.post(URL, sized(71), format="json")

    assert over.status_code == 400
    message = "Content is 101 bytes; at most 100 (NOTIFY_MAX_CONTENT_BYTES)."
    assert over.json() == {"subject": [message], "body": [message], "payload": [message]}
    assert Notification.objects.count() == 1


def test_the_default_limit_is_256_kib_of_stored_content(alice):
    body = {"channel": "webhook", "recipient": "https://example.com/hook", "payload": {"k": "x" * 300_000}}

    response = alice.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"payload": ["Content is 300,008 bytes; at most 262,144 (NOTIFY_MAX_CONTENT_BYTES)."]}
    assert Notification.objects.count() == 0


def test_bulk_reports_an_oversized_item_under_its_index(alice, limit_100):
    response = alice.post(URL + "bulk/", {"notifications": [console(), sized(71), console()]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["notifications"]) == {"1"}
    assert "payload" in response.json()["notifications"]["1"]
    assert Notification.objects.count() == 0


def test_patch_counts_the_stored_content_with_the_changed_fields(alice, created, settings):
    settings.NOTIFY_MAX_CONTENT_BYTES = 50  # created: payload {"a":1} (7 bytes), no subject or body
    url = f"{URL}{created['id']}/"

    over = alice.patch(url, {"body": "x" * 44}, format="json")

    assert over.status_code == 400
    assert over.json() == {"body": ["Content is 51 bytes; at most 50 (NOTIFY_MAX_CONTENT_BYTES)."]}
    assert Notification.objects.get(id=created["id"]).body == ""
    assert alice.patch(url, {"body": "x" * 43}, format="json").status_code == 200


@pytest.mark.parametrize("value", [0, -1, "262144", None, True])
def test_the_limit_is_checked_at_start(settings, value):
    settings.NOTIFY_MAX_CONTENT_BYTES = value
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_MAX_CONTENT_BYTES"):
        conf.check()


# --- payload: depth, lone surrogates, non-finite numbers, NUL -------------------------

REFUSED_PAYLOADS = {
    "lone high surrogate": '{"a": "\\ud800"}',
    "lone low surrogate in a key": '{"\\udc00": 1}',
    "lone surrogate deep in a list": '{"a": [1, {"b": ["ok", "\\udfff"]}]}',
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": Infinity}',
    "-Infinity in a list": '{"a": [-Infinity]}',
    "1e400, infinite as a double": '{"a": 1e400}',
    "-1e400": '{"a": {"b": -1e400}}',
    "NUL in a value": '{"a": "\\u0000"}',
    "NUL in a key": '{"\\u0000": 1}',
    "one level too deep": nested(MAX_PAYLOAD_DEPTH + 1),
    "a list": "[1, 2]",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("payload_text", REFUSED_PAYLOADS.values(), ids=REFUSED_PAYLOADS.keys())
def test_payloads_no_database_can_store_are_400_in_every_encoding(alice, encoding, payload_text):
    response = post_with_payload(alice, payload_text, encoding)

    assert response.status_code == 400
    if encoding == "json" and ("NaN" in payload_text or "Infinity" in payload_text):
        assert "not JSON compliant" in response.json()["detail"]  # DRF's JSON parser refuses the token
    else:
        assert "payload" in response.json()
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_payload_nested_100000_deep_is_400_without_recursion(alice, encoding):
    response = post_with_payload(alice, nested(100_000), encoding)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_payloads_at_the_limits_are_accepted_in_every_encoding(alice, encoding):
    deepest = post_with_payload(alice, nested(MAX_PAYLOAD_DEPTH), encoding)
    emoji = post_with_payload(alice, '{"smile": "\\ud83d\\ude00", "n": 0.25, "i": -7}', encoding)

    assert deepest.status_code == 201, deepest.json()
    assert emoji.status_code == 201, emoji.json()
    assert Notification.objects.get(id=emoji.json()["id"]).payload == {"smile": "😀", "n": 0.25, "i": -7}


def test_the_payload_check_is_a_loop_not_recursion():
    deep: dict = {}
    inner = deep
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    inner["b"] = "\x00"

    assert payload_problem(deep) == "too_deep"
    assert payload_problem({"a": [{"b": "\ud800"}]}) == "surrogate"
    assert payload_problem({"a": [float("nan")]}) == "not_finite"
    assert payload_problem({"a": [{"b": "ok"}], "c": None, "d": True}) is None


# --- subject: one line ------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["a\r\nBcc: victim@example.com", "two\nlines", "carriage\rreturn"])
@pytest.mark.parametrize(
    "base",
    [console(), hook(), {"channel": "email", "recipient": "someone@example.com", "body": "hi"}],
    ids=["console", "webhook", "email"],
)
def test_a_subject_with_cr_or_lf_is_400_for_every_channel(alice, base, subject):
    response = alice.post(URL, {**base, "subject": subject}, format="json")

    assert response.status_code == 400
    assert "subject" in response.json()
    assert Notification.objects.count() == 0


def test_a_subject_with_cr_or_lf_is_400_at_patch(alice, created):
    response = alice.patch(f"{URL}{created['id']}/", {"subject": "one\r\ntwo"}, format="json")

    assert response.status_code == 400
    assert "subject" in response.json()
    assert Notification.objects.get(id=created["id"]).subject == ""


# --- the last net: database errors that escape validation -------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DataError("value too long for type character varying(32)"), 400),
        (DataError('invalid input syntax for type json: Token "connection" is invalid'), 400),
        (IntegrityError('duplicate key value violates unique constraint "x"'), 409),
    ],
)
def test_database_errors_that_escape_validation_are_json_and_logged(alice, monkeypatch, caplog, error, code):
    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(services, "notification_create", refuse)

    with caplog.at_level(logging.ERROR, logger="notifications.api.errors"):
        response = alice.post(URL, console(), format="json")

    assert response.status_code == code
    assert "nothing was stored" in response.json()["detail"]
    [record] = [r for r in caplog.records if r.name == "notifications.api.errors"]
    assert record.exc_info is not None and record.exc_info[1] is error


def test_bodies_are_still_json_when_checked_field_by_field(alice):
    """The form encodings reach the same field checks as JSON: a valid form creates."""
    form = {"channel": "console", "recipient": "x", "payload": json.dumps({"a": [1, "b"]}), "subject": "s"}
    response = alice.generic("POST", URL, urlencode(form), content_type="application/x-www-form-urlencoded")

    assert response.status_code == 201, response.json()
    assert Notification.objects.get().payload == {"a": [1, "b"]}
