"""Django's template language, sandboxed for clients' templates: it renders their data and nothing else.

A client's template runs inside this process, so the engine here is its own
``django.template.Engine``, never the project's: no loader (nothing is read from disk),
no library to ``{% load %}``, and of the built-ins only Django's default tags and filters,
less the tags that reach beyond the data (``{% debug %}`` dumps the context, ``{% url %}``
and ``{% querystring %}`` read the project's routes and the request) and ``{% lorem %}``;
the padding filters are capped at ``MAX_WIDTH``. ``{% include %}``,
``{% extends %}`` and ``{% block %}`` live in ``loader_tags``, which is left out: each is
an unknown tag, a compile error. ``{% ssi %}`` left Django in 1.10. Names starting with
``_`` are refused by Django's own parser.

The data is JSON, wrapped so that a lookup on an object or a list reads its keys or
indexes only: ``{{ order.clear }}`` or ``{{ items.pop }}`` would otherwise find the
method and call it. Strings and numbers are immutable; their methods change nothing.

Missing variables: ``string_if_invalid`` is a sentinel holding a per-process random
nonce and the variable's name, looked for in the output after rendering. This is
Django's own resolution, so it reports exactly what would have rendered empty, through
loops (``{{ item.name }}`` inside ``{% for item in items %}``), ``{% with %}`` and dotted
paths into objects and lists, which a walk over the compiled nodes would have to
re-implement. Conditions (``{% if coupon %}``) and loops over a missing name stay
silent: that is how a template tests for optional data. One consequence: ``|default``
cannot rescue a missing variable (Django returns the sentinel before any filter); test
it with ``{% if %}`` instead.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Template

REFUSED_TAGS = frozenset({"debug", "url", "querystring", "lorem"})
# Filters that pad to a width the template names: capped, so a few bytes of template cannot ask
# for gigabytes of output (``{% lorem %}`` is refused for the same reason).
PADDING_FILTERS = ("ljust", "rjust", "center")
MAX_WIDTH = 1000
_NONCE = secrets.token_hex(8)
_MISSING = f"\x00missing:{_NONCE}:%s\x00"
_MISSING_RE = re.compile(rf"\x00missing:{_NONCE}:([^\x00]*)\x00")


class TemplateProblem(ValueError):
    """A template that does not compile, or data it cannot render with; the message says which."""


# How long one render may take: a few nested loops over the data (itself at most
# NOTIFY_MAX_CONTENT_BYTES) could otherwise hold a web worker for minutes at create.
RENDER_BUDGET_SECONDS = 0.25
_render_deadline: ContextVar[float] = ContextVar("render_deadline", default=math.inf)


class _BudgetedForNode(defaulttags.ForNode):
    """``{% for %}`` that stops the render once it is over its time budget. It is checked each
    time a loop starts, so between two checks runs at most one innermost loop over data whose
    size is already capped."""

    def render(self, context: Context) -> str:
        if time.monotonic() > _render_deadline.get():
            raise TemplateProblem(
                f"Rendering took longer than {RENDER_BUDGET_SECONDS * 1000:.0f} ms; loop over less data."
            )
        return super().render(context)


def _budgeted_for(parser: Any, token: Any) -> defaulttags.ForNode:
    node = defaulttags.do_for(parser, token)
    node.__class__ = _BudgetedForNode
    return node


def _sandbox_library() -> Library:
    library = Library()
    library.tags = {name: tag for name, tag in defaulttags.register.tags.items() if name not in REFUSED_TAGS}
    library.tags["for"] = _budgeted_for
    library.filters = dict(defaultfilters.register.filters)
    for name in PADDING_FILTERS:
        library.filters[name] = _capped(defaultfilters.register.filters[name])
    return library


def _capped(pad: Any) -> Any:
    def capped(value: Any, arg: Any) -> Any:
        try:
            width = int(arg)
        except (TypeError, ValueError):
            return value
        return pad(value, min(width, MAX_WIDTH))

    capped.is_safe = getattr(pad, "is_safe", False)
    return capped


class SandboxEngine(Engine):
    """An engine whose only built-ins are the sandbox's library (``Engine`` always adds its
    ``default_builtins``, ``loader_tags`` among them)."""

    default_builtins: list[str] = []

    def get_template_builtins(self, builtins: list[str]) -> list[Library]:
        return [_sandbox_library()]


_ENGINES = {
    autoescape: SandboxEngine(
        loaders=[], libraries={}, builtins=[], autoescape=autoescape, string_if_invalid=_MISSING, debug=False
    )
    for autoescape in (False, True)
}


class _Object(dict):
    """A JSON object in the context: ``{{ a.b }}`` reads the key ``b``, never a dict method."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("__"):
            return object.__getattribute__(self, name)
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return []


class _Array(list):
    """A JSON array in the context: ``{{ a.0 }}`` reads an index, never a list method."""

    __getattribute__ = _Object.__getattribute__
    __dir__ = _Object.__dir__


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return _Object({str(key): _wrap(item) for key, item in value.items()})
    if isinstance(value, list):
        return _Array(_wrap(item) for item in value)
    return value


# Compiling is most of a render's cost (about 0.1 ms of 0.12 for a short body); a client sends
# the same few templates again and again. A compiled Template holds no render state, so one
# serves every render. Bounded both ways: entries, and the size of a source worth keeping.
COMPILED_CACHE_ENTRIES = 256
COMPILED_CACHE_MAX_SOURCE = 32 * 1024


@lru_cache(maxsize=COMPILED_CACHE_ENTRIES)
def _compiled(source: str, html: bool) -> Template:
    return _ENGINES[html].from_string(source)


def compile_template(source: str, *, html: bool = False) -> Template:
    """Compile ``source`` in the sandbox, or raise ``TemplateProblem`` with Django's message."""
    try:
        if len(source) <= COMPILED_CACHE_MAX_SOURCE:
            return _compiled(source, html)
        return _ENGINES[html].from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(str(exc)) from exc


def render(source: str, data: dict[str, Any], *, html: bool = False) -> str:
    """Render ``source`` with ``data`` (JSON) as the context; ``html`` autoescapes.

    Raises ``TemplateProblem`` naming the variables the template uses that ``data`` lacks.
    """
    template = compile_template(source, html=html)
    deadline = _render_deadline.set(time.monotonic() + RENDER_BUDGET_SECONDS)
    try:
        output = template.render(Context(_wrap(data), autoescape=html))
    finally:
        _render_deadline.reset(deadline)
    missing = sorted(set(_MISSING_RE.findall(output)))
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise TemplateProblem(f"The data lacks {'a variable' if len(missing) == 1 else 'variables'}: {names}.")
    return output
