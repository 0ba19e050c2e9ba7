"""The README's Digests example, run as written; the window's close, which a worker would run a
minute later, is run here through the service."""

from __future__ import annotations

from notifications import services
from notifications.models import DigestWindow
from tests.api.test_readme_examples import curls, run, section


def test_digests_work_as_written(alice):
    commands = curls("Digests")
    assert [c.method for c in commands] == ["PUT", "POST", "POST", "GET"]
    assert "a minute later" in section("Digests")

    stored, bo, cy = (run(alice, command) for command in commands[:3])
    assert (stored.status_code, bo.status_code, cy.status_code) == (201, 201, 201)
    members = [bo.json(), cy.json()]
    assert [(m["status"], m["body"]) for m in members] == [("scheduled", ""), ("scheduled", "")]
    assert members[0]["digest_window"] == members[1]["digest_window"]

    window = DigestWindow.objects.get(id=members[0]["digest_window"])
    services.digest_close(window_id=window.id, now=window.closes_at)  # what the close message does
    listed = run(alice, commands[3]).json()["results"]

    digest, *rest = listed
    assert (digest["subject"], digest["body"]) == ("2 new comments", "Bo: Nice work; Cy: +1")  # as the prose says
    assert digest["data"] == {"items": [{"who": "Bo", "text": "Nice work"}, {"who": "Cy", "text": "+1"}]}
    assert digest["digest"] == [members[0]["id"], members[1]["id"]]
    assert sorted((row["id"], row["status"]) for row in rest) == sorted((m["id"], "digested") for m in members)
