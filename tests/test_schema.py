"""The OpenAPI document, Swagger UI and the browsable API."""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import ANY

import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

import notifier

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def test_committed_schema_matches_the_code(db, tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    assert generated.read_text() == COMMITTED.read_text(), "run `make schema` and commit docs/openapi.yaml"


def test_schema_and_swagger_ui_are_served(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/notifications/{id}/cancel/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_browsable_api_renders_for_a_logged_in_client(client, alice):
    client.force_login(alice.user)
    response = client.get("/api/v1/notifications/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Notification" in response.content
    assert b"<form" in response.content


# --- Swagger UI without internet ---------------------------------------------------------


def test_swagger_ui_references_only_this_sites_static_files_and_they_are_served(client, db, settings, tmp_path):
    """drf-spectacular-sidecar's copy of Swagger UI: the page loads nothing from a CDN. The files are
    served as in production: collected into STATIC_ROOT (the release step) and served by WhiteNoise."""
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)

    page = client.get("/api/docs/").content.decode()

    assert not re.search(r"https?://|\"//", page), "the page loads something from another site"
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(urls) >= 3  # the stylesheet, the bundle, the preset (and the icon)
    for url in urls:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        served = Client().get(url)
        assert served.status_code == 200, url
        assert b"".join(served.streaming_content if served.streaming else [served.content]), url


# --- what the schema says ------------------------------------------------------------------


@pytest.fixture
def schema(db) -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_types_the_fields_a_client_sends(schema):
    components = schema["components"]["schemas"]
    create = components["NotificationCreateRequest"]["properties"]

    # Every channel the code can send, the same on every deployment; the configured ones among them.
    assert components["ChannelEnum"]["enum"] == list(notifier.registry.KNOWN_CHANNELS)
    assert set(notifier.channel_names()) <= set(components["ChannelEnum"]["enum"])
    assert create["channel"]["allOf"] == [{"$ref": "#/components/schemas/ChannelEnum"}]
    assert "once their provider is configured" in create["channel"]["description"]
    assert create["payload"]["type"] == "object"
    assert create["payload"]["nullable"] is True
    assert create["send_at"]["format"] == "date-time"
    assert (create["max_attempts"]["minimum"], create["max_attempts"]["maximum"]) == (1, 50)
    assert components["Notification"]["properties"]["payload"]["type"] == "object"
    # recipient or to: one of them, which a schema's "required" cannot say; the descriptions do.
    assert set(components["NotificationCreateRequest"]["required"]) == {"channel"}
    assert "`to`" in create["recipient"]["description"]
    assert "instead of `recipient`" in create["to"]["description"]


def test_token_and_bearer_are_both_documented(schema):
    schemes = schema["components"]["securitySchemes"]

    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": ANY}
    assert schemes["tokenAuth"]["in"] == "header"
    assert {"bearerAuth": []} in schema["paths"]["/api/v1/notifications/"]["post"]["security"]


def examples(schema: dict, path: str, method: str) -> list[dict]:
    content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return [example["value"] for example in content["examples"].values()]


def test_every_documented_request_example_works_as_sent(schema, alice):
    create = examples(schema, "/api/v1/notifications/", "post")
    bulk = examples(schema, "/api/v1/notifications/bulk/", "post")
    patch = examples(schema, "/api/v1/notifications/{id}/", "patch")
    assert len(create) >= 3 and bulk and patch

    for body in create:
        response = alice.post("/api/v1/notifications/", body, format="json")
        assert response.status_code == 201, (body, response.json())
    for body in bulk:
        response = alice.post("/api/v1/notifications/bulk/", body, format="json")
        assert response.status_code == 201, (body, response.json())
    scheduled = alice.post("/api/v1/notifications/", {"channel": "console", "recipient": "x"}, format="json").json()
    for body in patch:
        response = alice.patch(f"/api/v1/notifications/{scheduled['id']}/", body, format="json")
        assert response.status_code == 200, (body, response.json())


def test_every_operation_documents_the_request_id_it_takes_and_echoes():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [op for path in schema["paths"].values() for method, op in path.items() if method != "parameters"]
    assert len(operations) > 30
    for operation in operations:
        assert any(p["in"] == "header" and p["name"] == "X-Request-ID" for p in operation["parameters"])
        assert all("X-Request-ID" in response["headers"] for response in operation["responses"].values())
