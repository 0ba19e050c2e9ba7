"""Clients' templates: storing them (each change a new version) and rendering one at create.

A template is checked to compile, every part of every translation, before it is stored,
so a create fails only for what its own data lacks. Rendering happens once, at create:
the notification stores the text, the template's name and version, so editing or
deleting the template later changes no notification already made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

import notifier
from notifications import conf, rendering
from notifications.exceptions import ContentInvalid
from notifications.models import Template

PARTS = ("subject", "body", "html")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str
    version: int


def template_check(*, subject: str, body: str, html: str, translations: dict[str, dict[str, str]]) -> None:
    """Raise ``ContentInvalid`` naming each part that does not compile in the sandbox."""
    errors: dict[str, Any] = {}
    for part, source in (("subject", subject), ("body", body), ("html", html)):
        try:
            rendering.compile_template(source, html=part == "html")
        except rendering.TemplateProblem as exc:
            errors[part] = [str(exc)]
    for locale, parts in translations.items():
        for part in PARTS:
            try:
                rendering.compile_template(parts.get(part, ""), html=part == "html")
            except rendering.TemplateProblem as exc:
                errors.setdefault("translations", {}).setdefault(locale, {})[part] = [str(exc)]
    if errors:
        raise ContentInvalid(errors)


@transaction.atomic
def template_put(*, owner: AbstractBaseUser, name: str, fields: dict[str, Any]) -> tuple[Template, bool]:
    """Create or replace the client's template ``name``; returns ``(template, created)``.

    A replacement takes the next version; the row is locked while it is read and written,
    so two concurrent PUTs make two versions, never one number twice.
    """
    template_check(
        subject=fields.get("subject", ""),
        body=fields.get("body", ""),
        html=fields.get("html", ""),
        translations=fields.get("translations", {}),
    )
    values = {
        "subject": fields.get("subject", ""),
        "body": fields.get("body", ""),
        "html": fields.get("html", ""),
        "translations": fields.get("translations", {}),
    }
    template = Template.objects.select_for_update().filter(owner=owner, name=name).first()
    if template is None:
        try:
            with transaction.atomic():
                return Template.objects.create(owner=owner, name=name, **values), True
        except IntegrityError:  # a concurrent PUT created it first: replace that one
            template = Template.objects.select_for_update().get(owner=owner, name=name)
    for field, value in values.items():
        setattr(template, field, value)
    template.version += 1
    template.save()
    return template, False


def template_delete(*, template: Template) -> None:
    """Delete a template; notifications made from it keep their text, name and version."""
    template.delete()


def _pick(template: Template, locale: str) -> dict[str, str]:
    """The parts for ``locale``: exact, then its language (``pt-BR`` → ``pt``), else the default.
    A translation's missing part falls back to the default's."""
    default = {"subject": template.subject, "body": template.body, "html": template.html}
    by_lower = {key.lower(): parts for key, parts in template.translations.items()}
    wanted = locale.lower()
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate and candidate in by_lower:
            return {part: by_lower[candidate].get(part) or default[part] for part in PARTS}
    return default


def template_render(
    *,
    owner: AbstractBaseUser,
    name: str,
    data: dict[str, Any],
    locale: str = "",
    html: bool = True,
    context: dict[str, Any] | None = None,
    template: Template | None = None,
) -> Rendered:
    """Render the client's template ``name`` with ``data`` for ``locale``.

    ``context`` is added beside ``data`` under its own names (a recipient profile will come as
    ``recipient``); ``html`` False skips the HTML part (channels other than email). Raises
    ``ContentInvalid`` naming an unknown template, or the variables ``data`` lacks. ``template``,
    already read (a broadcast's expansion renders it for each recipient), saves the lookup.
    """
    if template is None:
        template = Template.objects.filter(owner=owner, name=name).first()
    if template is None:
        raise ContentInvalid({"template": [f"No template named {name!r}."]})
    parts = _pick(template, locale)
    scope = {**data, **(context or {})}
    rendered: dict[str, str] = {}
    for part in PARTS:
        if part == "html" and not html:
            rendered[part] = ""
            continue
        try:
            rendered[part] = rendering.render(parts[part], scope, html=part == "html")
        except rendering.TemplateProblem as exc:
            raise ContentInvalid({"data": [f"Template {name!r}, {part}: {exc}"]}) from exc
    return Rendered(subject=rendered["subject"], body=rendered["body"], html=rendered["html"], version=template.version)


def rendered_content(
    *,
    owner: AbstractBaseUser,
    item: dict[str, Any],
    context: dict[str, Any] | None = None,
    template: Template | None = None,
) -> dict[str, Any]:
    """A create request with ``template`` → the same request with the rendered ``subject``,
    ``body``, ``html`` and the ``template_version``, checked as a client's own text would be
    (the channel's ``validate_content``, ``NOTIFY_MAX_CONTENT_BYTES``). Without ``template``,
    the request as it is. ``context`` is the seam for the recipient profile; ``template``, the
    row already read, if the caller has it."""
    if not item.get("template"):
        return item
    rendered = template_render(
        owner=owner,
        name=item["template"],
        data=item.get("data") or {},
        locale=item.get("locale") or "",
        html=item["channel"] == "email",
        context=context,
        template=template,
    )
    try:
        notifier.get_provider(item["channel"]).validate_content(
            subject=rendered.subject, body=rendered.body, payload=item.get("payload")
        )
    except ValueError as exc:
        field = exc.args[1] if len(exc.args) > 1 else "body"
        raise ContentInvalid({"template": [f"Rendered {field}: {exc.args[0]}"]}) from exc
    payload = item.get("payload")
    size = sum(len(text.encode()) for text in (rendered.subject, rendered.body, rendered.html))
    if payload is not None:
        size += len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    limit = conf.max_content_bytes()
    if size > limit:
        raise ContentInvalid(
            {"template": [f"Rendered content is {size:,} bytes; at most {limit:,} (NOTIFY_MAX_CONTENT_BYTES)."]}
        )
    return {
        **item,
        "subject": rendered.subject,
        "body": rendered.body,
        "html": rendered.html,
        "template_version": rendered.version,
    }
