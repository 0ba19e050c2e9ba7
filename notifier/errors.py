"""The two outcomes a provider may raise besides success."""


class DeliveryError(Exception):
    """A send that did not succeed."""


class TransientError(DeliveryError):
    """Worth retrying: timeouts, connection errors, 408/425/429/5xx, SMTP 4xx.

    ``retry_after`` is the provider's own hint in seconds (``Retry-After``), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying cannot help: other 4xx, SMTP 5xx, a refused private address."""


class UnknownChannel(PermanentError):
    """No provider is configured for the channel: retrying cannot help.

    Raised by the registry itself, so a ``KeyError`` from inside a provider's
    own code is not mistaken for it (that one is a bug, and is retried).
    """

    def __init__(self, channel: str) -> None:
        super().__init__(f"no provider for channel {channel!r}")
        self.channel = channel
