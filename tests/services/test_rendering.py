"""The sandbox clients' templates render in: their data, Django's default tags and filters, nothing else."""

from __future__ import annotations

import pytest

from notifications.exceptions import ContentInvalid
from notifications.rendering import TemplateProblem, compile_template, render
from notifications.services import template_put, template_render


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{% include 'base.txt' %}", "include"),
        ("{% extends 'base.txt' %}", "extends"),
        ("{% load static %}", "static"),
        ("{% load i18n %}", "i18n"),
        ("{% debug %}", "debug"),
        ("{% url 'admin:index' %}", "url"),
        ("{% lorem 1000000 w %}", "lorem"),
        ("{{ obj._private }}", "underscores"),
        ("{{ obj.__class__ }}", "underscores"),
        ("{% if %}", "if"),
    ],
)
def test_what_reaches_beyond_the_data_does_not_compile(source, says):
    with pytest.raises(TemplateProblem, match=says):
        compile_template(source)


def test_methods_of_data_objects_are_not_reachable_and_nothing_is_called():
    data = {"order": {"id": 1}, "items": [1, 2]}

    for source in ("{{ order.clear }}", "{{ order.items }}", "{{ items.pop }}", "{{ items.clear }}"):
        with pytest.raises(TemplateProblem, match="lacks"):
            render(source, data)

    assert data == {"order": {"id": 1}, "items": [1, 2]}


def test_dotted_paths_read_keys_and_indexes_loops_and_filters_work():
    data = {"user": {"name": "Ana"}, "items": [{"n": "a"}, {"n": "b"}], "total": 3}
    source = "{{ user.name|upper }} {{ items.0.n }} {% for i in items %}{{ i.n }}{% endfor %} {{ total|add:1 }}"

    assert render(source, data) == "ANA a ab 4"


def test_a_missing_variable_is_named_even_inside_a_loop_and_a_condition_tests_optional_data():
    with pytest.raises(TemplateProblem, match=r"'user\.name', 'x'"):
        render("{{ x }} {{ user.name }}", {"user": {}})
    with pytest.raises(TemplateProblem, match=r"'i\.n'"):
        render("{% for i in items %}{{ i.n }}{% endfor %}", {"items": [{}]})

    assert render("{% if coupon %}{{ coupon }}{% else %}none{% endif %}", {}) == "none"


def test_padding_filters_cannot_ask_for_unbounded_output():
    assert len(render("{{ v|ljust:'100000000' }}|{{ v|center:'5' }}", {"v": "x"})) == 1000 + 1 + 5


@pytest.mark.timeout(60)  # unbounded, this render would run for hours
def test_nested_loops_over_the_data_stop_at_the_render_budget():
    data = {"items": list(range(3000)), "word": "x" * 3000}
    nested = "{% for a in items %}{% for b in items %}{% for c in word %}.{% endfor %}{% endfor %}{% endfor %}"

    with pytest.raises(TemplateProblem, match="took longer than 250 ms"):
        render(nested, data)

    # The budget is per render: an ordinary loop afterwards renders.
    assert render("{% for a in items %}{% if forloop.last %}{{ a }}{% endif %}{% endfor %}", data) == "2999"


def test_compiled_templates_are_reused_and_render_the_same_each_time():
    # cycle keeps its place per render, never on the shared compiled node.
    source = "{% for i in items %}{% cycle 'a' 'b' %}{% endfor %} {{ n }}"

    assert compile_template(source) is compile_template(source)
    assert [render(source, {"items": [1, 2, 3], "n": n}) for n in (1, 2)] == ["aba 1", "aba 2"]


def test_autoescape_in_html_only():
    assert render("<p>{{ v }}</p>", {"v": "<b>&"}, html=True) == "<p>&lt;b&gt;&amp;</p>"
    assert render("{{ v }}", {"v": "<b>&"}) == "<b>&"


@pytest.fixture
def welcome(django_user_model):
    owner = django_user_model.objects.create(username="owner")
    template_put(
        owner=owner,
        name="welcome",
        fields={
            "subject": "Welcome {{ name }}",
            "body": "Hello {{ name }}",
            "html": "<p>Hello {{ name }}</p>",
            "translations": {
                "fr": {"subject": "Bienvenue {{ name }}", "body": "Bonjour {{ name }}"},
                "pt": {"body": "Olá {{ name }}"},
            },
        },
    )
    return owner


@pytest.mark.parametrize(
    ("locale", "subject", "body"),
    [
        ("fr", "Bienvenue Ana", "Bonjour Ana"),
        ("fr-CA", "Bienvenue Ana", "Bonjour Ana"),
        ("pt-BR", "Welcome Ana", "Olá Ana"),  # a part the translation lacks: the default's
        ("de", "Welcome Ana", "Hello Ana"),
        ("", "Welcome Ana", "Hello Ana"),
    ],
)
def test_the_locale_picks_the_translation_then_its_language_then_the_default(welcome, locale, subject, body):
    rendered = template_render(owner=welcome, name="welcome", data={"name": "Ana"}, locale=locale)

    assert (rendered.subject, rendered.body, rendered.version) == (subject, body, 1)


def test_the_context_seam_adds_names_beside_the_data(welcome):
    rendered = template_render(owner=welcome, name="welcome", data={}, context={"name": "Profile"})

    assert rendered.body == "Hello Profile"


def test_an_unknown_template_or_missing_data_is_named(welcome):
    with pytest.raises(ContentInvalid) as unknown:
        template_render(owner=welcome, name="nope", data={})
    with pytest.raises(ContentInvalid) as missing:
        template_render(owner=welcome, name="welcome", data={})

    assert "'nope'" in unknown.value.errors["template"][0]
    assert "'name'" in missing.value.errors["data"][0]
