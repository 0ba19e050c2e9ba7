"""The provider fakes (tests/fakes/providers.py) as fixtures for the channel tests."""

from tests.fakes.providers import slack, telegram, twilio

__all__ = ["slack", "telegram", "twilio"]
