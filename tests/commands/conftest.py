"""Helpers for the management commands' tests."""

from __future__ import annotations

import io

from django.core.management import call_command


def run(*args: str) -> str:
    """Run a management command as an operator would; returns what it printed."""
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
