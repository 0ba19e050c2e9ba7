"""What every provider reached over an HTTP API shares: one client per process, one
deadline per call, the answer read up to a cap, and errors classed by status.

The shape is django-anymail's ``base_requests``: the base keeps all HTTP in one place,
and each provider only builds its request and reads its answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from notifier.base import ProviderBase
from notifier.errors import DeliveryError, TransientError, status_error
from notifier.transport import api_client, deadline

# A provider's answer is read up to this: enough for any real API's error body.
MAX_ANSWER_BYTES = 256 * 1024


@dataclass(frozen=True)
class Answer:
    """A provider's HTTP answer, read (and cut) while the call's deadline held."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON (a proxy's HTML error page)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def excerpt(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace")


class ApiProvider(ProviderBase):
    """A provider behind an HTTP API at ``base_url`` (a setting, so tests and on-premises
    gateways can point it elsewhere). Subclasses call :meth:`call` and raise
    :meth:`error_for` on answers they do not accept."""

    name: ClassVar[str]  # the channel
    provider: ClassVar[str]  # the service, as attempts and metrics name it

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.client = api_client(timeout=timeout)

    def call(self, method: str, path: str, **request: Any) -> Answer:
        """One request within ``timeout`` in total; a timeout or a connection error is transient."""
        try:
            with deadline(self.timeout), self.client.stream(method, self.base_url + path, **request) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_ANSWER_BYTES:
                        break
        except httpx.TimeoutException as exc:
            raise self._mark(TransientError(f"{self.provider}: timeout: {exc!r}")) from exc
        except (httpx.TransportError, OSError) as exc:
            raise self._mark(TransientError(f"{self.provider}: connection error: {exc!r}")) from exc
        return Answer(response.status_code, response.headers, bytes(body[:MAX_ANSWER_BYTES]))

    def error_for(self, answer: Answer, detail: str = "") -> DeliveryError:
        """The error for an answer not accepted: 408, 425, 429 and 5xx transient (with
        ``Retry-After``), anything else permanent."""
        text = f"{self.provider}: HTTP {answer.status}: {detail or answer.excerpt()}"
        return self._mark(status_error(answer.status, text, retry_after=answer.headers.get("retry-after")))

    def _mark(self, error: DeliveryError) -> DeliveryError:
        error.provider = self.provider
        return error
