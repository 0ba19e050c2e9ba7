"""docker-compose.yml is safe as it stands: no default SECRET_KEY, nothing published beyond this
machine, no wildcard host. There is no Docker engine here, so the file is read as YAML, merge keys
and all, as Compose reads it."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_deploy import SECURITY

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("release", "web", "worker", "beat", "flower")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_secret_key_is_required_with_no_default(service):
    """``${VAR:?message}``: Compose refuses to start without it, rather than using a key in this file."""
    assert SERVICES[service]["environment"]["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY}"


@pytest.mark.parametrize("service", sorted(name for name, spec in SERVICES.items() if "ports" in spec))
def test_every_published_port_is_bound_to_this_machine(service):
    for port in SERVICES[service]["ports"]:
        assert isinstance(port, str), port  # the short syntax, whose host address is read below
        assert re.fullmatch(r"127\.0\.0\.1:\d+:\d+", port), f"{service} publishes {port!r} beyond 127.0.0.1"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_allowed_hosts_has_no_wildcard(service):
    hosts = SERVICES[service]["environment"]["ALLOWED_HOSTS"]
    assert "*" not in hosts
    assert hosts == "${ALLOWED_HOSTS:-localhost,127.0.0.1}"


def test_the_web_healthcheck_is_python_that_sends_an_allowed_host():
    """With ALLOWED_HOSTS set to a real name, a probe of 127.0.0.1 would be refused (400) without it."""
    command = SERVICES["web"]["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    compile(command[3], "healthcheck", "exec")
    assert "ALLOWED_HOSTS" in command[3]


# The security settings an operator sets from the environment (the last two of SECURITY are
# fixed in the code), and the login lockout's.
PASSED_THROUGH = (*SECURITY[:-2], "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME")


@pytest.mark.parametrize("name", PASSED_THROUGH)
def test_the_security_settings_pass_through(name):
    """Listed with no value: passed into the containers when set in the shell or .env."""
    environment = SERVICES["web"]["environment"]
    assert name in environment
    assert environment[name] is None
