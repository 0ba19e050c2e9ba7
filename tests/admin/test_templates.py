"""The templates' admin: a preview rendered from the sample data; a save checks and versions."""

from __future__ import annotations

import json

from notifications.models import Template
from notifications.services import template_put
from tests import factories
from tests.admin.conftest import html

CHANGELIST = "/admin/notifications/template/"


def test_the_change_page_previews_the_template_with_its_sample_data(admin_client, db):
    template, _ = template_put(
        owner=factories.user(), name="welcome", fields={"subject": "Hi {{ name }}", "body": "Hello {{ name }}"}
    )
    template.sample_data = {"name": "Sample Ana"}
    template.save()

    page = html(admin_client.get(f"{CHANGELIST}{template.pk}/change/"))

    assert "Hello Sample Ana" in page
    assert "Hi Sample Ana" in page


def test_saving_checks_the_template_and_grows_the_version(admin_client, db):
    owner = factories.user()
    template, _ = template_put(owner=owner, name="welcome", fields={"body": "Hello"})
    form = {
        "owner": owner.pk,
        "name": "welcome",
        "subject": "",
        "body": "Hello {{ name }}",
        "html": "",
        "translations": "{}",
        "sample_data": json.dumps({"name": "Ana"}),
    }

    refused = admin_client.post(f"{CHANGELIST}{template.pk}/change/", {**form, "body": "{% include 'x' %}"})
    saved = admin_client.post(f"{CHANGELIST}{template.pk}/change/", form)

    assert refused.status_code == 200 and "Does not compile" in refused.content.decode()
    assert saved.status_code == 302
    template = Template.objects.get(pk=template.pk)
    assert (template.body, template.version, template.sample_data) == ("Hello {{ name }}", 2, {"name": "Ana"})
