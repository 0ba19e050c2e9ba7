"""The delivery layer: channel providers, their error types and the registry.

Knows nothing of the ``notifications`` app or its models: a provider receives a
plain :class:`notifier.base.Message` and either returns a :class:`Receipt` or
raises :class:`TransientError` / :class:`PermanentError`.
"""

__version__ = "0.1.0"  # before the imports: the registry reads it for the User-Agent

from notifier.base import Message, Provider, ProviderBase, Receipt
from notifier.errors import DeadToken, DeliveryError, PermanentError, TransientError, UnknownChannel
from notifier.registry import channel_names, get_provider

__all__ = [
    "DeadToken",
    "DeliveryError",
    "Message",
    "PermanentError",
    "Provider",
    "ProviderBase",
    "Receipt",
    "TransientError",
    "UnknownChannel",
    "channel_names",
    "get_provider",
]
