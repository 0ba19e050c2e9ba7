"""A create with ``template`` and ``data`` renders once, at create, and stores the text."""

from __future__ import annotations

import pytest

TEMPLATES = "/api/v1/templates/"
URL = "/api/v1/notifications/"
WELCOME = {
    "subject": "Welcome, {{ name }}",
    "body": "Hello {{ name }}, your code is {{ code }}.",
    "html": "<p>Hello {{ name }}</p>",
    "translations": {"fr": {"subject": "Bienvenue, {{ name }}", "body": "Bonjour {{ name }}, code {{ code }}."}},
}


@pytest.fixture
def welcome(alice):
    assert alice.put(TEMPLATES + "welcome/", WELCOME, format="json").status_code == 201


def email(**extra):
    return {"channel": "email", "recipient": "ana@example.com", "template": "welcome", **extra}


def test_create_renders_in_the_locale_and_stores_the_text_name_and_version(alice, welcome):
    response = alice.post(URL, email(data={"name": "<Ana>", "code": 7}, locale="fr-CA"), format="json")

    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["subject"], made["body"]) == ("Bienvenue, <Ana>", "Bonjour <Ana>, code 7.")
    assert made["html"] == "<p>Hello &lt;Ana&gt;</p>"
    assert (made["template"], made["template_version"], made["locale"]) == ("welcome", 1, "fr-CA")
    assert made["data"] == {"name": "<Ana>", "code": 7}


def test_editing_the_template_afterwards_leaves_the_notification_unchanged(alice, welcome):
    made = alice.post(URL, email(data={"name": "Ana", "code": 1}), format="json").json()
    alice.put(TEMPLATES + "welcome/", {**WELCOME, "body": "Changed."}, format="json")
    alice.delete(TEMPLATES + "welcome/")

    again = alice.get(URL + made["id"] + "/").json()

    assert again["body"] == "Hello Ana, your code is 1."
    assert again["template_version"] == 1


def test_other_channels_get_no_html(alice, welcome):
    made = alice.post(
        URL, {"channel": "console", "recipient": "log", "template": "welcome", "data": {"name": "A", "code": 2}}
    )

    assert made.status_code == 201, made.json()
    assert made.json()["html"] == ""


def test_bulk_renders_each_item_and_names_the_bad_one(alice, welcome):
    good = alice.post(
        URL + "bulk/",
        {"notifications": [email(data={"name": "A", "code": 1}), email(data={"name": "B", "code": 2}, locale="fr")]},
        format="json",
    )
    bad = alice.post(
        URL + "bulk/",
        {"notifications": [email(data={"name": "A", "code": 1}), email(data={"name": "B"})]},
        format="json",
    )

    assert good.status_code == 201, good.json()
    assert [n["body"] for n in good.json()["notifications"]] == ["Hello A, your code is 1.", "Bonjour B, code 2."]
    assert bad.status_code == 400
    assert "'code'" in bad.json()["notifications"]["1"]["data"][0]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (email(data={"name": "A"}), "data", "'code'"),
        (email(template="nope", data={}), "template", "'nope'"),
        (email(data={"name": "A", "code": 1}, body="explicit"), "body", "not both"),
        (email(data={"name": "A", "code": 1}, subject="explicit"), "subject", "not both"),
        (email(data=[1, 2]), "data", ""),
        (email(data={"name": "A", "code": 1}, locale="not a locale"), "locale", "BCP 47"),
        ({"channel": "console", "recipient": "log", "body": "x", "data": {"a": 1}}, "data", "template"),
    ],
)
def test_bad_templated_creates_are_400s_naming_the_field(alice, welcome, body, field, says):
    response = alice.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert says in str(response.json()[field])


def test_rendered_content_must_still_fit_the_limit(alice, welcome, settings):
    settings.NOTIFY_MAX_CONTENT_BYTES = 100

    response = alice.post(URL, email(data={"name": "A" * 200, "code": 1}), format="json")

    assert response.status_code == 400
    assert "NOTIFY_MAX_CONTENT_BYTES" in response.json()["template"][0]


def test_another_clients_template_is_unknown(alice, bob, welcome):
    response = bob.post(URL, email(data={"name": "A", "code": 1}), format="json")

    assert response.status_code == 400
    assert "'welcome'" in response.json()["template"][0]
