"""The README's worked examples, run as written: every curl line of a section, in order, through
the API as one client, with the results the prose around them promises."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.conftest import ROOT

SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


@dataclass
class Curl:
    method: str
    path: str
    body: dict | None


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
        starts = [index for index, word in enumerate(words) if word == "curl"]
        for start, end in zip(starts, [*starts[1:], len(words)], strict=True):
            commands.append(_parsed(words[start + 1 : end]))
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


def run(client, command: Curl):
    call = getattr(client, command.method.lower())
    return call(command.path, command.body, format="json") if command.body is not None else call(command.path)


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
