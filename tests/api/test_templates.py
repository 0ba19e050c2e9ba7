"""/api/v1/templates/: PUT creates (201) or replaces (200, the version grows), GET, list, DELETE."""

from __future__ import annotations

import pytest

URL = "/api/v1/templates/"
WELCOME = {
    "subject": "Welcome, {{ name }}",
    "body": "Hello {{ name }}.",
    "html": "<p>Hello {{ name }}.</p>",
    "translations": {"fr": {"subject": "Bienvenue, {{ name }}", "body": "Bonjour {{ name }}."}},
}


def test_put_creates_then_replaces_and_the_version_grows(alice):
    created = alice.put(URL + "welcome/", WELCOME, format="json")
    replaced = alice.put(URL + "welcome/", {**WELCOME, "body": "Hi {{ name }}."}, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["version"] == 1
    assert created.json()["translations"] == WELCOME["translations"]
    assert replaced.status_code == 200
    assert replaced.json()["version"] == 2
    assert alice.get(URL + "welcome/").json()["body"] == "Hi {{ name }}."


def test_paths_without_a_trailing_slash_work(alice):
    assert alice.put(URL + "welcome", WELCOME, format="json").status_code == 201
    assert alice.get(URL + "welcome").status_code == 200


def test_list_is_cursor_paged_and_delete_answers_204(alice):
    for name in ("a", "b", "c"):
        alice.put(URL + f"{name}/", WELCOME, format="json")

    page = alice.get(URL, {"page_size": 2}).json()
    rest = alice.get(page["next"]).json()

    assert [t["name"] for t in page["results"]] == ["c", "b"]
    assert [t["name"] for t in rest["results"]] == ["a"]
    assert alice.delete(URL + "b/").status_code == 204
    assert alice.get(URL + "b/").status_code == 404
    assert alice.delete(URL + "b/").status_code == 404


def test_another_clients_template_is_unknown(alice, bob):
    alice.put(URL + "welcome/", WELCOME, format="json")

    assert bob.get(URL + "welcome/").status_code == 404
    assert bob.delete(URL + "welcome/").status_code == 404
    assert bob.get(URL).json()["results"] == []
    assert bob.put(URL + "welcome/", WELCOME, format="json").status_code == 201  # names are per client


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WELCOME, "body": "{% include 'x' %}"}, "body"),
        ({**WELCOME, "html": "{% if %}"}, "html"),
        ({**WELCOME, "subject": "{% load static %}"}, "subject"),
        ({**WELCOME, "translations": {"fr": {"body": "{{ a._b }}"}}}, "translations"),
        ({**WELCOME, "translations": {"fr": {"title": "x"}}}, "translations"),
        ({**WELCOME, "translations": {"not a locale": {"body": "x"}}}, "translations"),
        ({"subject": "", "body": ""}, "body"),
    ],
)
def test_a_template_that_does_not_compile_or_is_malformed_is_a_400_naming_the_part(alice, body, field):
    response = alice.put(URL + "bad/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert alice.get(URL + "bad/").status_code == 404


def test_a_name_that_is_not_a_slug_is_a_404(alice):
    assert alice.put(URL + "no%20spaces/", WELCOME, format="json").status_code == 404


def test_translation_locales_are_stored_as_bcp_47_tags_and_one_tag_twice_is_refused(alice):
    body = {**WELCOME, "translations": {"pt-br": {"body": "Olá {{ name }}."}, "ZH-hant-tw": {"body": "你好"}}}
    stored = alice.put(URL + "welcome/", body, format="json")
    assert stored.status_code == 201, stored.json()
    assert set(stored.json()["translations"]) == {"pt-BR", "zh-Hant-TW"}

    twice = {**WELCOME, "translations": {"pt-br": {"body": "a"}, "pt-BR": {"body": "b"}}}
    refused = alice.put(URL + "other/", twice, format="json")
    assert refused.status_code == 400
    assert "twice" in str(refused.json()["translations"])


def test_one_locale_rule_for_profiles_notifications_and_translations(alice):
    tag = "sgn-bfi"  # a three-letter language with a subtag: valid everywhere, normalised the same
    alice.put(URL + "welcome/", {**WELCOME, "translations": {tag: {"body": "x"}}}, format="json")
    profile = alice.put("/api/v1/recipients/ada/", {"locale": "SGN-BFI"}, format="json")
    sent = alice.post(
        "/api/v1/notifications/",
        {"channel": "console", "recipient": "me", "template": "welcome", "locale": "Sgn-Bfi", "data": {"name": "A"}},
        format="json",
    )
    assert profile.json()["locale"] == sent.json()["locale"] == "sgn-bfi"
    assert sent.json()["body"] == "x"
    for bad in ("x", "toolonglanguage", "en_US", "fr-"):
        assert alice.put("/api/v1/recipients/bo/", {"locale": bad}, format="json").status_code == 400
        assert (
            alice.put(URL + "t/", {**WELCOME, "translations": {bad: {"body": "x"}}}, format="json").status_code == 400
        )
