"""The README's worked examples, run as written: every curl line of a section, in order, through
the API as one client, with the results the prose around them promises."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from notifications import services
from notifications.models import Notification
from tests.conftest import ROOT

SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


@dataclass
class Curl:
    method: str
    path: str
    body: dict | None
    captures: str = ""  # NAME of NAME=$(curl … | … ["id"]): the answer's id, as $NAME afterwards


def section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading of any level (a
    ``#`` line inside a code block is a shell comment, not a heading)."""
    lines = (ROOT / "README.md").read_text().splitlines(keepends=True)
    heading = re.compile(r"^#+ ")
    taken, inside, fenced = [], False, False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and heading.match(line):
            if inside:
                break
            inside = line.rstrip("\n").split(" ", 1)[1] == title
            continue
        if inside:
            taken.append(line)
    assert taken, f"no section {title!r} in the README"
    return "".join(taken)


def curls(title: str) -> list[Curl]:
    commands = []
    for block in SH_BLOCK.findall(section(title)):
        words = shlex.split(re.sub(r"\\\n", " ", block), comments=True)
        starts = [index for index, word in enumerate(words) if word.endswith(("curl", "$(curl"))]
        for start, end in zip(starts, [*starts[1:], len(words)], strict=True):
            command = _parsed(words[start + 1 : end])
            if words[start].endswith("=$(curl"):
                command.captures = words[start].split("=", 1)[0]
            commands.append(command)
    return commands


def _parsed(words: list[str]) -> Curl:
    method, body, url = "GET", None, ""
    for index, word in enumerate(words):
        if word == "-X":
            method = words[index + 1]
        elif word == "-d":
            body = json.loads(words[index + 1])
            method = "POST" if method == "GET" else method
        elif word.startswith("http://"):
            url = word
    parts = urlsplit(url)
    return Curl(method, parts.path + (f"?{parts.query}" if parts.query else ""), body)


def run(client, command: Curl, variables: dict[str, str] | None = None):
    path = command.path
    for name, value in (variables or {}).items():
        path = path.replace(f"${name}", value)
    call = getattr(client, command.method.lower())
    answer = call(path, command.body, format="json") if command.body is not None else call(path)
    if command.captures and variables is not None:
        variables[command.captures] = answer.json()["id"]
    return answer


def test_sending_to_a_recipient_works_as_written(alice):
    commands = curls("Sending to a recipient")
    assert [c.method for c in commands] == ["PUT", "POST", "POST", "GET"]

    answers = [run(alice, command) for command in commands]

    assert [a.status_code for a in answers] == [201, 201, 201, 200]
    billing, marketing = answers[1].json(), answers[2].json()
    assert (billing["to"], billing["recipient"], billing["category"]) == ("bob", "bob", "billing")
    assert billing["status"] == "scheduled"
    assert (marketing["status"], marketing["failure_reason"]) == ("suppressed", "opted_out")
    assert [row["id"] for row in answers[3].json()["results"]] == [marketing["id"]]


def test_broadcasts_and_topics_work_as_written(alice):
    commands = curls("Broadcasts and topics")
    assert [c.method for c in commands] == ["PUT", "PUT", "PUT", "POST", "GET", "GET", "POST"]
    variables: dict[str, str] = {}

    answers = [run(alice, command, variables) for command in commands[:4]]
    assert [a.status_code for a in answers] == [201, 201, 201, 202]
    assert answers[2].json() == {"key": "staff", "count": 3}
    assert answers[3].json()["status"] == "expanding"
    # What the worker does next: the expansion task, run here to its end.
    while services.broadcast_expand(broadcast_id=variables["BROADCAST"], budget=timedelta(seconds=30)):
        pass
    answers += [run(alice, command, variables) for command in commands[4:]]

    broadcast, listed, cancelled = (answer.json() for answer in answers[4:])
    assert (broadcast["status"], broadcast["notifications"], broadcast["skipped"]) == ("done", 4, 2)
    assert sorted((row["to"], row["channel"]) for row in listed["results"]) == [
        ("ada", "console"),
        ("ada", "email"),
        ("grace", "console"),
        ("grace", "email"),
    ]
    assert cancelled["status"] == "cancelled"
    assert Notification.objects.filter(broadcast_id=broadcast["id"], status="cancelled").count() == 4


def test_templates_work_as_written(alice):
    commands = curls("Templates")
    assert [c.method for c in commands] == ["PUT", "POST"]

    stored, sent = (run(alice, command) for command in commands)

    assert (stored.status_code, sent.status_code) == (201, 201)
    assert sent.json()["body"] == "Bonjour Ana, votre code est 4711."  # as the prose says
    assert (sent.json()["template"], sent.json()["template_version"]) == ("welcome", 1)


def test_recipients_work_as_written(alice):
    commands = curls("Recipients")
    assert [c.method for c in commands] == ["PUT", "GET", "DELETE"]

    stored, read, erased = (run(alice, command) for command in commands)

    assert [stored.status_code, read.status_code, erased.status_code] == [201, 200, 204]
    assert read.json()["phone"] == "+14155550100" and read.json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert alice.get("/api/v1/recipients/ada/").status_code == 404
