"""The OpenAPI document, Swagger UI and the browsable API."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

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
